"""Safe unpacking of uploaded scene archives."""

import gzip
import io
import stat
import tarfile
import zipfile

import pytest

from corefarm.render.archive import (ArchiveError, ArchiveLimits, find_scene, read_archive,
                                     safe_name, scene_resources)


def tar_gz(members, mode="w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_member(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def test_good_tar_gz_with_scene_and_texture():
    data = tar_gz([file_member("box/scene.xml", b"<scene/>"),
                   file_member("box/tex/wood.png", b"png"),
                   (tarfile.TarInfo("box/empty"), None)])
    files = read_archive(data)
    assert set(files) == {"box/scene.xml", "box/tex/wood.png", "box/empty"}
    scene = find_scene(files)
    assert scene == "box/scene.xml"
    assert scene_resources(files, scene)["tex/wood.png"] == b"png"


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
def test_every_tar_compression(mode):
    assert read_archive(tar_gz([file_member("s.xml", b"x")], mode)) == {"s.xml": b"x"}


def test_good_zip():
    data = zip_bytes([("s.xml", b"<scene/>", stat.S_IFREG | 0o644)])
    assert read_archive(data) == {"s.xml": b"<scene/>"}


@pytest.mark.parametrize("name", ["../evil.xml", "a/../../evil", "/etc/passwd", "C:/x",
                                  "a\\..\\b", ""])
def test_path_tricks_are_refused(name):
    with pytest.raises(ArchiveError):
        safe_name(name)


def test_tar_traversal_is_refused():
    with pytest.raises(ArchiveError, match="escapes"):
        read_archive(tar_gz([file_member("../../etc/cron.d/x", b"boom")]))


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_links_are_refused(kind):
    info = tarfile.TarInfo("tex.png")
    info.type = kind
    info.linkname = "/etc/passwd"
    with pytest.raises(ArchiveError, match="link"):
        read_archive(tar_gz([(info, None)]))


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_tar_devices_and_fifos_are_refused(kind):
    info = tarfile.TarInfo("dev")
    info.type = kind
    with pytest.raises(ArchiveError, match="not a regular file"):
        read_archive(tar_gz([(info, None)]))


def test_zip_symlink_is_refused():
    data = zip_bytes([("link.png", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    with pytest.raises(ArchiveError, match="link"):
        read_archive(data)


def test_zip_traversal_is_refused():
    data = zip_bytes([("../x.xml", b"x", stat.S_IFREG | 0o644)])
    with pytest.raises(ArchiveError, match="escapes"):
        read_archive(data)


def test_gzip_bomb_is_stopped_early():
    limits = ArchiveLimits(max_total_bytes=4 * 1024 * 1024, max_file_bytes=64 * 1024 * 1024)
    big = b"\0" * (32 * 1024 * 1024)
    with pytest.raises(ArchiveError, match="size limit|compression ratio|larger than"):
        read_archive(tar_gz([file_member("zeros.bin", big)]), limits)


def test_zip_bomb_ratio_is_refused():
    data = zip_bytes([("zeros.bin", b"\0" * (8 * 1024 * 1024), stat.S_IFREG | 0o644)])
    with pytest.raises(ArchiveError, match="compression ratio"):
        read_archive(data)


def test_file_count_and_size_limits():
    many = tar_gz([file_member(f"f{i}", b"x") for i in range(11)])
    with pytest.raises(ArchiveError, match="more than 10 files"):
        read_archive(many, ArchiveLimits(max_files=10))
    with pytest.raises(ArchiveError, match="larger than 4 bytes"):
        read_archive(tar_gz([file_member("s.xml", b"12345")]), ArchiveLimits(max_file_bytes=4))


def test_duplicate_names_are_refused():
    with pytest.raises(ArchiveError, match="twice"):
        read_archive(tar_gz([file_member("a.xml", b"1"), file_member("./a.xml", b"2")]))


def test_not_an_archive_and_damaged_archives():
    with pytest.raises(ArchiveError, match="not a .tar.gz"):
        read_archive(b"hello")
    with pytest.raises(ArchiveError, match="damaged"):
        read_archive(gzip.compress(b"definitely not a tar file" * 40))
    with pytest.raises(ArchiveError, match="damaged"):
        read_archive(b"PK\x03\x04" + b"\0" * 40)


def test_find_scene_rules():
    assert find_scene({"a/s.xml": b"", "a/b/lib.xml": b""}) == "a/s.xml"
    with pytest.raises(ArchiveError, match="several scenes"):
        find_scene({"a.xml": b"", "b.xml": b""})
    assert find_scene({"a.xml": b"", "b.xml": b""}, wanted="b.xml") == "b.xml"
    with pytest.raises(ArchiveError, match="no .xml"):
        find_scene({"tex.png": b""})
