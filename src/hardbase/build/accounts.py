"""Write users, groups and spec paths into a root filesystem, in Python.

Nothing from the image runs: /etc/passwd, /etc/group and their shadow files
are edited as text, so the runtime flavour needs neither a shell nor
``useradd``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hardbase.build.rootfs import make_dirs, resolve, write_file
from hardbase.build.spec import BuildSpec, Group, PathEntry, SpecError, User

logger = logging.getLogger(__name__)

_ROOT_PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\n"  # noqa: S105 - an account line
_ROOT_GROUP = "root:x:0:\n"


def apply_accounts(root: Path, spec: BuildSpec, epoch: int, source: str) -> None:
    """Add the spec's groups and users, their home folders, and the spec's paths."""
    groups = list(spec.groups)
    known_gids = {group.gid for group in groups} | _image_gids(root)
    for user in spec.accounts():
        # A primary group that neither the spec nor the image has gets the user's name.
        if user.primary_gid not in known_gids:
            groups.append(Group(name=user.name, gid=user.primary_gid))
            known_gids.add(user.primary_gid)
    members: dict[str, list[str]] = {}
    for user in spec.accounts():
        for group_name in user.groups:
            members.setdefault(group_name, []).append(user.name)

    has_shadow = resolve(root, "/etc/shadow").is_file()
    has_gshadow = resolve(root, "/etc/gshadow").is_file()
    days = epoch // 86400
    _append(
        root,
        "/etc/group",
        [f"{g.name}:x:{g.gid}:{','.join(members.get(g.name, []))}" for g in groups],
        0o644,
        source,
        _ROOT_GROUP,
    )
    if has_gshadow:
        _append(
            root,
            "/etc/gshadow",
            [f"{g.name}:!::{','.join(members.get(g.name, []))}" for g in groups],
            0o640,
            source,
            "",
            gid=_gid_of(root, "shadow"),
        )
    _append(
        root,
        "/etc/passwd",
        [_passwd_line(user, has_shadow) for user in spec.accounts()],
        0o644,
        source,
        _ROOT_PASSWD,
    )
    if has_shadow:
        _append(
            root,
            "/etc/shadow",
            [f"{user.name}:!:{days}:0:99999:7:::" for user in spec.accounts()],
            0o640,
            source,
            "",
            gid=_gid_of(root, "shadow"),
        )
    for user in spec.accounts():
        make_dirs(root, user.home_dir, 0o750, user.uid, user.primary_gid)
    for entry in spec.paths:
        create_path(root, entry, spec)


def create_path(root: Path, entry: PathEntry, spec: BuildSpec) -> None:
    """Create one folder or file from the spec's ``paths`` with its owner and mode."""
    uid, gid = owner_ids(entry.owner, spec)
    if entry.type == "directory":
        make_dirs(root, entry.path, entry.mode, uid, gid)
        return
    parent = str(Path(entry.path).parent)
    if not resolve(root, parent).is_dir():
        make_dirs(root, parent, 0o755, 0, 0)
    write_file(root, entry.path, (entry.content or "").encode(), entry.mode, uid, gid)


def owner_ids(owner: str, spec: BuildSpec) -> tuple[int, int]:
    """Return (uid, gid) for ``UID:GID`` or a user name from the spec."""
    if ":" in owner:
        uid_text, _, gid_text = owner.partition(":")
        if not uid_text.isdigit() or not gid_text.isdigit():
            raise SpecError(f"owner {owner!r} must be numeric UID:GID or a user name")
        return int(uid_text), int(gid_text)
    for user in spec.accounts():
        if user.name == owner:
            return user.uid, user.primary_gid
    raise SpecError(f"owner {owner!r} names no user in users")


def _passwd_line(user: User, has_shadow: bool) -> str:
    password = "x" if has_shadow else "*"
    return f"{user.name}:{password}:{user.uid}:{user.primary_gid}::{user.home_dir}:{user.shell}"


def _append(
    root: Path,
    path: str,
    lines: list[str],
    mode: int,
    source: str,
    initial: str,
    gid: int = 0,
) -> None:
    host = resolve(root, path)
    existing = host.read_text(encoding="utf-8") if host.is_file() else initial
    taken_names: dict[str, str] = {}
    taken_ids: dict[str, str] = {}
    for line in existing.splitlines():
        fields = line.split(":")
        if len(fields) >= 3:
            taken_names[fields[0]] = line
            taken_ids[fields[2]] = fields[0]
    added: list[str] = []
    for line in lines:
        fields = line.split(":")
        name = fields[0]
        if name in taken_names:
            raise SpecError(
                f"{source}: account {name!r} already exists in {path} of the image",
                hint="choose another name",
            )
        if path in ("/etc/passwd", "/etc/group") and fields[2] in taken_ids:
            raise SpecError(
                f"{source}: id {fields[2]} of {name!r} is already used by "
                f"{taken_ids[fields[2]]!r} in {path} of the image",
                hint="choose another id",
            )
        added.append(line)
    text = existing if existing.endswith("\n") or not existing else existing + "\n"
    text += "".join(line + "\n" for line in added)
    write_file(root, path, text.encode("utf-8"), mode, 0, gid)
    logger.debug("added %d entries to %s", len(added), path)


def _image_gids(root: Path) -> set[int]:
    host = resolve(root, "/etc/group")
    if not host.is_file():
        return set()
    fields = (line.split(":") for line in host.read_text(encoding="utf-8").splitlines())
    return {int(f[2]) for f in fields if len(f) >= 3 and f[2].isdigit()}


def _gid_of(root: Path, group: str) -> int:
    host = resolve(root, "/etc/group")
    if host.is_file():
        for line in host.read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[0] == group and fields[2].isdigit():
                return int(fields[2])
    return 0
