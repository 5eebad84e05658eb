"""Merge image layers into one filesystem index, guarding against hostile tar members.

Each layer is a tar stream applied on top of the layers below it, with OCI
whiteouts: ``.wh.NAME`` deletes NAME from the lower layers and
``.wh..wh..opq`` in a folder hides everything the lower layers put there.
Nothing from a layer is created on the host except regular-file content,
which is copied into numbered blob files inside the work folder; links,
devices and folders exist only as index entries.
"""

from __future__ import annotations

import hashlib
import logging
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hardbase.errors import ImageError
from hardbase.image.fs import FileEntry, FileType, TreeView, join, parent_of

logger = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"

#: Default ceiling on the bytes that one image may unpack into the work folder.
DEFAULT_MAX_UNPACKED_BYTES = 32 * 1024**3

_CHUNK = 1024 * 1024

_TAR_TYPES = {
    tarfile.REGTYPE: FileType.FILE,
    tarfile.AREGTYPE: FileType.FILE,
    tarfile.CONTTYPE: FileType.FILE,
    tarfile.DIRTYPE: FileType.DIRECTORY,
    tarfile.SYMTYPE: FileType.SYMLINK,
    tarfile.CHRTYPE: FileType.CHAR_DEVICE,
    tarfile.BLKTYPE: FileType.BLOCK_DEVICE,
    tarfile.FIFOTYPE: FileType.FIFO,
}


@dataclass
class LayerStats:
    """What one applied layer contained."""

    members: int = 0
    bytes: int = 0
    diff_id: str = ""
    """``sha256:`` digest of the uncompressed layer stream."""


@dataclass
class _Pending:
    """Entries of one layer, applied only when the layer has been read whole."""

    entries: dict[str, FileEntry] = field(default_factory=dict)
    blobs: dict[str, Path] = field(default_factory=dict)
    hardlinks: dict[str, str] = field(default_factory=dict)
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)


