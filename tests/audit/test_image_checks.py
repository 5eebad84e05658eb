"""Hardening checks on small root filesystems built by each test as a tarball."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from hardbase.audit import ImageAudit, audit_image
from hardbase.image.model import ImageConfig
from hardbase.image.reader import open_image
from hardbase.packages import Inventory, Package, read_inventory
from hardbase.scan.findings import Finding, FindingKind, Severity

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "audit"


def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


@dataclass(frozen=True)
class Item:
    """One entry of a test root filesystem."""

    content: bytes | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    link: str | None = None
    directory: bool = False


def write_rootfs(path: Path, items: dict[str, bytes | Item]) -> Path:
    """Write a root filesystem tarball; parent folders get mode 0755 unless listed."""
    entries = {k: v if isinstance(v, Item) else Item(v) for k, v in items.items()}
    folders: set[str] = set()
    for name in entries:
        parts = name.strip("/").split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/" + "/".join(parts[:depth]))
    with tarfile.open(path, "w") as archive:
        for folder in sorted(folders - set(entries)):
            info = tarfile.TarInfo(folder.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name in sorted(entries):
            item = entries[name]
            info = tarfile.TarInfo(name.lstrip("/"))
            info.mode, info.uid, info.gid = item.mode, item.uid, item.gid
            if item.directory:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif item.link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, item.link
                archive.addfile(info)
            else:
                data = item.content or b""
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return path


BASE: dict[str, bytes | Item] = {
    "/etc/passwd": asset("passwd.app-user"),
    "/etc/group": asset("group.app-user"),
    "/etc/shadow": Item(asset("shadow.locked"), mode=0o640, gid=42),
}

CONFIG_AS_APP = ImageConfig(user="1000")


def run_audit(
    tmp_path: Path,
    items: dict[str, bytes | Item],
    config: ImageConfig | None = CONFIG_AS_APP,
    inventory: Inventory | None = None,
    **options: int,
) -> ImageAudit:
    """Build the root filesystem, open it as ``tar:``, attach ``config`` and audit it."""
    tarball = write_rootfs(tmp_path / "rootfs.tar", items)
    with open_image(f"tar:{tarball}") as image:
        image.config = config
        found = inventory if inventory is not None else read_inventory(image.fs)
        return audit_image(image, found, **options)


def findings_of(audit: ImageAudit, rule_id: str) -> list[Finding]:
    return [f for f in audit.findings if f.rule_id == rule_id]


def only_finding(audit: ImageAudit, rule_id: str) -> Finding:
    found = findings_of(audit, rule_id)
    assert len(found) == 1, [f.title for f in found]
    return found[0]


def rendered(finding: Finding) -> str:
    """Everything a report could print of a finding."""
    return str(finding) + repr(finding) + json.dumps(finding.to_dict())


# --- the user a container runs as -------------------------------------------


def test_rootfs_without_config_reports_no_user(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, BASE, config=None)

    finding = only_finding(audit, "HB-USER-002")
    assert finding.severity is Severity.LOW
    assert finding.kind is FindingKind.HARDENING
    assert finding.evidence["config"] is None
    assert "No user is configured" in finding.title
    assert findings_of(audit, "HB-USER-001") == []
    assert audit.summary.runs_as_root is None


def test_config_without_user_runs_as_root(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user=None))

    finding = only_finding(audit, "HB-USER-001")
    assert finding.severity is Severity.HIGH
    assert finding.evidence == {"user": None, "uid": 0}
    assert audit.summary.runs_as_root is True


@pytest.mark.parametrize("user", ["root", "0", "0:0", "root:root", ""])
def test_config_user_that_is_root(tmp_path: Path, user: str) -> None:
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user=user))

    finding = only_finding(audit, "HB-USER-001")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["uid"] == 0
    assert audit.summary.runs_as_root is True


def test_config_user_name_resolving_to_uid_0(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.duplicate-uid")}
    audit = run_audit(tmp_path, items, config=ImageConfig(user="toor"))

    finding = only_finding(audit, "HB-USER-001")
    assert finding.evidence["user"] == "toor"
    assert finding.evidence["uid"] == 0
    assert "'toor' is uid 0" in finding.title


@pytest.mark.parametrize("user", ["1000", "app", "app:app", "1000:0"])
def test_config_user_that_is_not_root(tmp_path: Path, user: str) -> None:
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user=user))

    user_rules = [f.rule_id for f in audit.findings if f.rule_id.startswith("HB-USER")]
    assert user_rules == []
    assert audit.summary.runs_as_root is False
    assert audit.summary.user == user


def test_numeric_uid_without_passwd_entry_is_noted(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user="4242"))

    finding = only_finding(audit, "HB-USER-003")
    assert finding.severity is Severity.NEGLIGIBLE
    assert finding.evidence["uid"] == 4242
    assert findings_of(audit, "HB-USER-001") == []
    assert findings_of(audit, "HB-USER-005") == []


def test_user_name_missing_from_passwd(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user="ghost:ghost"))

    finding = only_finding(audit, "HB-USER-004")
    assert finding.severity is Severity.LOW
    assert finding.evidence == {"user": "ghost:ghost", "uid": None, "group": "ghost"}
    assert audit.summary.runs_as_root is None


def test_no_account_to_run_as(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.system-only")}
    audit = run_audit(tmp_path, items, config=ImageConfig(user="root"))

    finding = only_finding(audit, "HB-USER-005")
    assert finding.severity is Severity.LOW
    assert finding.evidence["uid_min"] == 1000
    assert finding.evidence["system_accounts"] == ["daemon", "www-data"]


def test_nobody_is_not_an_account_to_run_as(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.system-only")}
    audit = run_audit(tmp_path, items, config=None)

    assert len(findings_of(audit, "HB-USER-005")) == 1


def test_account_above_login_defs_uid_min(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/etc/passwd": asset("passwd.uid-600"),
        "/etc/login.defs": asset("login.defs.uid-min-500"),
    }
    audit = run_audit(tmp_path, items, config=None)

    assert findings_of(audit, "HB-USER-005") == []


def test_account_check_skipped_when_running_as_non_root(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.system-only")}
    audit = run_audit(tmp_path, items, config=ImageConfig(user="65532"))

    assert findings_of(audit, "HB-USER-005") == []


# --- account files ----------------------------------------------------------


def test_empty_shadow_hash(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/etc/passwd": asset("passwd.system-only"),
        "/etc/shadow": asset("shadow.empty-hash"),
    }
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-ACCT-001")
    assert finding.severity is Severity.HIGH
    assert finding.evidence == {"account": "www-data", "uid": 33, "file": "/etc/shadow", "line": 3}


def test_locked_shadow_fields_are_not_empty(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, BASE)

    assert findings_of(audit, "HB-ACCT-001") == []
    assert findings_of(audit, "HB-ACCT-002") == []


def test_password_fields_in_passwd(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.hash-in-passwd")}
    audit = run_audit(tmp_path, items)

    hashed = only_finding(audit, "HB-ACCT-002")
    assert hashed.severity is Severity.MEDIUM
    assert hashed.evidence["account"] == "legacy"
    assert hashed.evidence["scheme"] == "sha512crypt"
    assert "saltsalt" not in rendered(hashed)
    empty = only_finding(audit, "HB-ACCT-001")
    assert empty.evidence["account"] == "nopass"
    assert empty.evidence["file"] == "/etc/passwd"


def test_duplicate_uids_name_both_accounts(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.duplicate-uid")}
    audit = run_audit(tmp_path, items)

    by_uid = {f.evidence["uid"]: f for f in findings_of(audit, "HB-ACCT-003")}
    assert sorted(by_uid) == [0, 1000]
    assert by_uid[0].evidence["accounts"] == ["root", "toor"]
    assert by_uid[0].severity is Severity.HIGH
    assert by_uid[1000].evidence["accounts"] == ["app", "deploy"]
    assert by_uid[1000].severity is Severity.MEDIUM


def test_duplicate_gids_name_both_groups(tmp_path: Path) -> None:
    items = {**BASE, "/etc/group": asset("group.duplicate-gid")}
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-ACCT-004")
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence == {"gid": 1000, "groups": ["app", "deploy"], "file": "/etc/group"}


def test_malformed_passwd_lines_are_skipped(tmp_path: Path) -> None:
    items = {**BASE, "/etc/passwd": asset("passwd.malformed")}
    audit = run_audit(tmp_path, items, config=ImageConfig(user="app"))

    assert audit.summary.runs_as_root is False
    assert [f.rule_id for f in audit.findings if f.rule_id.startswith(("HB-USER", "HB-ACCT"))] == []


# --- file modes -------------------------------------------------------------


def test_setuid_file_with_owner_and_package(tmp_path: Path) -> None:
    items = {**BASE, "/usr/bin/helper": Item(b"\x7fELF\0", mode=0o4755)}
    package = Package("helper-tools", "1.0-1", "deb", files=("/usr/bin/helper",))
    audit = run_audit(tmp_path, items, inventory=Inventory(None, (package,)))

    finding = only_finding(audit, "HB-PERM-001")
    assert finding.severity is Severity.MEDIUM
    assert finding.package == "helper-tools"
    assert finding.evidence == {
        "path": "/usr/bin/helper",
        "mode": "4755",
        "uid": 0,
        "gid": 0,
        "user": "root",
        "group": "root",
        "package": "helper-tools",
        "setuid": True,
        "setgid": False,
    }


def test_setgid_file_names_its_group(tmp_path: Path) -> None:
    items = {**BASE, "/usr/sbin/checker": Item(b"\x7fELF\0", mode=0o2755, gid=42)}
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-PERM-001")
    assert finding.evidence["setgid"] is True
    assert finding.evidence["setuid"] is False
    assert finding.evidence["group"] == "shadow"
    assert finding.package is None


def test_owner_found_through_merged_usr_link(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/bin": Item(link="usr/bin"),
        "/usr/bin/helper": Item(b"\x7fELF\0", mode=0o4755),
    }
    # dpkg records the path the package shipped, before /bin became a link.
    package = Package("helper-tools", "1.0-1", "deb", files=("/bin/helper",))
    audit = run_audit(tmp_path, items, inventory=Inventory(None, (package,)))

    assert only_finding(audit, "HB-PERM-001").package == "helper-tools"


def test_ineffective_set_id_bits_are_not_reported(tmp_path: Path) -> None:
    items = {
        **BASE,
        # setgid without group execute marks mandatory locking; setuid needs an execute bit.
        "/srv/locked.db": Item(b"data", mode=0o2644),
        "/srv/not-executable": Item(b"data", mode=0o4644),
        "/srv/setgid-folder": Item(mode=0o2775, directory=True),
    }
    audit = run_audit(tmp_path, items)

    assert findings_of(audit, "HB-PERM-001") == []


def test_world_writable_folder_without_sticky_bit(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/srv/upload": Item(mode=0o777, uid=1000, gid=1000, directory=True),
        "/tmp": Item(mode=0o1777, directory=True),
    }
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-PERM-003")
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["path"] == "/srv/upload"
    assert finding.evidence["mode"] == "0777"
    assert finding.evidence["user"] == "app"


def test_world_writable_file(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/etc/app.conf": Item(b"debug = false\n", mode=0o666),
        "/etc/app.link": Item(link="app.conf", mode=0o777),
    }
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-PERM-002")
    assert finding.evidence["path"] == "/etc/app.conf"
    assert finding.evidence["mode"] == "0666"
    assert audit.summary.world_writable == 1


# --- tools on the command path ----------------------------------------------


def test_tools_found_through_links(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/bin": Item(link="usr/bin"),
        "/usr/bin/dash": Item(b"\x7fELF\0", mode=0o755),
        "/usr/bin/sh": Item(link="dash"),
        "/usr/bin/sudo": Item(b"\x7fELF\0", mode=0o4755),
        "/usr/local/bin/pip3.11": Item(b"#!/usr/bin/python3\n", mode=0o755),
        "/usr/bin/zsh": Item(link="/opt/missing/zsh"),
    }
    audit = run_audit(tmp_path, items)

    shells = only_finding(audit, "HB-TOOL-001")
    assert shells.severity is Severity.LOW
    assert [(t["path"], t["target"]) for t in shells.evidence["tools"]] == [
        ("/usr/bin/dash", "/usr/bin/dash"),
        ("/usr/bin/sh", "/usr/bin/dash"),
    ]
    managers = only_finding(audit, "HB-TOOL-002")
    assert [t["name"] for t in managers.evidence["tools"]] == ["pip3.11"]
    privilege = only_finding(audit, "HB-TOOL-003")
    assert privilege.evidence["tools"][0]["setuid"] is True
    assert audit.summary.shells == ("/usr/bin/dash", "/usr/bin/sh")


# --- caches and documentation -----------------------------------------------


def test_package_caches_with_sizes(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/var/cache/apt/archives/curl_8.0_amd64.deb": b"d" * 3000,
        "/var/cache/apt/archives/lock": b"",
        "/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease": b"l" * 2000,
        "/root/.cache/pip/http-v2/a/b": b"p" * 500,
        "/home/app/.cache/pip/wheels/x.whl": b"w" * 100,
    }
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-SIZE-001")
    assert finding.severity is Severity.LOW
    assert finding.evidence["total_bytes"] == 5600
    sizes = {(loc["path"], loc["files"], loc["bytes"]) for loc in finding.evidence["locations"]}
    assert sizes == {
        ("/var/cache/apt", 2, 3000),
        ("/var/lib/apt/lists", 1, 2000),
        ("/root/.cache/pip", 1, 500),
        ("/home/*/.cache/pip", 1, 100),
    }
    assert audit.summary.cache_bytes == 5600


def test_documentation_size_keeps_copyright_and_c_locale(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/usr/share/doc/curl/changelog.gz": b"c" * 700,
        "/usr/share/doc/curl/copyright": b"license text " * 50,
        "/usr/share/man/man1/curl.1.gz": b"m" * 300,
        "/usr/share/locale/de/LC_MESSAGES/curl.mo": b"l" * 200,
        "/usr/lib/locale/C.utf8/LC_CTYPE": b"k" * 4000,
    }
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-SIZE-002")
    assert finding.severity is Severity.NEGLIGIBLE
    assert finding.evidence["total_bytes"] == 1200
    assert "1.2 KiB could be saved" in finding.title


def test_empty_caches_are_not_reported(tmp_path: Path) -> None:
    items = {**BASE, "/var/lib/apt/lists/lock": b"", "/var/cache/apk": Item(directory=True)}
    audit = run_audit(tmp_path, items)

    assert findings_of(audit, "HB-SIZE-001") == []


# --- overall ----------------------------------------------------------------


def test_hardened_image_has_no_medium_or_worse(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/usr/bin/app": Item(b"\x7fELF\0", mode=0o755),
        "/tmp": Item(mode=0o1777, directory=True),
        "/usr/share/doc/app/copyright": b"license text",
    }
    audit = run_audit(tmp_path, items, config=ImageConfig(user="app", env=("PATH=/usr/bin",)))

    assert [f.rule_id for f in audit.findings] == []
    assert audit.summary.findings_by_severity["medium"] == 0


def test_findings_ordered_most_severe_first(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/etc/shadow": asset("shadow.empty-hash"),
        "/usr/bin/helper": Item(b"\x7fELF\0", mode=0o4755),
        "/usr/bin/sh": Item(b"\x7fELF\0", mode=0o755),
    }
    audit = run_audit(tmp_path, items, config=ImageConfig(user="root"))

    severities = [f.severity for f in audit.findings]
    assert severities == sorted(severities, reverse=True)
    assert severities[0] is Severity.HIGH
    assert audit.summary.findings_by_severity["high"] == 2


# --- credentials in files ---------------------------------------------------


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Private keys made for these tests: RSA (traditional PEM) and OpenSSH, clear and encrypted."""
    folder = tmp_path_factory.mktemp("keys")
    _run(["openssl", "genrsa", "-traditional", "-out", str(folder / "rsa.pem"), "1024"])
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "clear"), "-C", ""])
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pass phrase", "-f", str(folder / "locked")])
    return {name: (folder / name).read_bytes() for name in ("rsa.pem", "clear", "locked")}


