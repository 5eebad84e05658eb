"""Each transport on real input: Alpine minirootfs tarballs and a bookworm image from mmdebstrap.

The bookworm root filesystem is read as ``tar:``, as ``dir:`` (unpacked), as an
OCI layout made by umoci and as a docker-archive written by skopeo; all four
must show the same files with the same content.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from leakguard import LeakGuard

from conftest import shared_data
from hardbase.image.fs import FileType
from hardbase.image.model import Image
from hardbase.image.reader import open_image
from imagebuild import file, write_oci_layout

ALPINE = {
    "3.10.9": "alpine-minirootfs-3.10.9-x86_64.tar.gz",
    "3.11.13": "alpine-minirootfs-3.11.13-x86_64.tar.gz",
    "3.20.3": "alpine-minirootfs-3.20.3-x86_64.tar.gz",
}


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed (apt-get install {command[0]})")
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed: {result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def bookworm_oci(bookworm_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OCI image layout tagged ``bookworm`` whose one layer is the bookworm tarball (umoci)."""
    layout = tmp_path_factory.mktemp("oci") / "layout"
    _run(["umoci", "init", "--layout", str(layout)])
    _run(["umoci", "new", "--image", f"{layout}:bookworm"])
    _run(["umoci", "raw", "add-layer", "--image", f"{layout}:bookworm", str(bookworm_tar)])
    return layout


