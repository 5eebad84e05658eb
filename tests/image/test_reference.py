"""Parsing image references: transports as skopeo names them, bare paths detected by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardbase.errors import ImageError
from hardbase.image.reference import ImageReference, detect_transport, parse_reference
from imagebuild import file, write_docker_archive, write_oci_layout, write_rootfs_tar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:/srv/layout", ImageReference("oci", "/srv/layout")),
        ("oci:/srv/layout:1.0", ImageReference("oci", "/srv/layout", "1.0")),
        ("docker-archive:/x/img.tar", ImageReference("docker-archive", "/x/img.tar")),
        (
            "docker-archive:/x/img.tar:app:1.0",
            ImageReference("docker-archive", "/x/img.tar", "app:1.0"),
        ),
        ("docker-archive:/x/img.tar:@1", ImageReference("docker-archive", "/x/img.tar", "@1")),
        ("dir:/srv/rootfs", ImageReference("dir", "/srv/rootfs")),
        ("dir:/srv/a:b", ImageReference("dir", "/srv/a:b")),
        ("tar:/x/rootfs.tar.gz", ImageReference("tar", "/x/rootfs.tar.gz")),
        ("tar:/x/root:fs.tar", ImageReference("tar", "/x/root:fs.tar")),
        (
            "docker://127.0.0.1:5000/base:1.0",
            ImageReference("docker", "127.0.0.1:5000/base:1.0"),
        ),
    ],
)
def test_parse_transport(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected


def test_reference_text_round_trip() -> None:
    for text in ("oci:/srv/layout:1.0", "docker://127.0.0.1:5000/base:1.0", "tar:/x/r.tar"):
        assert str(parse_reference(text)) == text


def test_unknown_transport() -> None:
    with pytest.raises(ImageError, match="unknown transport 'oci-archive'") as caught:
        parse_reference("oci-archive:/x/image.tar")
    assert caught.value.hint is not None
    assert "docker-archive:" in caught.value.hint


@pytest.mark.parametrize("text", ["oci:", "tar:", "docker-archive:", "dir:"])
def test_missing_path(text: str) -> None:
    with pytest.raises(ImageError, match="missing path"):
        parse_reference(text)


def test_missing_docker_name() -> None:
    with pytest.raises(ImageError, match="missing image name"):
        parse_reference("docker://")


def test_docker_without_slashes() -> None:
    with pytest.raises(ImageError, match="two slashes") as caught:
        parse_reference("docker:debian:12")
    assert caught.value.hint == "write docker://debian:12"


def test_empty_reference() -> None:
    with pytest.raises(ImageError, match="empty image reference"):
        parse_reference("")


def test_bare_path_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    with pytest.raises(ImageError, match="no such file or folder"):
        parse_reference(str(missing))


def test_bare_path_not_tar(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not an image at all " * 100)
    with pytest.raises(ImageError, match="not an image"):
        parse_reference(str(junk))


def test_detect_each_kind(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "layout", [[file("a", "a")]])
    write_docker_archive(tmp_path / "legacy.tar", [[file("a", "a")]], layout="legacy")
    write_docker_archive(
        tmp_path / "blobs.tar.gz", [[file("a", "a")]], layout="blobs", gzipped=True
    )
    write_rootfs_tar(tmp_path / "rootfs.tar.zst", [file("etc/os-release", "ID=x")], "zstd")
    (tmp_path / "rootfs").mkdir()
    found = {
        name: detect_transport(tmp_path / name)
        for name in ("layout", "legacy.tar", "blobs.tar.gz", "rootfs.tar.zst", "rootfs")
    }
    assert found == {
        "layout": "oci",
        "legacy.tar": "docker-archive",
        "blobs.tar.gz": "docker-archive",
        "rootfs.tar.zst": "tar",
        "rootfs": "dir",
    }


def test_detect_stops_at_rootfs_member(tmp_path: Path) -> None:
    # The stream is cut after the first members: detection must not need the rest.
    data = write_rootfs_tar(tmp_path / "full.tar", [file("bin/sh", "x" * 600), file("etc/a")])
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data.read_bytes()[:1536])
    assert detect_transport(cut) == "tar"


def test_existing_path_with_colon(tmp_path: Path) -> None:
    odd = tmp_path / "oci:odd"
    write_rootfs_tar(odd, [file("etc/a", "a")])
    reference = parse_reference(str(odd))
    assert reference == ImageReference("tar", str(odd))