def key_body(pem: bytes) -> str:
    """A line of the key's base64 body: text that must never reach a finding."""
    return pem.decode().splitlines()[2]


def test_rsa_key_found_under_a_harmless_name(tmp_path: Path, keys: dict[str, bytes]) -> None:
    items = {**BASE, "/opt/app/config.txt": b"# settings\nname = demo\n" + keys["rsa.pem"]}
    audit = run_audit(tmp_path, items)

    finding = only_finding(audit, "HB-SECRET-001")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["path"] == "/opt/app/config.txt"
    assert finding.evidence["line"] == 3
    assert finding.evidence["kind"] == "rsa-private-key"
    assert finding.evidence["encrypted"] is False
    assert finding.evidence["match"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert key_body(keys["rsa.pem"]) not in rendered(finding)
    assert audit.summary.secrets == 1


def test_openssh_keys_clear_and_encrypted(tmp_path: Path, keys: dict[str, bytes]) -> None:
    items = {
        **BASE,
        "/home/app/.ssh/id_ed25519": keys["clear"],
        "/root/backup/key": keys["locked"],
    }
    audit = run_audit(tmp_path, items)

    by_path = {f.evidence["path"]: f for f in findings_of(audit, "HB-SECRET-001")}
    clear = by_path["/home/app/.ssh/id_ed25519"]
    assert clear.evidence["kind"] == "openssh-private-key"
    assert clear.evidence["encrypted"] is False
    assert clear.severity is Severity.HIGH
    locked = by_path["/root/backup/key"]
    assert locked.evidence["encrypted"] is True
    assert locked.severity is Severity.MEDIUM


def test_key_in_binary_file_is_skipped(tmp_path: Path, keys: dict[str, bytes]) -> None:
    items = {**BASE, "/usr/lib/libdemo.so.1": b"\x7fELF\x02\x01\x01\0" + keys["rsa.pem"]}
    audit = run_audit(tmp_path, items)

    assert findings_of(audit, "HB-SECRET-001") == []
    assert audit.summary.binary_files_skipped >= 1


def test_key_beyond_read_limit_is_not_found(tmp_path: Path, keys: dict[str, bytes]) -> None:
    items = {**BASE, "/opt/app/big.txt": b"x" * 5000 + b"\n" + keys["rsa.pem"]}

    assert findings_of(run_audit(tmp_path, items, read_limit=4096), "HB-SECRET-001") == []
    assert len(findings_of(run_audit(tmp_path, items, read_limit=8192), "HB-SECRET-001")) == 1


def test_packaged_test_key_is_low(tmp_path: Path, keys: dict[str, bytes]) -> None:
    path = "/usr/lib/python3/dist-packages/demo/tests/keycert.pem"
    items = {**BASE, path: keys["rsa.pem"]}
    package = Package("python3-demo", "1.0-1", "deb", files=(path,))
    audit = run_audit(tmp_path, items, inventory=Inventory(None, (package,)))

    finding = only_finding(audit, "HB-SECRET-001")
    assert finding.severity is Severity.LOW
    assert finding.package == "python3-demo"
    assert finding.evidence["package_test_data"] is True


def test_pem_header_alone_is_ignored(tmp_path: Path) -> None:
    source = b'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    kind = "rsa"\n'
    audit = run_audit(tmp_path, {**BASE, "/usr/lib/python3/keyloader.py": source})

    assert findings_of(audit, "HB-SECRET-001") == []


def aws_credentials() -> tuple[str, str, bytes]:
    key_id = "AKIA" + "Q3EGRIT4HNXZ5MPL"
    secret = "kR8vTq2" + "Zp9XbWm4LcYs7NfHd3JgEa6UuVo1Ri5T/"
    text = f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    return key_id, secret, text.encode()


def test_aws_credentials_file(tmp_path: Path) -> None:
    key_id, secret, content = aws_credentials()
    audit = run_audit(tmp_path, {**BASE, "/root/.aws/credentials": content})

    found = findings_of(audit, "HB-SECRET-002")
    assert [f.evidence["kind"] for f in found] == ["aws-access-key-id", "aws-secret-access-key"]
    assert [f.evidence["line"] for f in found] == [2, 3]
    assert all(f.severity is Severity.CRITICAL for f in found)
    assert found[0].evidence["match"] == "AKIA****"
    for finding in found:
        assert key_id[4:] not in rendered(finding)
        assert secret not in rendered(finding)


def test_aws_documentation_example_key_is_ignored(tmp_path: Path) -> None:
    content = b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
    audit = run_audit(tmp_path, {**BASE, "/usr/share/doc/boto/README": content})

    assert findings_of(audit, "HB-SECRET-002") == []


def test_gcp_service_account_reported_once(tmp_path: Path, keys: dict[str, bytes]) -> None:
    document = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef",
        "private_key": keys["rsa.pem"].decode(),
        "client_email": "builder@demo-project.iam.gserviceaccount.com",
    }
    content = json.dumps(document, indent=2).encode()
    audit = run_audit(tmp_path, {**BASE, "/srv/app/creds.json": content})

    finding = only_finding(audit, "HB-SECRET-003")
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["client_email"] == "builder@demo-project.iam.gserviceaccount.com"
    assert finding.evidence["project_id"] == "demo-project"
    assert findings_of(audit, "HB-SECRET-001") == []
    assert key_body(keys["rsa.pem"]) not in rendered(finding)


