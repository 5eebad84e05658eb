"""Pending updates of a real bookworm root filesystem against the live Debian archive.

Indices are cached under the test cache folder, so reruns fetch only the three
InRelease files. The expected versions are read here from the archive with gpgv,
python-debian and ``dpkg --compare-versions``, independently of hardbase's code.
"""

from __future__ import annotations

import hashlib
import lzma
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from debian.deb822 import Packages, Release

from conftest import CACHE
from hardbase.image.reader import open_image
from hardbase.packages import read_inventory
from hardbase.packages.model import Inventory
from hardbase.scan.pending import PendingResult, check_pending_updates

pytestmark = [pytest.mark.network, pytest.mark.slow]

ARCHIVE_CACHE = CACHE / "archive"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SUITES = {
    "bookworm-security": "http://deb.debian.org/debian-security",
    "bookworm-updates": "http://deb.debian.org/debian",
    "bookworm": "http://deb.debian.org/debian",
}
COPIED = ("etc/os-release", "usr/lib/os-release", "etc/debian_version", "var/lib/dpkg/status")
# The first bookworm release's base-files, older than any later point release.
OLD_BASE_FILES = "12.4"


def copy_image(bookworm_dir: Path, target: Path, lowered: dict[str, str]) -> Path:
    """Copy the files that the scan reads, with ``lowered`` package versions in the status."""
    for relative in COPIED:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        # etc/os-release is a link to ../usr/lib/os-release; copy its content.
        shutil.copyfile(bookworm_dir / relative, destination)
    status = target / "var/lib/dpkg/status"
    text = status.read_text()
    for package, version in lowered.items():
        text, count = re.subn(
            rf"(^Package: {re.escape(package)}\n(?:[^\n]+\n)*?)Version: [^\n]+",
            rf"\g<1>Version: {version}",
            text,
            count=1,
            flags=re.M,
        )
        assert count == 1, f"{package} not found in the status file"
    status.write_text(text)
    return target


def inventory_of(root: Path) -> Inventory:
    with open_image(f"dir:{root}") as image:
        return read_inventory(image.fs)


def scan(inventory: Inventory, *, offline: bool = False) -> PendingResult:
    return check_pending_updates(inventory, cache_dir=ARCHIVE_CACHE, offline=offline)


def archive_version(suite: str, package: str, architecture: str) -> str | None:
    """Read ``package``'s version in ``suite`` from the archive, verified with gpgv here."""
    base = f"{SUITES[suite]}/dists/{suite}/"
    inrelease = httpx.get(base + "InRelease", timeout=60).raise_for_status().content
    verified = subprocess.run(
        ["gpgv", "--keyring", str(KEYRING), "--output", "-", "-"],
        input=inrelease,
        capture_output=True,
        check=True,
    ).stdout
    name = f"main/binary-{architecture}/Packages.xz"
    entry = next(e for e in Release(verified)["SHA256"] if e["name"] == name)

    cached = ARCHIVE_CACHE / "by-hash" / entry["sha256"]
    if cached.is_file():
        compressed = cached.read_bytes()
    else:
        compressed = httpx.get(base + name, timeout=300).raise_for_status().content
    assert hashlib.sha256(compressed).hexdigest() == entry["sha256"]

    data = lzma.decompress(compressed)
    start = data.find(f"\nPackage: {package}\n".encode())
    if start < 0:
        return None
    end = data.find(b"\n\n", start + 1)
    paragraph = Packages(data[start + 1 : end].decode())
    return str(paragraph["Version"])


def highest(versions: list[tuple[str, str]]) -> tuple[str, str]:
    """Return the (suite, version) with the highest version, as dpkg orders them."""
    best = versions[0]
    for suite, version in versions[1:]:
        newer = subprocess.run(["dpkg", "--compare-versions", version, "gt", best[1]], check=False)
        if newer.returncode == 0:
            best = (suite, version)
    return best


@pytest.fixture(scope="module")
def online_result(bookworm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> PendingResult:
    root = copy_image(
        bookworm_dir, tmp_path_factory.mktemp("image"), {"base-files": OLD_BASE_FILES}
    )
    return scan(inventory_of(root))


def test_bookworm_suites_verify(online_result: PendingResult) -> None:
    assert online_result.warnings == ()
    assert [status.suite for status in online_result.suites] == list(SUITES)
    assert all(status.verified for status in online_result.suites)
    assert all(status.signed_by for status in online_result.suites)


def test_bookworm_main_index_is_read(online_result: PendingResult) -> None:
    release = online_result.suites[-1]
    assert release.indices[0].architecture == "amd64"
    assert release.package_count > 50_000


def test_lowered_base_files_is_reported(online_result: PendingResult) -> None:
    found = [
        (suite, version)
        for suite in SUITES
        if (version := archive_version(suite, "base-files", "amd64")) is not None
    ]
    expected_suite, expected_version = highest(found)
    findings = [f for f in online_result.findings if f.package == "base-files"]
    assert len(findings) == 1
    assert findings[0].evidence["installed_version"] == OLD_BASE_FILES
    assert findings[0].evidence["available_version"] == expected_version
    assert findings[0].evidence["suite"] == expected_suite


def test_offline_matches_online(
    online_result: PendingResult, bookworm_dir: Path, tmp_path: Path
) -> None:
    root = copy_image(bookworm_dir, tmp_path / "image", {"base-files": OLD_BASE_FILES})
    offline = scan(inventory_of(root), offline=True)
    assert offline.warnings == ()
    assert offline.findings == online_result.findings
    assert all(status.from_cache for status in offline.suites)
