"""The hardening pass on a real bookworm minbase tree: pruning, stripping, setuid, accounts."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from hardbase.build.accounts import apply_accounts
from hardbase.build.harden import clear_setid, harden, package_epoch
from hardbase.build.prune import closure, prune, read_status
from hardbase.build.rootfs import resolve, write_file
from hardbase.build.spec import Flavour, Hardening, parse_spec

pytestmark = [pytest.mark.slow, pytest.mark.network]

EPOCH = 1_700_000_000


@pytest.fixture
def tree(bookworm_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the bookworm minbase root filesystem."""
    root = tmp_path / "rootfs"
    shutil.copytree(bookworm_dir, root, symlinks=True, ignore=_special_files)
    return root


def _special_files(folder: str, names: list[str]) -> set[str]:
    # Device nodes under /dev would be opened and read as if they were files.
    return {
        name
        for name in names
        if not stat.S_ISREG(mode := (Path(folder) / name).lstat().st_mode)
        and not stat.S_ISDIR(mode)
        and not stat.S_ISLNK(mode)
    }


def _status_names(root: Path) -> set[str]:
    _, installed = read_status(root)
    return set(installed)


def test_closure_follows_pre_depends(bookworm_dir: Path) -> None:
    _, installed = read_status(bookworm_dir)
    kept = closure(["coreutils"], installed, frozenset())
    assert {"coreutils", "libc6", "libacl1"} <= kept
    assert "apt" not in kept


def test_closure_skips_excluded_alternatives(bookworm_dir: Path) -> None:
    _, installed = read_status(bookworm_dir)
    kept = closure(["apt"], installed, frozenset({"debconf"}))
    assert "apt" in kept
    assert "debconf" not in kept


def test_prune_removes_files_and_stanzas(tree: Path) -> None:
    result = prune(tree, ["coreutils"], frozenset())
    names = _status_names(tree)
    assert "apt" in result.removed
    assert "apt" not in names
    assert {"coreutils", "base-files", "libc6"} <= names
    assert not resolve(tree, "/usr/bin/apt").exists()
    assert resolve(tree, "/usr/bin/ls").is_file()
    assert not list((tree / "var/lib/dpkg/info").glob("apt.*"))


def test_prune_keeps_files_shared_with_kept(tree: Path) -> None:
    prune(tree, ["coreutils"], frozenset())
    # /usr/bin is listed by removed packages too, but kept packages own files in it.
    assert resolve(tree, "/usr/bin").is_dir()
    assert resolve(tree, "/etc/os-release").exists()


def test_runtime_flavour_removes_shells(tree: Path) -> None:
    report = harden(tree, Hardening(flavour=Flavour.RUNTIME), ("libc6",))
    assert report.prune is not None
    names = _status_names(tree)
    assert not names & {"bash", "dash", "dpkg", "apt", "debconf"}
    assert resolve(tree, "/usr/bin/sh").exists() is False
    assert not (tree / "etc" / "apt").exists()
    assert (tree / "var/lib/dpkg/status").is_file()


def test_runtime_flavour_keeps_listed_shell(tree: Path) -> None:
    harden(tree, Hardening(flavour=Flavour.RUNTIME), ("libc6", "dash"))
    assert "dash" in _status_names(tree)


def test_strip_docs_keeps_copyright(tree: Path) -> None:
    changelog = tree / "usr/share/doc/apt/changelog.gz"
    changelog.parent.mkdir(parents=True, exist_ok=True)
    changelog.write_bytes(b"x")
    harden(tree, Hardening(), ())
    assert not changelog.exists()
    assert (tree / "usr/share/doc/apt/copyright").is_file()


def test_strip_caches_and_host_files(tree: Path) -> None:
    (tree / "var/lib/apt/lists/example_InRelease").write_text("Date: x\n")
    (tree / "etc/resolv.conf").write_text("nameserver 127.0.0.1\n")
    harden(tree, Hardening(), ())
    assert not (tree / "var/lib/apt/lists/example_InRelease").exists()
    assert (tree / "var/lib/apt/lists").is_dir()
    assert not os.path.lexists(tree / "etc/resolv.conf")


def test_locales_kept_as_listed(tree: Path) -> None:
    for name in ("de", "de_AT", "fr"):
        folder = tree / "usr/share/locale" / name / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "x.mo").write_bytes(b"x")
    harden(tree, Hardening(keep_locales=("de",)), ())
    assert (tree / "usr/share/locale/de_AT/LC_MESSAGES/x.mo").exists()
    assert not (tree / "usr/share/locale/fr").exists()


def test_setuid_cleared_except_allowlist(tree: Path) -> None:
    cleared = clear_setid(tree, frozenset({"/usr/bin/su"}))
    assert "/usr/bin/passwd" in cleared
    assert not resolve(tree, "/usr/bin/passwd").stat().st_mode & stat.S_ISUID
    assert resolve(tree, "/usr/bin/su").stat().st_mode & stat.S_ISUID


def test_accounts_written_with_home(tree: Path) -> None:
    spec = parse_spec(
        {
            "name": "accounts",
            "groups": [{"name": "app", "gid": 2000}],
            "users": [{"name": "nonroot", "uid": 1000, "groups": ["app"]}],
            "paths": [{"path": "/srv/data", "owner": "nonroot", "mode": "0700"}],
        },
        "inline",
    )
    apply_accounts(tree, spec, EPOCH, "inline")
    passwd = (tree / "etc/passwd").read_text().splitlines()
    assert "nonroot:x:1000:1000::/home/nonroot:/usr/sbin/nologin" in passwd
    group = (tree / "etc/group").read_text().splitlines()
    assert "app:x:2000:nonroot" in group
    assert f"nonroot:!:{EPOCH // 86400}:0:99999:7:::" in (tree / "etc/shadow").read_text()
    data = (tree / "srv/data").stat()
    assert (data.st_uid, stat.S_IMODE(data.st_mode)) == (1000, 0o700)


def test_existing_account_name_rejected(tree: Path) -> None:
    spec = parse_spec({"name": "clash", "users": [{"name": "daemon", "uid": 1000}]}, "inline")
    with pytest.raises(Exception, match="already exists"):
        apply_accounts(tree, spec, EPOCH, "inline")


def test_package_epoch_from_copyright_times(bookworm_dir: Path) -> None:
    epoch = package_epoch(bookworm_dir)
    assert epoch is not None
    copyright_time = int((bookworm_dir / "usr/share/doc/libc6/copyright").lstat().st_mtime)
    assert epoch >= copyright_time


def test_resolve_stays_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "escape").symlink_to("/../../../../tmp")
    target = resolve(root, "/etc/escape/file")
    assert target == root / "tmp" / "file"


def test_write_file_replaces_link_not_target(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.write_text("keep")
    (root / "etc" / "passwd").symlink_to(outside)
    write_file(root, "/etc/passwd", b"root:x:0:0::/root:/usr/sbin/nologin\n", 0o644)
    assert outside.read_text() == "keep"
    assert not (root / "etc" / "passwd").is_symlink()