def test_docker_config_with_registry_auth(tmp_path: Path) -> None:
    content = asset("docker-config.auths.json")
    audit = run_audit(tmp_path, {**BASE, "/root/.docker/config.json": content})

    finding = only_finding(audit, "HB-SECRET-004")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["registries"] == ["registry.internal.example"]
    assert "YnVpbGRlcjpyM2dpc3RyeVMzY3JldA" not in rendered(finding)


def test_netrc_password(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, {**BASE, "/root/.netrc": asset("netrc.password")})

    finding = only_finding(audit, "HB-SECRET-005")
    assert finding.evidence["machine"] == "artifacts.internal.example"
    assert finding.evidence["line"] == 4
    assert "n3tRcS3cr3tValue" not in rendered(finding)


def test_git_credentials_url(tmp_path: Path) -> None:
    content = asset("git-credentials.password")
    audit = run_audit(tmp_path, {**BASE, "/home/app/.git-credentials": content})

    finding = only_finding(audit, "HB-SECRET-006")
    assert finding.evidence["host"] == "git.internal.example"
    assert finding.evidence["match"] == "https://****:****@git.internal.example"
    assert "gitCr3dS3cret" not in rendered(finding)


def test_urls_with_passwords_in_prose_are_not_credentials(tmp_path: Path) -> None:
    content = asset("README.urls-in-prose")
    audit = run_audit(tmp_path, {**BASE, "/usr/share/doc/apt/README": content})

    assert findings_of(audit, "HB-SECRET-006") == []


