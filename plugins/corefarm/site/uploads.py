"""Checking an uploaded scene before any job exists.

Nothing is unpacked or written here: archives are listed and the scene XML
is parsed in memory, so a hostile upload is refused with a message beside
the form field and never touches the disk. (The render master unpacks
archives again, into the job's own folder, with the same rules.)
"""

import io
import posixpath
import re
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from xml.etree.ElementTree import ParseError

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
MAX_RATIO = 200          # a zip member expanding more than this is a bomb, not a scene
MAX_SCENE_XML_BYTES = 512 * 1024 * 1024


class UploadProblem(Exception):
    """Why an upload is refused, and the form field the message goes beside."""

    def __init__(self, message, field="scene"):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass
class ScenePlan:
    """What the render master receives: the files to drop and the scene's name."""

    files: dict                     # safe file name -> bytes, as uploaded
    scene: str                      # the scene XML: the .xml itself, or its path in the archive
    kind: str                       # "xml" | "tar" | "zip"
    members: list = field(default_factory=list)


def safe_name(filename, default):
    base = posixpath.basename((filename or "").replace("\\", "/"))
    base = _SAFE_NAME.sub("_", base).strip("._") or default
    return base[:128]


def kind_of(filename, data):
    lower = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or lower.endswith(".zip"):
        return "zip"
    if data[:2] == b"\x1f\x8b" or lower.endswith((".tar.gz", ".tgz")):
        return "tgz"
    if lower.endswith(".tar") or (len(data) > 262 and data[257:262] == b"ustar"):
        return "tar"
    if lower.endswith(".xml") or data.lstrip()[:1] == b"<":
        return "xml"
    return None


def check_scene_xml(data, where="The file"):
    """Parse the XML without entities or a DTD and check it is a YafaRay scene."""
    root = None
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end"),
                                        forbid_dtd=True, forbid_entities=True,
                                        forbid_external=True):
            if root is None:
                root = element
                if element.tag == "yafaray_container":
                    raise UploadProblem(
                        f"{where} is a YafaRay v4 container (<yafaray_container>), which the "
                        "farm does not read. Export with the YafaRay v3 or 0.1.x exporter "
                        "(root element <scene>).")
                if element.tag != "scene":
                    raise UploadProblem(
                        f"{where} is XML but not a YafaRay scene: its root element is "
                        f"<{element.tag}>, a scene starts with <scene>.")
            elif event == "end":
                element.clear()      # keep memory flat on big meshes
    except DefusedXmlException:
        raise UploadProblem(
            f"{where} declares a DTD or XML entities. Scenes never need them, and they are "
            "refused because they can make the parser explode (an \"XML bomb\").") from None
    except ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        raise UploadProblem(f"{where} is not well-formed XML (line {line}, column {column}): "
                            f"{_reason(e)}.") from None
    if root is None:
        raise UploadProblem(f"{where} is empty.")


def _reason(error):
    return str(error).split(":")[0]


def inspect_upload(filename, data, scene_name, limits):
    """The ScenePlan of an upload, or UploadProblem. ``limits`` has
    ``max_archive_bytes`` and ``max_archive_members``."""
    if not data:
        raise UploadProblem("Choose a scene file to upload." if not filename
                            else "The file is empty.")
    kind = kind_of(filename, data)
    if kind is None:
        raise UploadProblem("This is not a scene: upload a YafaRay .xml file, or a .tar.gz, "
                            ".tgz, .tar or .zip archive holding one.")
    if kind == "xml":
        check_scene_xml(data)
        name = safe_name(filename, "scene.xml")
        if not name.lower().endswith(".xml"):
            name += ".xml"
        return ScenePlan({name: data}, name, "xml")
    lister = _zip_members if kind == "zip" else _tar_members
    members, read = lister(data, limits)
    scene = _choose_scene(members, scene_name)
    check_scene_xml(read(scene), where=f"{scene} (in the archive)")
    default = {"zip": "scene.zip", "tgz": "scene.tar.gz", "tar": "scene.tar"}[kind]
    name = safe_name(filename, default)
    if not name.lower().endswith((".zip", ".tar.gz", ".tgz", ".tar")):
        name = default
    return ScenePlan({name: data}, scene, "zip" if kind == "zip" else "tar", sorted(members))


def _check_member_name(name):
    clean = name.replace("\\", "/")
    if not clean or "\x00" in clean or clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UploadProblem(f"The archive holds an absolute path ({name!r}); refused.")
    if ".." in clean.split("/"):
        raise UploadProblem(f"The archive holds a path leaving its folder ({name!r}); refused.")
    return posixpath.normpath(clean)


def _tally(members, limits):
    if len(members) > limits.max_archive_members:
        raise UploadProblem(f"The archive holds more than {limits.max_archive_members} files.")
    if sum(members.values()) > limits.max_archive_bytes:
        raise UploadProblem(f"The archive unpacks to more than {limits.max_archive_bytes} bytes.")


def _tar_members(data, limits):
    members, infos = {}, {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for info in archive:
                name = _check_member_name(info.name)
                if info.isdir():
                    continue
                if info.issym() or info.islnk():
                    raise UploadProblem(f"The archive holds a link ({info.name!r}); links are refused.")
                if not info.isreg():
                    raise UploadProblem(f"The archive holds a special file ({info.name!r}); refused.")
                members[name] = info.size
                infos[name] = info
                _tally(members, limits)
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise UploadProblem(f"The archive is damaged or not a tar archive ({e}).") from None

    def read(name):
        if members[name] > MAX_SCENE_XML_BYTES:
            raise UploadProblem(f"{name} is too large for a scene.")
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                handle = archive.extractfile(infos[name].name)
                return handle.read(members[name] + 1)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise UploadProblem(f"The archive is damaged ({e}).") from None
    return members, read


def _zip_members(data, limits):
    members, infos = {}, {}
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for info in archive.infolist():
            name = _check_member_name(info.filename)
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadProblem(f"The archive holds a link ({info.filename!r}); links are refused.")
            if info.flag_bits & 0x1:
                raise UploadProblem(f"The archive holds an encrypted file ({info.filename!r}).")
            if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise UploadProblem(f"{info.filename!r} expands {info.file_size // max(1, info.compress_size)} "
                                    "times: this looks like a decompression bomb.")
            members[name] = info.file_size
            infos[name] = info
            _tally(members, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise UploadProblem(f"The archive is damaged or not a zip archive ({e}).") from None

    def read(name):
        if members[name] > MAX_SCENE_XML_BYTES:
            raise UploadProblem(f"{name} is too large for a scene.")
        try:
            with archive.open(infos[name]) as handle:
                return handle.read(members[name] + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as e:
            raise UploadProblem(f"The archive is damaged ({e}).") from None
    return members, read


def _choose_scene(members, scene_name):
    if scene_name:
        wanted = posixpath.normpath(scene_name.strip().replace("\\", "/").lstrip("/"))
        if wanted not in members:
            raise UploadProblem(f"The archive holds no file {scene_name!r}.", field="scene_name")
        if not wanted.lower().endswith(".xml"):
            raise UploadProblem("The scene file must be an .xml file.", field="scene_name")
        return wanted
    xmls = [n for n in members if n.lower().endswith(".xml")]
    if not xmls:
        raise UploadProblem("The archive holds no .xml scene.")
    if len(xmls) == 1:
        return xmls[0]
    for preferred in ("scene.xml",):
        if preferred in members:
            return preferred
    raise UploadProblem("The archive holds several .xml files; name the scene file below.",
                        field="scene_name")
