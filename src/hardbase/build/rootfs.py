"""Safe path handling inside a root filesystem folder on the build host.

The tree comes from mmdebstrap, but its symbolic links are written for the
image: an absolute link such as ``/bin -> usr/bin`` or ``/etc/foo -> /x``
must resolve against the tree, never against the host. Every helper here
resolves links inside the root and refuses to leave it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from hardbase.errors import InputError

#: Links followed while resolving one path before it counts as a loop.
_MAX_LINKS = 40


class RootfsError(InputError):
    """A path in the root filesystem that escapes it or cannot be used."""


def resolve_parent(root: Path, path: str) -> Path:
    """Return the host path of ``path`` with its parent folders resolved inside ``root``.

    The last component is not followed, so the result can be unlinked or
    replaced without touching what a link points to.
    """
    pure = PurePosixPath("/", path)
    parent = resolve(root, str(pure.parent))
    return parent / pure.name if pure.name else parent


def resolve(root: Path, path: str) -> Path:
    """Return the host path that ``path`` names inside ``root``, following links within it."""
    parts = [part for part in PurePosixPath("/", path).parts[1:] if part not in ("", ".")]
    current: list[str] = []
    followed = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if current:
                current.pop()
            continue
        candidate = root.joinpath(*current, part)
        try:
            info = candidate.lstat()
        except FileNotFoundError:
            current.append(part)
            continue
        if stat.S_ISLNK(info.st_mode):
            followed += 1
            if followed > _MAX_LINKS:
                raise RootfsError(f"{path}: too many levels of symbolic links")
            target = PurePosixPath(candidate.readlink())
            if target.is_absolute():
                current = []
            parts = [p for p in target.parts if p not in ("/", "", ".")] + parts
            continue
        current.append(part)
    return root.joinpath(*current)


def write_file(root: Path, path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Write ``data`` to ``path`` inside ``root``, replacing a link or file there.

    The file is written beside its final name and renamed into place.
    """
    host = resolve_parent(root, path)
    host.parent.mkdir(parents=True, exist_ok=True)
    partial = host.with_name(f".{host.name}.hardbase-partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chown(partial, uid, gid)
    partial.chmod(mode)
    if host.is_dir() and not host.is_symlink():
        raise RootfsError(f"{path}: is a folder in the image, cannot write a file there")
    partial.replace(host)


def make_dirs(root: Path, path: str, mode: int, uid: int, gid: int) -> Path:
    """Create the folder ``path`` inside ``root`` and its missing parents (root-owned, 0755).

    The folder itself gets ``mode`` and owner ``uid:gid`` even if it existed.
    """
    pure = PurePosixPath("/", path)
    for ancestor in reversed(pure.parents):
        if str(ancestor) == "/":
            continue
        host = resolve(root, str(ancestor))
        if not host.exists():
            host.mkdir(mode=0o755)
            os.chown(host, 0, 0)
            host.chmod(0o755)
    host = resolve(root, str(pure))
    if host.is_symlink() or (host.exists() and not host.is_dir()):
        raise RootfsError(f"{path}: exists in the image and is not a folder")
    host.mkdir(exist_ok=True)
    os.chown(host, uid, gid)
    host.chmod(mode)
    return host


def remove_tree(host: Path) -> None:
    """Remove ``host`` (file, link or folder) without following links."""
    try:
        info = host.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        for child in host.iterdir():
            remove_tree(child)
        host.rmdir()
    else:
        host.unlink()