def test_forge_and_slack_tokens(tmp_path: Path) -> None:
    github = "ghp_" + "k3Jd8sLq0Wz5Xc7Vb2Nm4Aa6Ss9Dd1Ff0Gg2"
    gitlab = "glpat-" + "Xy7Kq2Lm9Np4Rs6Tu8Vw"
    slack = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
    content = f"GITHUB={github}\nGITLAB={gitlab}\nSLACK={slack}\n".encode()
    audit = run_audit(tmp_path, {**BASE, "/srv/app/.env": content})

    forge = findings_of(audit, "HB-SECRET-007")
    assert [f.evidence["kind"] for f in forge] == ["github-token", "gitlab-token"]
    assert [f.evidence["match"] for f in forge] == ["ghp_****", "glpat-****"]
    assert forge[0].severity is Severity.CRITICAL
    chat = only_finding(audit, "HB-SECRET-008")
    assert chat.evidence["match"] == "xoxb-****"
    assert chat.evidence["line"] == 3
    for finding in [*forge, chat]:
        for token in (github, gitlab, slack):
            assert token not in rendered(finding)


def test_hostile_content_does_not_crash(tmp_path: Path) -> None:
    items = {
        **BASE,
        "/srv/deep.json": b'{"auths": ' + b"[" * 50000 + b"]" * 50000 + b"}",
        "/srv/long-line.txt": b"a" * 60000 + b"://user:pw@host\n",
        "/srv/headers.pem": b"-----BEGIN RSA PRIVATE KEY-----\n" + b"Header: value\n" * 4000,
    }
    audit = run_audit(tmp_path, items)

    assert [f.rule_id for f in audit.findings if f.rule_id.startswith("HB-SECRET")] == []
    assert audit.summary.files_searched == 6


