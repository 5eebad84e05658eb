"""Choosing one image: platforms of an OCI index, tags of a layout, entries of a docker-archive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardbase.errors import ImageError
from hardbase.image.oci import host_platform
from hardbase.image.reader import open_image
from imagebuild import MEDIA_MANIFEST, add_oci_image, file, write_docker_archive, write_oci_index

PLATFORMS = {
    "linux/amd64": [[file("etc/arch", "amd64")]],
    "linux/arm64": [[file("etc/arch", "arm64")]],
}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_index_platform_chosen(platform: str, tmp_path: Path) -> None:
    write_oci_index(tmp_path / "oci", PLATFORMS)
    with open_image(f"oci:{tmp_path / 'oci'}:latest", platform=platform) as image:
        assert image.fs.read_text("/etc/arch") == platform.split("/")[1]
        assert image.config is not None
        assert image.config.architecture == platform.split("/")[1]


def test_index_host_platform_default(tmp_path: Path) -> None:
    if host_platform() not in PLATFORMS:
        pytest.skip(f"no test image for this host's platform {host_platform()}")
    write_oci_index(tmp_path / "oci", PLATFORMS)
    with open_image(f"oci:{tmp_path / 'oci'}") as image:
        assert image.fs.read_text("/etc/arch") == host_platform().split("/")[1]


def test_index_platform_missing(tmp_path: Path) -> None:
    write_oci_index(tmp_path / "oci", PLATFORMS)
    with pytest.raises(ImageError, match="no image for platform linux/s390x") as caught:
        open_image(f"oci:{tmp_path / 'oci'}:latest", platform="linux/s390x")
    assert caught.value.hint is not None
    assert "linux/amd64, linux/arm64" in caught.value.hint


def test_layout_tag_missing(tmp_path: Path) -> None:
    write_oci_index(tmp_path / "oci", PLATFORMS, tag="1.0")
    with pytest.raises(ImageError, match=r"no image tagged '2\.0'") as caught:
        open_image(f"oci:{tmp_path / 'oci'}:2.0")
    assert caught.value.hint == "tags in this layout: 1.0"


def test_layout_two_images_need_tag(tmp_path: Path) -> None:
    write_oci_index(tmp_path / "oci", PLATFORMS, tag="1.0")
    extra = add_oci_image(tmp_path / "oci", [[file("a", "a")]])
    index_path = tmp_path / "oci" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"].append(
        {"mediaType": MEDIA_MANIFEST, "digest": extra.manifest_digest, "size": extra.manifest_size}
    )
    index_path.write_text(json.dumps(index))
    with pytest.raises(ImageError, match="contains 2 images") as caught:
        open_image(f"oci:{tmp_path / 'oci'}")
    assert caught.value.hint == "name one as oci:DIR:TAG; tags: 1.0, <untagged>"


def test_archive_select_by_tag_and_index(tmp_path: Path) -> None:
    first = tmp_path / "first.tar"
    write_docker_archive(first, [[file("etc/name", "first")]], repo_tags=["first:1"])
    with open_image(f"docker-archive:{first}:first:1") as image:
        assert image.fs.read_text("/etc/name") == "first"
    with open_image(f"docker-archive:{first}:@0") as image:
        assert image.fs.read_text("/etc/name") == "first"


def test_archive_tag_missing(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [[file("a", "a")]], repo_tags=["app:1"])
    with pytest.raises(ImageError, match="no image tagged 'app:2'") as caught:
        open_image(f"docker-archive:{archive}:app:2")
    assert caught.value.hint == "tags in the archive: app:1"


def test_archive_index_out_of_range(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [[file("a", "a")]])
    with pytest.raises(ImageError, match="no image at index 3"):
        open_image(f"docker-archive:{archive}:@3")