@pytest.fixture(scope="module")
def bookworm_archive(bookworm_oci: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A docker-archive of the bookworm image tagged ``bookworm:test``, written by skopeo."""
    archive = tmp_path_factory.mktemp("archive") / "bookworm.tar"
    source = f"oci:{bookworm_oci}:bookworm"
    _run(["skopeo", "copy", "--quiet", source, f"docker-archive:{archive}:bookworm:test"])
    return archive


@pytest.fixture
def guard(work_tmp: Path) -> Iterator[LeakGuard]:
    yield LeakGuard.start(work_tmp)


def snapshot(image: Image) -> dict[str, tuple[Any, ...]]:
    """Return every entry's metadata and content digest, keyed by path."""
    found: dict[str, tuple[Any, ...]] = {}
    for entry in image.fs.walk():
        digest = None
        if entry.is_file:
            digest = hashlib.sha256(image.fs.read_bytes(entry.path)).hexdigest()
        found[entry.path] = (
            entry.type,
            entry.mode,
            entry.uid,
            entry.gid,
            entry.size,
            entry.link_target,
            entry.device,
            digest,
        )
    return found


@pytest.fixture(scope="module")
def bookworm_snapshot(bookworm_tar: Path) -> dict[str, tuple[Any, ...]]:
    with open_image(f"tar:{bookworm_tar}") as image:
        return snapshot(image)


@pytest.mark.parametrize("version", sorted(ALPINE))
def test_alpine_minirootfs_release(version: str) -> None:
    tarball = shared_data("alpine", ALPINE[version])
    with open_image(f"tar:{tarball}") as image:
        assert image.transport == "tar"
        assert image.config is None
        assert image.fs.read_text("/etc/alpine-release").strip() == version
        assert image.fs.is_file("/lib/apk/db/installed")


def test_alpine_minirootfs_busybox_links() -> None:
    tarball = shared_data("alpine", ALPINE["3.20.3"])
    with open_image(tarball.as_posix()) as image:
        sh = image.fs.lstat("/bin/sh")
        assert image.transport == "tar"
        assert sh is not None
        assert sh.type is FileType.SYMLINK
        assert image.fs.resolve("/bin/sh") == "/bin/busybox"
        assert image.fs.is_file("/bin/sh")


@pytest.mark.slow
@pytest.mark.parametrize("compression", ["plain", "xz", "zstd"])
def test_alpine_recompressed_same_tree(compression: str, tmp_path: Path) -> None:
    tarball = shared_data("alpine", ALPINE["3.20.3"])
    plain = gzip.decompress(tarball.read_bytes())
    if compression == "xz":
        converted = lzma.compress(plain, preset=1)
    elif compression == "zstd":
        converted = zstandard.ZstdCompressor().compress(plain)
    else:
        converted = plain
    target = tmp_path / f"rootfs.{compression}"
    target.write_bytes(converted)
    with open_image(f"tar:{tarball}") as reference, open_image(f"tar:{target}") as image:
        expected = snapshot(reference)
        assert snapshot(image) == expected
        assert len(expected) > 400


def test_zstd_multi_frame_read_whole(tmp_path: Path) -> None:
    tarball = shared_data("alpine", ALPINE["3.20.3"])
    plain = gzip.decompress(tarball.read_bytes())
    half = len(plain) // 2
    compressor = zstandard.ZstdCompressor()
    target = tmp_path / "rootfs.tar.zst"
    target.write_bytes(compressor.compress(plain[:half]) + compressor.compress(plain[half:]))
    with open_image(f"tar:{tarball}") as reference, open_image(f"tar:{target}") as image:
        assert snapshot(image) == snapshot(reference)


@pytest.mark.slow
def test_bookworm_tar_contents(bookworm_snapshot: dict[str, tuple[Any, ...]]) -> None:
    assert len(bookworm_snapshot) > 5000
    assert bookworm_snapshot["/etc/debian_version"][0] is FileType.FILE
    assert bookworm_snapshot["/var/lib/dpkg/status"][4] > 10_000
    assert bookworm_snapshot["/dev/null"][6] == (1, 3)


@pytest.mark.slow
def test_bookworm_dir_matches_tar(
    bookworm_dir: Path, bookworm_snapshot: dict[str, tuple[Any, ...]]
) -> None:
    with open_image(f"dir:{bookworm_dir}") as image:
        assert image.transport == "dir"
        assert image.work_dir is None
        assert snapshot(image) == bookworm_snapshot


@pytest.mark.slow
def test_bookworm_oci_matches_tar(
    bookworm_oci: Path, bookworm_tar: Path, bookworm_snapshot: dict[str, tuple[Any, ...]]
) -> None:
    with open_image(f"oci:{bookworm_oci}:bookworm") as image:
        assert image.transport == "oci"
        assert image.config is not None
        assert len(image.layers) == 1
        assert image.layers[0].diff_id == "sha256:" + _file_sha256(bookworm_tar)
        assert image.manifest_digest is not None
        assert snapshot(image) == bookworm_snapshot


@pytest.mark.slow
def test_bookworm_docker_archive_matches_tar(
    bookworm_archive: Path, bookworm_snapshot: dict[str, tuple[Any, ...]]
) -> None:
    with open_image(f"docker-archive:{bookworm_archive}:bookworm:test") as image:
        assert image.transport == "docker-archive"
        assert image.repo_tags == ("docker.io/library/bookworm:test",)
        assert image.config is not None
        assert snapshot(image) == bookworm_snapshot


@pytest.mark.slow
def test_bookworm_docker_archive_gzip(
    bookworm_archive: Path, tmp_path: Path, bookworm_snapshot: dict[str, tuple[Any, ...]]
) -> None:
    target = tmp_path / "bookworm.tar.gz"
    with bookworm_archive.open("rb") as source, gzip.open(target, "wb", compresslevel=1) as out:
        shutil.copyfileobj(source, out)
    with open_image(target.as_posix()) as image:
        assert image.transport == "docker-archive"
        assert snapshot(image) == bookworm_snapshot


@pytest.mark.slow
def test_bookworm_bare_paths_detected(
    bookworm_oci: Path, bookworm_archive: Path, bookworm_dir: Path, bookworm_tar: Path
) -> None:
    found = {}
    for path in (bookworm_oci, bookworm_archive, bookworm_dir, bookworm_tar):
        with open_image(path.as_posix()) as image:
            found[path.name] = image.transport
    assert found == {
        bookworm_oci.name: "oci",
        bookworm_archive.name: "docker-archive",
        bookworm_dir.name: "dir",
        bookworm_tar.name: "tar",
    }


@pytest.mark.slow
def test_bookworm_work_folder_removed(bookworm_oci: Path, guard: LeakGuard) -> None:
    image = open_image(f"oci:{bookworm_oci}:bookworm")
    work_dir = image.work_dir
    assert work_dir is not None
    assert work_dir.parent == guard.scratch
    assert work_dir.is_dir()
    image.close()
    assert not work_dir.exists()
    guard.check()


def test_progress_reports_each_layer(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "oci", [[file("a", "1")], [file("b", "2")]])
    calls: list[tuple[int, int]] = []
    with open_image(
        f"oci:{tmp_path / 'oci'}:latest", progress=lambda d, t, _: calls.append((d, t))
    ):
        pass
    assert calls == [(0, 2), (1, 2), (2, 2)]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