# --- credentials in the image configuration ---------------------------------


def test_env_secret_is_redacted(tmp_path: Path) -> None:
    config = ImageConfig(
        user="1000",
        env=(
            "PATH=/usr/local/bin:/usr/bin",
            "DB_PASSWORD=s3cr3t-Db-Pa55",
            "DB_PASSWORD_FILE=/run/secrets/db",
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
            "TOKENIZERS_PARALLELISM=false",
            "EMPTY_TOKEN=",
        ),
    )
    audit = run_audit(tmp_path, BASE, config=config)

    finding = only_finding(audit, "HB-SECRET-010")
    assert finding.severity is Severity.HIGH
    assert finding.evidence["variable"] == "DB_PASSWORD"
    assert finding.evidence["value"] == "(redacted)"
    assert "s3cr3t-Db-Pa55" not in rendered(finding)


def test_env_token_value_is_recognized(tmp_path: Path) -> None:
    key_id, _, _ = aws_credentials()
    config = ImageConfig(user="1000", env=(f"AWS_ACCESS_KEY_ID={key_id}",))
    audit = run_audit(tmp_path, BASE, config=config)

    finding = only_finding(audit, "HB-SECRET-002")
    assert finding.evidence["source"] == "config Env"
    assert finding.evidence["variable"] == "AWS_ACCESS_KEY_ID"
    assert key_id not in rendered(finding)
    assert findings_of(audit, "HB-SECRET-010") == []


