"""Pending updates against archives signed with a test key and served on 127.0.0.1.

Each test writes a small archive (real bookworm Packages paragraphs, a Release
built here, clearsigned by gpg with a key made for the test module) and serves
it with http.server, so the whole verification path runs without the network.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import lzma
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hardbase.packages.model import Distro, Inventory, Package
from hardbase.scan.findings import FindingKind, Severity
from hardbase.scan.pending import PendingResult, check_pending_updates

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "archive"
TRUSTED_UID = "hardbase test archive <archive@test.invalid>"
STRANGER_UID = "hardbase stranger <stranger@test.invalid>"

pytestmark = pytest.mark.skipif(
    shutil.which("gpg") is None or shutil.which("gpgv") is None,
    reason="needs gpg and gpgv",
)

INVENTORY = Inventory(
    distro=Distro("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"),
    packages=(
        Package("apt", "2.6.1", "deb", "amd64", source_name="apt"),
        Package("base-files", "12.4+deb12u5", "deb", "amd64", source_name="base-files"),
        Package("libc6", "2.36-9+deb12u10", "deb", "amd64", source_name="glibc"),
        Package("libpam0g", "1.5.2-6+deb12u3", "deb", "amd64", source_name="pam"),
        Package("tzdata", "2025a-0+deb12u1", "deb", "all", source_name="tzdata"),
    ),
)


# ----------------------------------------------------------------------------- signing keys


@dataclass(frozen=True)
class Keys:
    home: Path
    keyring: Path
    """Binary keyring holding only the trusted key."""

    def clearsign(self, text: bytes, uid: str = TRUSTED_UID) -> bytes:
        options = ["--yes", "--local-user", uid, "--digest-algo", "SHA256", "--clearsign"]
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", *options],
            input=text,
            capture_output=True,
            check=True,
        ).stdout


def gpg(home: Path, *arguments: str) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", *arguments], capture_output=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    for uid in (TRUSTED_UID, STRANGER_UID):
        gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    keyring = home.parent / f"{home.name}-trusted.gpg"
    keyring.write_bytes(gpg(home, "--export", TRUSTED_UID))
    try:
        yield Keys(home, keyring)
    finally:
        # Stop the gpg-agent that gpg started for this home folder only.
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


# ----------------------------------------------------------------------------- archive


def release_date(days_ago: float = 1.0) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)


def rfc2822(moment: dt.datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S UTC")


@dataclass
class Suite:
    """How to write one suite of the test archive."""

    name: str
    packages: bytes
    codename: str | None = None
    date: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    by_hash: bool = True
    signer: str = TRUSTED_UID
    tamper: bool = False
    serve_other_index: bool = False


def write_suite(root: Path, keys: Keys, suite: Suite) -> Path:
    """Write dists/<suite>/ under ``root``; return the InRelease path."""
    folder = root / "dists" / suite.name
    binary = folder / "main" / "binary-amd64"
    binary.mkdir(parents=True)
    compressed = lzma.compress(suite.packages)
    digest = hashlib.sha256(compressed).hexdigest()
    served = lzma.compress(suite.packages + b"\n") if suite.serve_other_index else compressed
    (binary / "Packages.xz").write_bytes(served)
    if suite.by_hash:
        (binary / "by-hash" / "SHA256").mkdir(parents=True)
        (binary / "by-hash" / "SHA256" / digest).write_bytes(served)

    plain_digest = hashlib.sha256(suite.packages).hexdigest()
    lines = [
        "Origin: Debian",
        "Label: Debian",
        f"Codename: {suite.codename or suite.name}",
        f"Date: {rfc2822(suite.date or release_date())}",
    ]
    if suite.valid_until is not None:
        lines.append(f"Valid-Until: {rfc2822(suite.valid_until)}")
    lines += [
        f"Acquire-By-Hash: {'yes' if suite.by_hash else 'no'}",
        "Architectures: amd64",
        "Components: main",
        "SHA256:",
        f" {plain_digest} {len(suite.packages)} main/binary-amd64/Packages",
        f" {digest} {len(compressed)} main/binary-amd64/Packages.xz",
    ]
    signed = keys.clearsign(("\n".join(lines) + "\n").encode(), suite.signer)
    if suite.tamper:
        signed = signed.replace(b"Label: Debian", b"Label: Debiam", 1)
    inrelease = folder / "InRelease"
    inrelease.write_bytes(signed)
    return inrelease


def default_suites(**changes: Any) -> list[Suite]:
    """The three bookworm suites from the real paragraphs, each with ``changes`` applied."""
    suites = [
        Suite(name, (ASSETS / f"Packages.{name}").read_bytes())
        for name in ("bookworm-security", "bookworm-updates", "bookworm")
    ]
    for suite in suites:
        for key, value in changes.items():
            setattr(suite, key, value)
    return suites


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Server:
    root: Path
    url: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def publish(server: Server, keys: Keys, suites: list[Suite]) -> None:
    for suite in suites:
        mirror = "debian-security" if suite.name.endswith("-security") else "debian"
        write_suite(server.root / mirror, keys, suite)


def scan(server: Server, keys: Keys, tmp_path: Path, **options: Any) -> PendingResult:
    arguments: dict[str, Any] = {
        "mirror": f"{server.url}/debian",
        "security_mirror": f"{server.url}/debian-security",
        "keyring": keys.keyring,
        "cache_dir": tmp_path / "cache",
    }
    arguments.update(options)
    return check_pending_updates(INVENTORY, **arguments)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/debian-security"


def touch_later(server: Server) -> None:
    """Date the served InRelease files a minute ahead so If-Modified-Since sends them again."""
    later = time.time() + 60
    for inrelease in server.root.rglob("InRelease"):
        os.utime(inrelease, (later, later))


def by_package(result: PendingResult) -> dict[str, Any]:
    return {finding.package: finding for finding in result.findings}


# ----------------------------------------------------------------------------- results


def test_signed_archive_yields_updates(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    result = scan(server, keys, tmp_path)
    assert result.warnings == ()
    assert set(by_package(result)) == {"apt", "base-files", "tzdata"}


def test_security_candidate_is_high(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    apt = by_package(scan(server, keys, tmp_path))["apt"]
    assert apt.kind is FindingKind.PENDING_UPDATE
    assert apt.severity is Severity.HIGH
    assert apt.evidence["suite"] == "bookworm-security"
    assert apt.evidence["installed_version"] == "2.6.1"
    assert apt.evidence["available_version"] == "2.6.2"


def test_point_release_candidate_is_low(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    base_files = by_package(scan(server, keys, tmp_path))["base-files"]
    assert base_files.severity is Severity.LOW
    assert base_files.evidence["suite"] == "bookworm"
    assert base_files.evidence["available_version"] == "12.4+deb12u15"


def test_highest_candidate_across_suites(server: Server, keys: Keys, tmp_path: Path) -> None:
    # tzdata: 2025b in -updates, 2026b in the release, 2026f in -security.
    publish(server, keys, default_suites())
    tzdata = by_package(scan(server, keys, tmp_path))["tzdata"]
    assert tzdata.evidence["available_version"] == "2026f-0+deb12u1"
    assert tzdata.evidence["suite"] == "bookworm-security"


def test_evidence_names_verified_index(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    apt = by_package(scan(server, keys, tmp_path))["apt"]
    served = server.root / "debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz"
    assert apt.evidence["index"]["sha256"] == hashlib.sha256(served.read_bytes()).hexdigest()
    assert apt.evidence["index"]["url"].endswith("bookworm-security/main/binary-amd64/Packages.xz")
    assert apt.evidence["source_package"] == "apt"


def test_up_to_date_package_has_no_finding(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    assert "libpam0g" not in by_package(scan(server, keys, tmp_path))


def test_suites_report_verification(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    suites = {status.suite: status for status in scan(server, keys, tmp_path).suites}
    assert set(suites) == {"bookworm-security", "bookworm-updates", "bookworm"}
    assert all(status.verified for status in suites.values())
    assert suites["bookworm"].package_count == 5
    assert len(suites["bookworm"].signed_by) == 1


def test_plain_path_without_by_hash(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(by_hash=False))
    result = scan(server, keys, tmp_path)
    assert result.warnings == ()
    assert "apt" in by_package(result)


def test_unchanged_inrelease_is_not_refetched(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    scan(server, keys, tmp_path)
    again = scan(server, keys, tmp_path)
    assert all(status.from_cache for status in again.suites)
    assert "apt" in by_package(again)


# ----------------------------------------------------------------------------- rejections


def test_tampered_inrelease_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(tamper=True))
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert len(result.warnings) == 3
    assert all("BAD signature" in warning for warning in result.warnings)


def test_unknown_signer_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(signer=STRANGER_UID))
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert all("not in the keyring" in warning for warning in result.warnings)
    assert not any(status.verified for status in result.suites)


def test_index_hash_mismatch_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(serve_other_index=True))
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert len(result.warnings) == 3
    assert all("does not match the signed Release" in warning for warning in result.warnings)


def test_mismatched_index_is_not_cached(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(serve_other_index=True))
    scan(server, keys, tmp_path)
    assert list((tmp_path / "cache" / "by-hash").iterdir()) == []


def test_expired_release_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(valid_until=release_date(days_ago=0.5)))
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert all("expired" in warning for warning in result.warnings)


def test_other_suite_release_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites(codename="bullseye"))
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert all("not bookworm" in warning for warning in result.warnings)


def test_older_release_than_cached_is_rejected(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    scan(server, keys, tmp_path)
    shutil.rmtree(server.root / "debian")
    shutil.rmtree(server.root / "debian-security")
    publish(server, keys, default_suites(date=release_date(days_ago=30)))
    touch_later(server)
    result = scan(server, keys, tmp_path)
    assert result.findings == ()
    assert all("before the cached" in warning for warning in result.warnings)


def test_unreachable_mirror_is_a_warning(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    result = scan(server, keys, tmp_path, security_mirror=closed_port_url())
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("bookworm-security: cannot fetch")
    assert by_package(result)["base-files"].evidence["suite"] == "bookworm"


def test_missing_suite_is_a_warning(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, [s for s in default_suites() if s.name != "bookworm-updates"])
    result = scan(server, keys, tmp_path)
    assert len(result.warnings) == 1
    assert "bookworm-updates: suite not found" in result.warnings[0]
    assert "apt" in by_package(result)


# ----------------------------------------------------------------------------- offline


def test_offline_uses_cache(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    online = scan(server, keys, tmp_path)
    shutil.rmtree(server.root / "debian")
    shutil.rmtree(server.root / "debian-security")
    offline = scan(server, keys, tmp_path, offline=True)
    assert offline.warnings == ()
    assert offline.findings == online.findings
    assert all(status.from_cache for status in offline.suites)


def test_offline_reverifies_cached_inrelease(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    scan(server, keys, tmp_path)
    for cached in (tmp_path / "cache" / "inrelease").rglob("InRelease"):
        cached.write_bytes(cached.read_bytes().replace(b"Label: Debian", b"Label: Debiam", 1))
    result = scan(server, keys, tmp_path, offline=True)
    assert result.findings == ()
    assert all("BAD signature" in warning for warning in result.warnings)


def test_offline_with_empty_cache_says_fetch_first(tmp_path: Path, keys: Keys) -> None:
    result = check_pending_updates(
        INVENTORY, keyring=keys.keyring, cache_dir=tmp_path / "empty", offline=True
    )
    assert result.findings == ()
    assert len(result.warnings) == 3
    assert all("without --offline" in warning for warning in result.warnings)


def test_progress_counts_every_step(server: Server, keys: Keys, tmp_path: Path) -> None:
    publish(server, keys, default_suites())
    steps: list[tuple[str, int, int]] = []
    scan(
        server, keys, tmp_path, progress=lambda text, done, total: steps.append((text, done, total))
    )
    assert [done for _, done, _ in steps] == list(range(6))
    assert {total for _, _, total in steps} == {6}
    assert steps[0][0] == "verifying bookworm-security"
