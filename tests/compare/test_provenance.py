"""Installed-file integrity against dpkg md5sums and apk Z: checksums, and the index check."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from compare_fixtures import ALPINE_320
from compare_readers import read_members

from conftest import shared_data
from hardbase.compare.provenance import (
    APK_INDEX_NOTE,
    ArchiveSettings,
    check_file_integrity,
    check_signed_index,
    read_conffiles,
)
from hardbase.image.reader import open_image
from hardbase.packages import Distro, Inventory, Package, read_inventory


def integrity(reference: str):
    with open_image(reference) as image:
        return check_file_integrity(image.fs, read_inventory(image.fs))


def resolve_in_root(root: Path, path: str, hops: int = 40) -> Path | None:
    """Return the host path of ``path`` inside ``root``, following links as a chroot would."""
    current = root
    parts = [p for p in path.split("/") if p]
    while parts:
        part = parts.pop(0)
        candidate = current / part
        if candidate.is_symlink():
            hops -= 1
            if hops < 0:
                return None
            target = str(candidate.readlink())
            base = root if target.startswith("/") else current
            rest = [p for p in target.split("/") if p] + parts
            current, parts = base, rest
            continue
        if part == "..":
            current = current.parent if current != root else root
            continue
        current = candidate
    return current if current.exists() else None


def write_dpkg_tree(root: Path) -> None:
    """Write a one-package dpkg image: one intact, one edited, one removed file, one conffile."""
    files = {
        "usr/bin/tool": b"tool v1\n",
        "usr/share/tool/data": b"data\n",
        "usr/share/tool/gone": b"gone\n",
        "etc/tool.conf": b"setting = 1\n",
        "usr/lib/tool/edited": b"original\n",
    }
    sums = "".join(f"{hashlib.md5(c).hexdigest()}  {p}\n" for p, c in files.items())
    conf_md5 = hashlib.md5(files["etc/tool.conf"]).hexdigest()
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "tool.md5sums").write_text(sums)
    (info / "tool.list").write_text("".join(f"/{p}\n" for p in files))
    (root / "var/lib/dpkg/status").write_text(
        "Package: tool\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n"
        f"Conffiles:\n /etc/tool.conf {conf_md5}\n\n"
    )
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    (root / "usr/share/tool/gone").unlink()
    (root / "usr/lib/tool/edited").write_bytes(b"replaced\n")
    (root / "etc/tool.conf").write_bytes(b"setting = 2\n")


def test_dpkg_tree_counts(tmp_path: Path) -> None:
    write_dpkg_tree(tmp_path)
    facts = integrity(f"dir:{tmp_path}")
    assert facts.checked
    assert facts.algorithm == "md5"
    assert facts.matched == 2
    assert facts.changed == ("/usr/lib/tool/edited",)
    assert facts.missing == ("/usr/share/tool/gone",)
    assert facts.config_changed == ("/etc/tool.conf",)


def test_conffiles_read_from_status(tmp_path: Path) -> None:
    write_dpkg_tree(tmp_path)
    with open_image(f"dir:{tmp_path}") as image:
        assert read_conffiles(image.fs) == frozenset({"/etc/tool.conf"})


def test_bookworm_matches_md5sums(bookworm_dir: Path) -> None:
    matched = changed = missing = 0
    for sums in (bookworm_dir / "var/lib/dpkg/info").glob("*.md5sums"):
        for line in sums.read_text().splitlines():
            digest, _, path = line.partition("  ")
            host = resolve_in_root(bookworm_dir, path)
            if host is None:
                missing += 1
            elif hashlib.md5(host.read_bytes()).hexdigest() == digest:
                matched += 1
            else:
                changed += 1
    facts = integrity(f"dir:{bookworm_dir}")
    assert facts.matched == matched
    assert len(facts.changed) + len(facts.config_changed) == changed
    assert len(facts.missing) == missing


def test_alpine_matches_z_checksums() -> None:
    tarball = shared_data(*ALPINE_320)
    members = read_members(tarball, keep=("/lib/apk/db/installed",))
    database = (members["/lib/apk/db/installed"].content or b"").decode()
    all_members = read_members(tarball, keep=tuple(members))
    matched, differing = 0, []
    folder = ""
    path = ""
    for line in database.splitlines():
        if line.startswith("F:"):
            folder = line[2:]
        elif line.startswith("R:"):
            path = f"/{folder}/{line[2:]}" if folder else f"/{line[2:]}"
        elif line.startswith("Z:Q1") and path:
            expected = base64.b64decode(line[4:]).hex()
            member = all_members[path]
            data = member.link.encode() if member.type == "symlink" else member.content or b""
            if hashlib.sha1(data).hexdigest() == expected:
                matched += 1
            else:
                differing.append(path)
    facts = integrity(f"tar:{tarball}")
    assert facts.algorithm == "sha1"
    assert facts.matched == matched
    assert list(facts.config_changed) == differing
    assert facts.changed == ()


def test_apk_index_not_checked() -> None:
    inventory = Inventory(Distro("alpine", "3.20.3"), ())
    facts = check_signed_index(inventory, ArchiveSettings(offline=True))
    assert not facts.checked
    assert facts.message == APK_INDEX_NOTE


def test_offline_empty_cache_not_checked(tmp_path: Path) -> None:
    package = Package("bash", "5.2.15-2+b7", "deb", architecture="amd64")
    inventory = Inventory(Distro("debian", "12", "bookworm"), (package,))
    settings = ArchiveSettings(offline=True, cache_dir=tmp_path / "cache")
    facts = check_signed_index(inventory, settings)
    assert not facts.checked
    assert "no cached InRelease for bookworm-security" in facts.message


@pytest.mark.slow
@pytest.mark.network
def test_foreign_version_not_in_index() -> None:
    packages = (
        Package("bash", "5.2.15-2+b7", "deb", architecture="amd64"),
        Package("bash", "0.1-hardbase1", "deb", architecture="amd64"),
    )
    inventory = Inventory(Distro("debian", "12", "bookworm"), packages)
    facts = check_signed_index(inventory, ArchiveSettings())
    assert facts.checked
    assert "bash=0.1-hardbase1" in facts.not_found
    assert facts.suites == ("bookworm-security", "bookworm-updates", "bookworm")