def test_build_argument_in_history(tmp_path: Path) -> None:
    history = (
        "/bin/sh -c #(nop) ADD file:abc in /",
        "RUN |1 NPM_TOKEN=npm-0a1b2c3d4e5f /bin/sh -c npm ci",
        'RUN /bin/sh -c echo "$API_TOKEN" > /dev/null',
    )
    audit = run_audit(tmp_path, BASE, config=ImageConfig(user="1000", history=history))

    finding = only_finding(audit, "HB-SECRET-011")
    assert finding.evidence["step"] == 2
    assert finding.evidence["variable"] == "NPM_TOKEN"
    assert "npm-0a1b2c3d4e5f" not in rendered(finding)


def test_url_with_password_in_env(tmp_path: Path) -> None:
    config = ImageConfig(user="1000", env=("DATABASE_URL=postgres://app:pgS3cret@db:5432/app",))
    audit = run_audit(tmp_path, BASE, config=config)

    finding = only_finding(audit, "HB-SECRET-006")
    assert finding.evidence["host"] == "db"
    assert "pgS3cret" not in rendered(finding)


def test_docker_config_asset_has_auth() -> None:
    # The redaction test of this asset means something only if it contains credentials.
    document = json.loads(asset("docker-config.auths.json"))
    auth = document["auths"]["registry.internal.example"]["auth"]
    assert base64.b64decode(auth) == b"builder:r3gistryS3cret"


