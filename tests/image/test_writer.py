"""The reproducible image writer: same tree and epoch, same bytes; readable by real tools."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hardbase.image.reader import open_image
from hardbase.image.writer import (
    ContainerConfig,
    ImageBlobs,
    Platform,
    image_blobs,
    write_docker_archive,
    write_layer,
    write_oci_layout,
)

EPOCH = 1_700_000_000
PLATFORM = Platform("amd64")


def _tree(root: Path, mtime: int) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=debian\nVERSION_CODENAME=bookworm\n")
    (root / "usr" / "bin" / "tool").write_bytes(b"\x7fELF tool")
    (root / "usr" / "bin" / "tool").chmod(0o755)
    os.link(root / "usr" / "bin" / "tool", root / "usr" / "bin" / "tool-alias")
    (root / "bin").symlink_to("usr/bin")
    (root / "home").mkdir()
    os.chown(root / "home", 1000, 1000)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return root


def _blobs(root: Path, work: Path) -> ImageBlobs:
    work.mkdir()
    layer = write_layer(root, work, EPOCH)
    return image_blobs(
        layer,
        ContainerConfig(user="1000:1000", env=("PATH=/usr/bin",), working_dir="/home"),
        PLATFORM,
        EPOCH,
        created_by="hardbase build test",
        annotations={"org.opencontainers.image.title": "test"},
    )


def test_same_tree_same_digest(tmp_path: Path) -> None:
    first = _blobs(_tree(tmp_path / "a", EPOCH + 500), tmp_path / "work-a")
    second = _blobs(_tree(tmp_path / "b", EPOCH + 9000), tmp_path / "work-b")
    assert first.layer.digest == second.layer.digest
    assert first.manifest_digest == second.manifest_digest


def test_times_clamped_owners_numeric(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH + 500), tmp_path / "work")
    with tarfile.open(blobs.layer.tar_path) as archive:
        members = archive.getmembers()
    assert max(member.mtime for member in members) == EPOCH
    assert {member.uname for member in members} == {""}
    assert {member.gname for member in members} == {""}
    home = next(member for member in members if member.name == "home")
    assert (home.uid, home.gid) == (1000, 1000)


def test_older_times_kept(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH - 100), tmp_path / "work")
    with tarfile.open(blobs.layer.tar_path) as archive:
        times = {member.mtime for member in archive.getmembers()}
    assert times == {EPOCH - 100}


def test_entries_sorted_with_hard_link(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    with tarfile.open(blobs.layer.tar_path) as archive:
        members = archive.getmembers()
    names = [member.name for member in members]
    assert names == sorted(names)
    alias = next(member for member in members if member.name == "usr/bin/tool-alias")
    assert alias.islnk()
    assert alias.linkname == "usr/bin/tool"


def test_gzip_header_fixed(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    header = blobs.layer.gzip_path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # no FNAME or other optional fields
    assert header[4:8] == b"\x00\x00\x00\x00"  # MTIME 0
    assert gzip.decompress(blobs.layer.gzip_path.read_bytes()) == blobs.layer.tar_path.read_bytes()


def test_config_documents(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    config = json.loads(blobs.config)
    assert config["created"] == "2023-11-14T22:13:20Z"
    assert config["config"]["User"] == "1000:1000"
    assert config["rootfs"]["diff_ids"] == [blobs.layer.diff_id]
    assert config["history"][0]["created_by"] == "hardbase build test"
    manifest = json.loads(blobs.manifest)
    assert manifest["annotations"]["org.opencontainers.image.title"] == "test"


def test_oci_layout_read_back(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    layout = tmp_path / "layout"
    write_oci_layout(blobs, layout, "1.0", PLATFORM)
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "1.0"
    with open_image(f"oci:{layout}:1.0") as image:
        assert image.manifest_digest == blobs.manifest_digest
        assert image.fs.read_text("/etc/os-release").startswith("ID=debian")
        assert image.config is not None
        assert image.config.user == "1000:1000"


def test_oci_layout_replaced_whole(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "stale").write_text("old")
    write_oci_layout(blobs, layout, "1.0", PLATFORM)
    assert not (layout / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout", "root", "work"]


def test_docker_archive_layout(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    archive_path = tmp_path / "image.tar"
    write_docker_archive(blobs, archive_path, "example/test:1.0")
    with tarfile.open(archive_path) as archive:
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        repositories = json.loads(archive.extractfile("repositories").read())  # type: ignore[union-attr]
        names = archive.getnames()
    assert manifest[0]["RepoTags"] == ["example/test:1.0"]
    assert manifest[0]["Layers"][0] in names
    assert manifest[0]["Config"] in names
    assert list(repositories) == ["example/test"]


def test_docker_archive_reproducible(tmp_path: Path) -> None:
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    write_docker_archive(blobs, tmp_path / "one.tar", "example/test:1.0")
    write_docker_archive(blobs, tmp_path / "two.tar", "example/test:1.0")
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()


@pytest.mark.parametrize("transport", ["oci", "docker-archive"])
def test_skopeo_reads_output(tmp_path: Path, transport: str) -> None:
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    blobs = _blobs(_tree(tmp_path / "root", EPOCH), tmp_path / "work")
    if transport == "oci":
        write_oci_layout(blobs, tmp_path / "layout", "1.0", PLATFORM)
        reference = f"oci:{tmp_path / 'layout'}:1.0"
    else:
        write_docker_archive(blobs, tmp_path / "image.tar", "example/test:1.0")
        reference = f"docker-archive:{tmp_path / 'image.tar'}"
    result = subprocess.run(
        [skopeo, "inspect", "--config", reference], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["config"]["User"] == "1000:1000"
    assert config["rootfs"]["diff_ids"] == [blobs.layer.diff_id]
