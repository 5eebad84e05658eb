"""Read-only views of an image's root filesystem.

Paths inside a view are absolute POSIX strings such as ``/etc/passwd``.
Every lookup resolves symbolic links the way a process chrooted into the
image would: ``..`` stops at the root and absolute link targets start at the
image root, so no lookup can reach a host path outside the image.
"""

from __future__ import annotations

import enum
import errno
import io
import logging
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hardbase.errors import ImageError
from hardbase.image.content import BlobRef, ContentStore

logger = logging.getLogger(__name__)

#: Symbolic links followed in one lookup before it fails, as Linux's own limit.
MAX_SYMLINK_HOPS = 40


class FileType(enum.Enum):
    """Kind of a filesystem entry, as tar and stat name them."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    CHAR_DEVICE = "char-device"
    BLOCK_DEVICE = "block-device"
    FIFO = "fifo"
    SOCKET = "socket"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a merged root filesystem."""

    path: str
    """Absolute path inside the image, such as ``/usr/bin/su``."""
    type: FileType
    mode: int
    """Permission bits including setuid, setgid and sticky (``stat.S_IMODE``)."""
    uid: int
    gid: int
    size: int
    """Size in bytes of a regular file's content, 0 for other types."""
    link_target: str | None = None
    """Target of a symbolic link, exactly as stored."""
    mtime: int = 0
    device: tuple[int, int] | None = None
    """Major and minor number of a character or block device, None for other types."""

    @property
    def is_file(self) -> bool:
        return self.type is FileType.FILE

    @property
    def is_dir(self) -> bool:
        return self.type is FileType.DIRECTORY

    @property
    def is_symlink(self) -> bool:
        return self.type is FileType.SYMLINK