def test_oci_image_config_end_to_end(tmp_path: Path) -> None:
    imagebuild = pytest.importorskip("imagebuild", reason="tests/imagebuild.py builds OCI layouts")
    layer = [
        imagebuild.file("etc/passwd", asset("passwd.app-user")),
        imagebuild.file("etc/group", asset("group.app-user")),
    ]
    diff_id = imagebuild.sha256(imagebuild.layer_tar(layer))
    config = imagebuild.image_config([diff_id])
    config["config"] = {"User": "root", "Env": ["PATH=/usr/bin", "DB_PASSWORD=oci-Pa55word"]}
    config["history"] = [{"created_by": "RUN |1 GITHUB_TOKEN=ci-build-token /bin/sh -c make"}]
    imagebuild.write_oci_layout(tmp_path / "layout", [layer], config=config)

    with open_image(f"oci:{tmp_path / 'layout'}:latest") as image:
        audit = audit_image(image, read_inventory(image.fs))

    assert only_finding(audit, "HB-USER-001").evidence["user"] == "root"
    env = only_finding(audit, "HB-SECRET-010")
    assert env.evidence["variable"] == "DB_PASSWORD"
    history = only_finding(audit, "HB-SECRET-011")
    assert history.evidence["variable"] == "GITHUB_TOKEN"
    for finding in audit.findings:
        assert "oci-Pa55word" not in rendered(finding)
        assert "ci-build-token" not in rendered(finding)
