"""Unpacking uploaded scene archives (.tar.gz, .tar.bz2, .tar.xz, .tar, .zip)
into memory, safely.

Refused with :class:`ArchiveError`: absolute names, ``..`` components and
other path tricks, symbolic and hard links, device files and FIFOs,
encrypted zip members, duplicate names, and anything over the limits (file
count, per-file and total size, compression ratio). Decompressed bytes are
counted as they are produced, so a bomb is stopped early rather than after it
filled memory. Nothing is written to disk.
"""

import bz2
import gzip
import io
import lzma
import posixpath
import stat
import tarfile
import zipfile
from dataclasses import dataclass


class ArchiveError(ValueError):
    """The archive is unsafe, malformed or over a limit; the message says which."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 2000
    max_file_bytes: int = 256 * 1024 * 1024
    max_total_bytes: int = 512 * 1024 * 1024
    max_ratio: float = 200.0
    max_name_bytes: int = 1024
    max_depth: int = 32


class _Counter(io.RawIOBase):
    """Counts (and caps) the bytes a decompressor hands out."""

    def __init__(self, stream, cap):
        self.stream, self.cap, self.count = stream, cap, 0

    def readable(self):
        return True

    def readinto(self, buf):
        data = self.stream.read(len(buf))
        self.count += len(data)
        if self.count > self.cap:
            raise ArchiveError("archive expands beyond the size limit (decompression bomb?)")
        buf[:len(data)] = data
        return len(data)


def safe_name(name, limits=ArchiveLimits()):
    """The normalised relative name of a member, or ArchiveError."""
    if not name or len(name.encode("utf-8", "surrogateescape")) > limits.max_name_bytes:
        raise ArchiveError("archive member with an empty or overlong name")
    if "\0" in name or "\\" in name:
        raise ArchiveError(f"archive member {name!r} has a forbidden character")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"archive member {name!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ArchiveError(f"archive member {name!r} escapes the archive (..)")
    if not parts or len(parts) > limits.max_depth:
        raise ArchiveError(f"archive member {name!r} has a bad path")
    return "/".join(parts)


class _Collector:
    def __init__(self, limits, packed_size):
        self.limits = limits
        self.files = {}
        self.total = 0
        self.packed = max(1, packed_size)

    def add(self, name, size_hint, read):
        lim = self.limits
        name = safe_name(name, lim)
        if name in self.files:
            raise ArchiveError(f"archive member {name!r} appears twice")
        if len(self.files) >= lim.max_files:
            raise ArchiveError(f"archive has more than {lim.max_files} files")
        if size_hint > lim.max_file_bytes:
            raise ArchiveError(f"archive member {name!r} is larger than {lim.max_file_bytes} bytes")
        data = read(lim.max_file_bytes + 1)
        if len(data) > lim.max_file_bytes:
            raise ArchiveError(f"archive member {name!r} is larger than {lim.max_file_bytes} bytes")
        self.total += len(data)
        if self.total > lim.max_total_bytes:
            raise ArchiveError(f"archive content is larger than {lim.max_total_bytes} bytes")
        if self.total > 1024 * 1024 and self.total / self.packed > lim.max_ratio:
            raise ArchiveError("archive compression ratio is implausibly high "
                               "(decompression bomb?)")
        self.files[name] = data


def _tar(data, opener, limits):
    cap = limits.max_total_bytes + limits.max_files * 4096 + (1 << 20)
    raw = _Counter(opener(io.BytesIO(data)), cap)
    col = _Collector(limits, len(data))
    try:
        with tarfile.open(fileobj=io.BufferedReader(raw), mode="r|") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if member.issym() or member.islnk():
                    raise ArchiveError(f"archive member {member.name!r} is a link; links are "
                                       "not allowed")
                if not member.isfile():
                    raise ArchiveError(f"archive member {member.name!r} is not a regular file")
                f = tar.extractfile(member)
                col.add(member.name, member.size, f.read)
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError) as exc:
        raise ArchiveError(f"damaged archive: {exc}") from None
    return col.files


def _zip(data, limits):
    col = _Collector(limits, len(data))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_files * 2:
                raise ArchiveError(f"archive has more than {limits.max_files} files")
            for info in infos:
                mode = info.external_attr >> 16
                if info.is_dir():
                    continue
                if stat.S_ISLNK(mode):
                    raise ArchiveError(f"archive member {info.filename!r} is a link; links "
                                       "are not allowed")
                if mode and not stat.S_ISREG(mode):
                    raise ArchiveError(f"archive member {info.filename!r} is not a regular file")
                if info.flag_bits & 0x1:
                    raise ArchiveError(f"archive member {info.filename!r} is encrypted")
                if info.file_size > 1024 * 1024 and \
                        info.file_size / max(1, info.compress_size) > limits.max_ratio:
                    raise ArchiveError(f"archive member {info.filename!r} has an implausible "
                                       "compression ratio (decompression bomb?)")
                with zf.open(info) as f:
                    col.add(info.filename, info.file_size, f.read)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError,
            RuntimeError) as exc:
        raise ArchiveError(f"damaged archive: {exc}") from None
    return col.files


def read_archive(data, limits=ArchiveLimits()):
    """Unpack an archive (bytes) into ``{relative name: bytes}``."""
    data = bytes(data)
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _zip(data, limits)
    if data[:2] == b"\x1f\x8b":
        return _tar(data, lambda f: gzip.GzipFile(fileobj=f), limits)
    if data[:3] == b"BZh":
        return _tar(data, bz2.BZ2File, limits)
    if data[:6] == b"\xfd7zXZ\x00":
        return _tar(data, lzma.LZMAFile, limits)
    if len(data) > 262 and data[257:262] == b"ustar":
        return _tar(data, lambda f: f, limits)
    raise ArchiveError("not a .tar.gz, .tar.bz2, .tar.xz, .tar or .zip archive")


def find_scene(files, wanted=None):
    """Name of the scene XML in an unpacked archive: ``wanted`` if given, the
    only .xml file, or the only one at the shallowest level."""
    if wanted:
        name = safe_name(wanted)
        if name not in files:
            raise ArchiveError(f"archive has no {name!r}")
        return name
    xml = sorted(n for n in files if n.lower().endswith(".xml"))
    if not xml:
        raise ArchiveError("archive contains no .xml scene")
    depth = min(n.count("/") for n in xml)
    top = [n for n in xml if n.count("/") == depth]
    if len(top) > 1:
        raise ArchiveError("archive contains several scenes (" + ", ".join(top[:5]) +
                           "); name the one to render")
    return top[0]


def scene_resources(files, scene_name):
    """The archive's files keyed relative to the scene's folder (what the
    scene's texture paths are relative to)."""
    folder = posixpath.dirname(scene_name)
    if not folder:
        return dict(files)
    prefix = folder + "/"
    out = {n[len(prefix):]: d for n, d in files.items() if n.startswith(prefix)}
    for n, d in files.items():
        out.setdefault(n, d)
    return out
