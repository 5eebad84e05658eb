"""Shared fixtures: real images built once per machine, the shared data folder, servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
MIRROR = os.environ.get("HARDBASE_TEST_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("HARDBASE_TEST_CACHE", Path.home() / ".cache" / "hardbase-tests"))


def shared_data(*parts: str) -> Path:
    """Return a path under the shared data folder, skipping the test when it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (tests expect ../shared beside the repository)")
    return path


def _build_rootfs(suite: str, variant: str, tarball: Path, extra: list[str]) -> None:
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (apt-get install mmdebstrap)")
    partial = tarball.with_suffix(".partial")
    command = [
        "mmdebstrap",
        "--quiet",
        f"--variant={variant}",
        "--mode=root",
        # The ".partial" name has no tar suffix, so mmdebstrap would write a folder.
        "--format=tar",
        *extra,
        suite,
        str(partial),
        MIRROR,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        pytest.fail(f"mmdebstrap {suite} failed: {result.stderr[-2000:]}")
    partial.rename(tarball)


def cached_rootfs(suite: str, variant: str = "minbase", extra: tuple[str, ...] = ()) -> Path:
    """Return a root filesystem tarball built by mmdebstrap, cached between test runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    name = f"{suite}-{variant}" + (
        "-" + "-".join(e.strip("-").replace("=", "_").replace(",", "_") for e in extra)
        if extra
        else ""
    )
    tarball = CACHE / f"{name}.tar"
    with FileLock(str(CACHE / f"{name}.lock")):
        if tarball.is_dir():
            # A folder left by a build that ran without --format=tar.
            shutil.rmtree(tarball)
        if not tarball.exists():
            _build_rootfs(suite, variant, tarball, list(extra))
    return tarball


def unpacked(tarball: Path) -> Path:
    """Return a folder holding ``tarball`` unpacked; built once, beside the tarball."""
    target = tarball.with_suffix(".d")
    with FileLock(str(tarball.with_suffix(".unpack.lock"))):
        if not target.exists():
            partial = tarball.with_suffix(".d.partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            # The tarball is our own mmdebstrap output, so a plain extraction is safe.
            with tarfile.open(tarball) as archive:
                archive.extractall(partial, filter="fully_trusted")  # noqa: S202
            partial.rename(target)
    return target


@pytest.fixture(scope="session")
def bookworm_tar() -> Path:
    """A bookworm minbase root filesystem tarball built with mmdebstrap."""
    return cached_rootfs("bookworm")


@pytest.fixture(scope="session")
def bookworm_dir(bookworm_tar: Path) -> Path:
    """The bookworm minbase root filesystem unpacked into a folder."""
    return unpacked(bookworm_tar)


@pytest.fixture
def work_tmp(tmp_path: Path) -> Iterator[Path]:
    """A temporary folder; TMPDIR points into it, so the test can check nothing leaked out."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    import tempfile

    tempfile.tempdir = None
    try:
        yield tmp_path
    finally:
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
        tempfile.tempdir = None