def normalize(path: str) -> str:
    """Return ``path`` as an absolute path with ``.``, ``..`` and repeated slashes folded.

    ``..`` at the root stays at the root, as it does for a chrooted process.
    """
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def parent_of(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def join(parent: str, name: str) -> str:
    return parent + name if parent == "/" else f"{parent}/{name}"


class FilesystemView(ABC):
    """A root filesystem that can be listed and read but never changed."""

    #: Text that names the image in error messages, such as ``oci:/srv/base:1.0``.
    label: str = "image"

    @abstractmethod
    def _lstat_literal(self, path: str) -> FileEntry | None:
        """Return the entry at ``path`` whose parent folders contain no symbolic link."""

    @abstractmethod
    def _open_literal(self, entry: FileEntry) -> BinaryIO:
        """Open the content of a regular file entry returned by ``_lstat_literal``."""

    @abstractmethod
    def _list_literal(self, path: str) -> list[str]:
        """Return the names in the folder at ``path``, sorted."""

    @abstractmethod
    def walk(self) -> Iterator[FileEntry]:
        """Yield every entry of the filesystem except the root, in path order.

        Path order is depth-first with the names of each folder sorted, so a
        folder comes right before its content (``/a``, ``/a/b``, ``/a.b``).
        Symbolic links are yielded, never followed.
        """

    def resolve(self, path: str, *, follow_last: bool = True) -> str | None:
        """Return the canonical path of ``path``, or None when a component is missing.

        Raises ImageError when links loop or pass through a non-folder.
        """
        pending = [p for p in path.split("/") if p not in ("", ".")]
        pending.reverse()
        current = "/"
        hops = 0
        while pending:
            name = pending.pop()
            if name == "..":
                current = parent_of(current)
                continue
            candidate = join(current, name)
            entry = self._lstat_literal(candidate)
            if entry is None:
                return None
            if entry.is_symlink and (pending or follow_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise ImageError(
                        f"{self.label}: too many levels of symbolic links at {path!r}",
                        hint="the image contains a link loop; fix the links in the image",
                    )
                target = entry.link_target or ""
                if target.startswith("/"):
                    current = "/"
                target_parts = [p for p in target.split("/") if p not in ("", ".")]
                pending.extend(reversed(target_parts))
                continue
            if pending and not entry.is_dir:
                return None
            current = candidate
        return current

    def lstat(self, path: str) -> FileEntry | None:
        """Return the entry at ``path`` without following a final symbolic link."""
        canonical = self.resolve(path, follow_last=False)
        if canonical is None:
            return None
        if canonical == "/":
            return FileEntry("/", FileType.DIRECTORY, 0o755, 0, 0, 0)
        return self._lstat_literal(canonical)

    def stat(self, path: str) -> FileEntry | None:
        """Return the entry at ``path``, following symbolic links inside the image."""
        canonical = self.resolve(path)
        if canonical is None:
            return None
        if canonical == "/":
            return FileEntry("/", FileType.DIRECTORY, 0o755, 0, 0, 0)
        return self._lstat_literal(canonical)

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def is_file(self, path: str) -> bool:
        entry = self.stat(path)
        return entry is not None and entry.is_file

    def is_dir(self, path: str) -> bool:
        entry = self.stat(path)
        return entry is not None and entry.is_dir

    def open(self, path: str) -> BinaryIO:
        """Open a regular file for reading; raises FileNotFoundError or IsADirectoryError."""
        entry = self.stat(path)
        if entry is None:
            raise FileNotFoundError(errno.ENOENT, "not found in the image", path)
        if not entry.is_file:
            raise IsADirectoryError(errno.EISDIR, "not a regular file", path)
        return self._open_literal(entry)

    def read_bytes(self, path: str, limit: int | None = None) -> bytes:
        """Return the content of a regular file, at most ``limit`` bytes when given."""
        with self.open(path) as handle:
            return handle.read() if limit is None else handle.read(limit)

    def read_text(self, path: str, limit: int | None = None) -> str:
        """Return a file's content decoded as UTF-8, with undecodable bytes replaced."""
        return self.read_bytes(path, limit).decode("utf-8", errors="replace")

    def listdir(self, path: str) -> list[str]:
        """Return the sorted names in a folder, following links; [] when it is missing."""
        canonical = self.resolve(path)
        if canonical is None:
            return []
        if canonical != "/":
            entry = self._lstat_literal(canonical)
            if entry is None or not entry.is_dir:
                return []
        return self._list_literal(canonical)

    def glob_dir(self, path: str, suffix: str = "") -> list[str]:
        """Return the paths of regular files in a folder whose names end with ``suffix``."""
        canonical = self.resolve(path)
        if canonical is None:
            return []
        found = []
        for name in self.listdir(canonical):
            if name.endswith(suffix):
                child = join(canonical, name)
                if self.is_file(child):
                    found.append(child)
        return found


class TreeView(FilesystemView):
    """A view over a merged index of layer entries whose file content lies in a pack file.

    The index maps each path to its entry and, for regular files, to the place
    of its content in the work folder's pack file, so no path from the image
    ever becomes a host path.
    """

    def __init__(
        self,
        entries: dict[str, FileEntry],
        children: dict[str, set[str]],
        blobs: dict[str, BlobRef],
        store: ContentStore,
        label: str,
    ) -> None:
        self._entries = entries
        self._children = children
        self._blobs = blobs
        self._store = store
        self.label = label

    def _lstat_literal(self, path: str) -> FileEntry | None:
        return self._entries.get(path)

    def _open_literal(self, entry: FileEntry) -> BinaryIO:
        blob = self._blobs.get(entry.path)
        if blob is None:
            # An empty regular file has no content in the pack file.
            return io.BytesIO(b"")
        return self._store.open(blob)

    def _list_literal(self, path: str) -> list[str]:
        return sorted(self._children.get(path, ()))

    def walk(self) -> Iterator[FileEntry]:
        stack = [iter(self._list_literal("/"))]
        folders = ["/"]
        while stack:
            name = next(stack[-1], None)
            if name is None:
                stack.pop()
                folders.pop()
                continue
            path = join(folders[-1], name)
            entry = self._entries[path]
            yield entry
            if entry.is_dir:
                stack.append(iter(self._list_literal(path)))
                folders.append(path)

    def __len__(self) -> int:
        return len(self._entries)


def _entry_from_stat(path: str, st: os.stat_result, link_target: str | None) -> FileEntry:
    fmt = stat.S_IFMT(st.st_mode)
    kind = {
        stat.S_IFREG: FileType.FILE,
        stat.S_IFDIR: FileType.DIRECTORY,
        stat.S_IFLNK: FileType.SYMLINK,
        stat.S_IFCHR: FileType.CHAR_DEVICE,
        stat.S_IFBLK: FileType.BLOCK_DEVICE,
        stat.S_IFIFO: FileType.FIFO,
        stat.S_IFSOCK: FileType.SOCKET,
    }[fmt]
    is_device = kind in (FileType.CHAR_DEVICE, FileType.BLOCK_DEVICE)
    return FileEntry(
        path=path,
        type=kind,
        mode=stat.S_IMODE(st.st_mode),
        uid=st.st_uid,
        gid=st.st_gid,
        size=st.st_size if kind is FileType.FILE else 0,
        link_target=link_target,
        mtime=int(st.st_mtime),
        device=(os.major(st.st_rdev), os.minor(st.st_rdev)) if is_device else None,
    )


class HostDirView(FilesystemView):
    """A view over an unpacked root filesystem in a host folder, read in place.

    Lookups never let the host resolve a link: each component is checked with
    ``lstat`` and links are resolved by ``FilesystemView.resolve`` inside the root.
    """

    def __init__(self, root: Path, label: str) -> None:
        self._root = root
        self.label = label

    def _host(self, path: str) -> str:
        return os.fspath(self._root) + path

    def _lstat_literal(self, path: str) -> FileEntry | None:
        try:
            st = os.lstat(self._host(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise ImageError(
                f"{self.label}: cannot read {path!r}: {error.strerror}",
                hint="check the folder's permissions",
            ) from error
        target = os.readlink(self._host(path)) if stat.S_ISLNK(st.st_mode) else None  # noqa: PTH115
        return _entry_from_stat(path, st, target)

    def _open_literal(self, entry: FileEntry) -> BinaryIO:
        # O_NOFOLLOW: the last component was checked to be a regular file, and
        # must not have turned into a link since.
        fd = os.open(self._host(entry.path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        return os.fdopen(fd, "rb")

    def _list_literal(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self._host(path)))  # noqa: PTH208
        except OSError:
            return []

    def walk(self) -> Iterator[FileEntry]:
        stack = [iter(self._scan("/"))]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            yield item
            if item.is_dir:
                stack.append(iter(self._scan(item.path)))

    def _scan(self, folder: str) -> list[FileEntry]:
        """Return the entries of one host folder sorted by name, skipping what vanished."""
        try:
            scanned = sorted(os.scandir(self._host(folder)), key=lambda item: item.name)
        except OSError as error:
            logger.warning("%s: skipped unreadable folder %r: %s", self.label, folder, error)
            return []
        entries = []
        for item in scanned:
            path = join(folder, item.name)
            try:
                st = item.stat(follow_symlinks=False)
                target = os.readlink(item.path) if stat.S_ISLNK(st.st_mode) else None  # noqa: PTH115
            except OSError as error:
                logger.warning("%s: skipped unreadable entry %r: %s", self.label, path, error)
                continue
            entries.append(_entry_from_stat(path, st, target))
        return entries
