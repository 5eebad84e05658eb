"""Hardening checks on real root filesystems: Debian bookworm minbase and Alpine 3.20.3."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import shared_data
from hardbase.audit import ImageAudit, audit_image
from hardbase.image.reader import open_image
from hardbase.packages import read_inventory
from hardbase.scan.findings import Finding, Severity

#: setuid and setgid files of a bookworm minbase: path, mode, owning package.
BOOKWORM_SET_ID_FILES = [
    ("/usr/bin/chage", "2755", "passwd"),
    ("/usr/bin/chfn", "4755", "passwd"),
    ("/usr/bin/chsh", "4755", "passwd"),
    ("/usr/bin/expiry", "2755", "passwd"),
    ("/usr/bin/gpasswd", "4755", "passwd"),
    ("/usr/bin/mount", "4755", "mount"),
    ("/usr/bin/newgrp", "4755", "login"),
    ("/usr/bin/passwd", "4755", "passwd"),
    ("/usr/bin/su", "4755", "util-linux"),
    ("/usr/bin/umount", "4755", "mount"),
    ("/usr/sbin/unix_chkpwd", "2755", "libpam-modules-bin"),
]


def audit_reference(reference: str) -> ImageAudit:
    with open_image(reference) as image:
        return audit_image(image, read_inventory(image.fs))


@pytest.fixture(scope="module")
def bookworm(bookworm_tar: Path) -> Iterator[ImageAudit]:
    yield audit_reference(f"tar:{bookworm_tar}")


@pytest.fixture(scope="module")
def alpine() -> ImageAudit:
    return audit_reference(f"tar:{shared_data('alpine', 'alpine-minirootfs-3.20.3-x86_64.tar.gz')}")


def rules_of(audit: ImageAudit, rule_id: str) -> list[Finding]:
    return [f for f in audit.findings if f.rule_id == rule_id]


@pytest.mark.slow
def test_bookworm_has_no_user_configured(bookworm: ImageAudit) -> None:
    [finding] = rules_of(bookworm, "HB-USER-002")
    assert finding.severity is Severity.LOW
    assert rules_of(bookworm, "HB-USER-001") == []
    assert len(rules_of(bookworm, "HB-USER-005")) == 1


@pytest.mark.slow
def test_bookworm_setuid_files_pinned(bookworm: ImageAudit) -> None:
    found = sorted(
        (f.evidence["path"], f.evidence["mode"], f.package)
        for f in rules_of(bookworm, "HB-PERM-001")
    )
    assert found == BOOKWORM_SET_ID_FILES
    assert all(f.severity is Severity.MEDIUM for f in rules_of(bookworm, "HB-PERM-001"))


@pytest.mark.slow
def test_bookworm_setgid_group_is_shadow(bookworm: ImageAudit) -> None:
    [chage] = [
        f for f in rules_of(bookworm, "HB-PERM-001") if f.evidence["path"] == "/usr/bin/chage"
    ]
    assert chage.evidence["group"] == "shadow"
    assert chage.evidence["setgid"] is True
    assert chage.evidence["setuid"] is False


@pytest.mark.slow
def test_bookworm_has_no_secrets_or_account_problems(bookworm: ImageAudit) -> None:
    unexpected = [
        f.title for f in bookworm.findings if f.rule_id.startswith(("HB-SECRET", "HB-ACCT"))
    ]
    assert unexpected == []
    assert bookworm.summary.files_searched > 1000
    assert bookworm.summary.binary_files_skipped > 1000


@pytest.mark.slow
def test_bookworm_has_no_world_writable_paths(bookworm: ImageAudit) -> None:
    # /tmp, /var/tmp and /run/lock are 1777 and /dev nodes are 0666: none of them count.
    assert bookworm.summary.world_writable == 0


@pytest.mark.slow
def test_bookworm_shells_and_apt(bookworm: ImageAudit) -> None:
    [shells] = rules_of(bookworm, "HB-TOOL-001")
    targets = {t["path"]: t["target"] for t in shells.evidence["tools"]}
    assert targets["/usr/bin/sh"] == "/usr/bin/dash"
    assert targets["/usr/bin/bash"] == "/usr/bin/bash"
    assert shells.severity is Severity.LOW
    [managers] = rules_of(bookworm, "HB-TOOL-002")
    packages = {t["name"]: t["package"] for t in managers.evidence["tools"]}
    assert packages == {"apt": "apt", "apt-get": "apt", "dpkg": "dpkg"}
    [privilege] = rules_of(bookworm, "HB-TOOL-003")
    assert privilege.evidence["tools"][0]["path"] == "/usr/bin/su"
    assert privilege.evidence["tools"][0]["setuid"] is True


@pytest.mark.slow
def test_bookworm_documentation_sizes(bookworm: ImageAudit) -> None:
    [finding] = rules_of(bookworm, "HB-SIZE-002")
    sizes = {loc["path"]: loc["bytes"] for loc in finding.evidence["locations"]}
    for folder in ("/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/locale"):
        assert sizes[folder] > 0, folder
    assert finding.evidence["total_bytes"] == sum(sizes.values())
    assert finding.severity is Severity.NEGLIGIBLE
    # mmdebstrap removes the package lists and downloaded packages after the build.
    assert rules_of(bookworm, "HB-SIZE-001") == []


@pytest.mark.slow
def test_bookworm_dir_matches_tar(bookworm: ImageAudit, bookworm_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("unpacking kept owners and set-id bits only when run as root")
    from_dir = audit_reference(f"dir:{bookworm_dir}")
    assert [f.to_dict() for f in from_dir.findings] == [f.to_dict() for f in bookworm.findings]


def test_alpine_busybox_applets(alpine: ImageAudit) -> None:
    [shells] = rules_of(alpine, "HB-TOOL-001")
    targets = {t["path"]: t["target"] for t in shells.evidence["tools"]}
    assert targets == {
        "/bin/ash": "/bin/busybox",
        "/bin/busybox": "/bin/busybox",
        "/bin/sh": "/bin/busybox",
    }
    [managers] = rules_of(alpine, "HB-TOOL-002")
    assert [(t["path"], t["package"]) for t in managers.evidence["tools"]] == [
        ("/sbin/apk", "apk-tools")
    ]


def test_alpine_su_applet_has_no_setuid(alpine: ImageAudit) -> None:
    [privilege] = rules_of(alpine, "HB-TOOL-003")
    assert privilege.evidence["tools"] == [
        {
            "name": "su",
            "path": "/bin/su",
            "target": "/bin/busybox",
            "package": "busybox",
            "setuid": False,
        }
    ]
    assert rules_of(alpine, "HB-PERM-001") == []


def test_alpine_has_nothing_medium_or_worse(alpine: ImageAudit) -> None:
    severe = [f.title for f in alpine.findings if f.severity >= Severity.MEDIUM]
    assert severe == []
    assert [f.rule_id for f in alpine.findings] == [
        "HB-TOOL-001",
        "HB-TOOL-002",
        "HB-TOOL-003",
        "HB-USER-002",
        "HB-USER-005",
    ]