class _HashingReader:
    """A read-only stream that hashes and counts what passes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.hash = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.hash.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        """Read to the end, so that the digest covers the whole stream (tar padding)."""
        while self.read(_CHUNK):
            pass


def member_path(name: str, label: str) -> str:
    """Return the absolute in-image path of a tar member name.

    A leading ``/`` or ``./`` is dropped, as GNU tar does on extraction.
    A name whose ``..`` components would climb above the root is rejected.
    """
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ImageError(
                    f"{label}: member {name!r} points outside the image root",
                    hint="the layer is malformed or hostile; rebuild the image from a trusted source",
                )
            parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


class TreeBuilder:
    """Build a merged filesystem index from layers applied in order."""

    def __init__(
        self,
        work_dir: Path,
        label: str,
        max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    ) -> None:
        self._work_dir = work_dir
        self._label = label
        self._max_bytes = max_unpacked_bytes
        self._entries: dict[str, FileEntry] = {}
        self._blobs: dict[str, Path] = {}
        self._blob_count = 0
        self._unpacked = 0
        self.layers: list[LayerStats] = []

    def view(self) -> TreeView:
        return TreeView(self._entries, self._blobs, self._label)

    def apply_layer(self, stream: IO[bytes], layer_label: str) -> LayerStats:
        """Read one uncompressed tar stream and apply it on top of the layers so far."""
        reader = _HashingReader(stream)
        pending = _Pending()
        stats = LayerStats()
        try:
            with tarfile.open(fileobj=reader, mode="r|", errorlevel=2) as archive:  # type: ignore[call-overload]
                for member in archive:
                    stats.members += 1
                    self._read_member(archive, member, pending, stats, layer_label)
            reader.drain()
        except tarfile.TarError as error:
            raise ImageError(
                f"{layer_label}: not a valid tar stream ({error})",
                hint="the layer is truncated or corrupt; fetch or rebuild the image again",
            ) from error
        except EOFError as error:
            raise ImageError(
                f"{layer_label}: the tar stream ends in the middle of a member",
                hint="the layer is truncated; fetch or rebuild the image again",
            ) from error
        self._merge(pending, layer_label)
        stats.diff_id = "sha256:" + reader.hash.hexdigest()
        self.layers.append(stats)
        logger.debug("applied %s: %d members, %d bytes", layer_label, stats.members, stats.bytes)
        return stats

    def _read_member(
        self,
        archive: tarfile.TarFile,
        member: tarfile.TarInfo,
        pending: _Pending,
        stats: LayerStats,
        layer_label: str,
    ) -> None:
        path = member_path(member.name, layer_label)
        if path == "/":
            return
        parent, _, name = path.rpartition("/")
        parent = parent or "/"

        if name == OPAQUE_WHITEOUT:
            pending.opaque.add(parent)
            return
        if name.startswith(WHITEOUT_PREFIX):
            pending.whiteouts.add(join(parent, name[len(WHITEOUT_PREFIX) :]))
            return

        if member.type == tarfile.LNKTYPE:
            pending.hardlinks[path] = member_path(member.linkname, layer_label)
            pending.entries.pop(path, None)
            return

        kind = _TAR_TYPES.get(member.type)
        if kind is None:
            logger.warning("%s: skipped member %r of unknown tar type %r", layer_label, member.name, member.type)
            return

        entry = FileEntry(
            path=path,
            type=kind,
            mode=stat.S_IMODE(member.mode),
            uid=member.uid,
            gid=member.gid,
            size=member.size if kind is FileType.FILE else 0,
            link_target=member.linkname if kind is FileType.SYMLINK else None,
            mtime=int(member.mtime),
        )
        pending.entries[path] = entry
        pending.hardlinks.pop(path, None)
        pending.blobs.pop(path, None)
        if kind is FileType.FILE and member.size > 0:
            pending.blobs[path] = self._store(archive, member, layer_label)
            stats.bytes += member.size

    def _store(self, archive: tarfile.TarFile, member: tarfile.TarInfo, layer_label: str) -> Path:
        if self._unpacked + member.size > self._max_bytes:
            raise ImageError(
                f"{layer_label}: member {member.name!r} would take the unpacked image past "
                f"{self._max_bytes} bytes",
                hint="raise the limit with --max-unpacked-size if the image is really this large",
            )
        source = archive.extractfile(member)
        if source is None:
            raise ImageError(f"{layer_label}: cannot read member {member.name!r}")
        self._blob_count += 1
        blob = self._work_dir / f"{self._blob_count:08d}"
        written = 0
        with blob.open("xb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                out.write(chunk)
        if written != member.size:
            raise ImageError(
                f"{layer_label}: member {member.name!r} claims {member.size} bytes but holds {written}",
                hint="the layer is truncated or corrupt; fetch or rebuild the image again",
            )
        self._unpacked += written
        return blob

    def _resolve_parent(self, path: str) -> str:
        """Return ``path`` with its parent folders resolved through links already in the tree.

        Extraction into a real root would write through a linked folder, so the
        entry belongs where the link leads (always inside the root).
        """
        parent = parent_of(path)
        if parent == "/":
            return path
        view = self.view()
        resolved = view.resolve(parent)
        if resolved is None or resolved == parent:
            return path
        return join(resolved, path.rsplit("/", 1)[1])

    def _remove_tree(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        for key in [k for k in self._entries if k == path or k.startswith(prefix)]:
            del self._entries[key]
            self._blobs.pop(key, None)

    def _ensure_parents(self, path: str) -> None:
        parent = parent_of(path)
        while parent != "/" and parent not in self._entries:
            self._entries[parent] = FileEntry(parent, FileType.DIRECTORY, 0o755, 0, 0, 0)
            parent = parent_of(parent)

    def _merge(self, pending: _Pending, layer_label: str) -> None:
        # Whiteouts hide what the lower layers have, never what this layer adds.
        for folder in pending.opaque:
            prefix = folder.rstrip("/") + "/"
            for key in [k for k in self._entries if k.startswith(prefix)]:
                del self._entries[key]
                self._blobs.pop(key, None)
        for path in pending.whiteouts:
            self._remove_tree(path)

        for path in sorted(pending.entries):
            entry = pending.entries[path]
            target_path = self._resolve_parent(path)
            if target_path != path:
                entry = _moved(entry, target_path)
            existing = self._entries.get(target_path)
            if existing is not None and not (existing.is_dir and entry.is_dir):
                self._remove_tree(target_path)
            self._ensure_parents(target_path)
            self._entries[target_path] = entry
            blob = pending.blobs.get(path)
            if blob is not None:
                self._blobs[target_path] = blob
            else:
                self._blobs.pop(target_path, None)

        for path, link_target in sorted(pending.hardlinks.items()):
            self._apply_hardlink(path, link_target, layer_label)

    def _apply_hardlink(self, path: str, link_target: str, layer_label: str) -> None:
        source = self._entries.get(link_target)
        if source is None or not source.is_file:
            raise ImageError(
                f"{layer_label}: hard link {path} points to {link_target}, "
                "which is not a regular file in the image",
                hint="the layer is malformed or hostile; rebuild the image from a trusted source",
            )
        target_path = self._resolve_parent(path)
        self._remove_tree(target_path)
        self._ensure_parents(target_path)
        self._entries[target_path] = _moved(source, target_path)
        blob = self._blobs.get(link_target)
        if blob is not None:
            self._blobs[target_path] = blob

    def iter_entries(self) -> Iterator[FileEntry]:
        return iter(self._entries.values())


def _moved(entry: FileEntry, path: str) -> FileEntry:
    return FileEntry(
        path=path,
        type=entry.type,
        mode=entry.mode,
        uid=entry.uid,
        gid=entry.gid,
        size=entry.size,
        link_target=entry.link_target,
        mtime=entry.mtime,
    )
