"""Merge image layers into one filesystem index, guarding against hostile tar members.

Each layer is a tar stream applied on top of the layers below it, with OCI
whiteouts: ``.wh.NAME`` deletes NAME from the lower layers and
``.wh..wh..opq`` in a folder hides everything the lower layers put there.
Neither hides what the same layer adds. The merge follows what containerd
does when it unpacks a layer onto a real root: a member whose parent folder
is a symbolic link lands where the link leads (inside the root), and a
member replaces whatever is at its path unless both are folders.

Nothing from a layer is created on the host except regular-file content,
which is appended to one pack file inside the work folder. Links, devices
and folders exist only as index entries.
"""

from __future__ import annotations

import hashlib
import io
import logging
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, cast

from hardbase.errors import ImageError
from hardbase.image.compression import (
    DECOMPRESSION_ERRORS,
    SNIFF_BYTES,
    Readable,
    decompressed,
    sniff,
)
from hardbase.image.content import BlobRef, ContentStore, Section, ShortContentError
from hardbase.image.fs import MAX_SYMLINK_HOPS, FileEntry, FileType, TreeView, join
from hardbase.image.model import LayerInfo

logger = logging.getLogger(__name__)

WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
#: Prefix of AUFS metadata names such as ``.wh..wh.plnk``, which carry no files.
_AUFS_META_PREFIX = ".wh..wh."

#: Default ceiling on the bytes that one image may unpack into the work folder.
DEFAULT_MAX_UNPACKED_BYTES = 32 * 1024**3

#: Linux's PATH_MAX, which counts the final NUL: no runtime can create a longer path,
#: and merging folders nested without limit would take time quadratic in the depth.
MAX_PATH_LENGTH = 4096

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

_HOSTILE_HINT = "the layer is malformed or hostile; rebuild the image from a trusted source"
_CORRUPT_HINT = "the layer is truncated or corrupt; fetch or rebuild the image again"


@dataclass
class LayerStats:
    """Counts and digest of one applied layer."""

    members: int = 0
    bytes: int = 0
    """Bytes of regular-file content in the layer."""
    diff_id: str = ""
    """``sha256:`` digest of the uncompressed layer stream."""


@dataclass
class _Pending:
    """Entries of one layer, applied only when the layer has been read whole."""

    entries: dict[str, FileEntry] = field(default_factory=dict)
    blobs: dict[str, BlobRef] = field(default_factory=dict)
    hardlinks: dict[str, str] = field(default_factory=dict)
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)


class HashingReader:
    """A read-only stream that hashes and counts what passes through it."""

    def __init__(self, raw: Readable, algorithm: str = "sha256") -> None:
        self._raw = raw
        self.algorithm = algorithm
        self.hash = hashlib.new(algorithm)
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        self.hash.update(data)
        self.count += len(data)
        return data

    def drain(self) -> None:
        """Read to the end, so that the digest covers the whole stream (tar padding)."""
        while self.read(_CHUNK):
            pass

    @property
    def digest(self) -> str:
        """Digest of the bytes read so far, such as ``sha256:<hex>``."""
        return f"{self.algorithm}:{self.hash.hexdigest()}"


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
                    hint=_HOSTILE_HINT,
                )
            parts.pop()
            continue
        parts.append(part)
    path = "/" + "/".join(parts)
    if len(path) >= MAX_PATH_LENGTH:
        raise ImageError(
            f"{label}: member {name[:60]!r}... has a path of {len(path)} characters, "
            f"longer than Linux allows ({MAX_PATH_LENGTH - 1})",
            hint=_HOSTILE_HINT,
        )
    return path


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent or "/", name


class TreeBuilder:
    """Build a merged filesystem index from layers applied in order.

    Use it as a context manager, or call ``close``, so the pack file is
    closed for writing; ``view`` returns the merged filesystem.
    """

    def __init__(
        self,
        work_dir: Path,
        label: str,
        max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    ) -> None:
        self._label = label
        self._max_bytes = max_unpacked_bytes
        self._store = ContentStore(work_dir / "content.pack")
        self._entries: dict[str, FileEntry] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        self._blobs: dict[str, BlobRef] = {}
        # Canonical path of each parent folder resolved since the last change
        # that could move one: a link added or an entry removed.
        self._folder_cache: dict[str, str] = {}
        self._unpacked = 0
        self.layers: list[LayerStats] = []

    def __enter__(self) -> TreeBuilder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pack file for writing; the view stays readable."""
        self._store.close_writer()

    def view(self) -> TreeView:
        """Return a read-only view of the layers merged so far."""
        return TreeView(self._entries, self._children, self._blobs, self._store, self._label)

    def apply_layer(self, stream: Readable, layer_label: str) -> LayerStats:
        """Read one uncompressed tar stream and apply it on top of the layers so far.

        File content is copied into the work folder's pack file. Raises
        ImageError, naming ``layer_label`` and the member involved, for a
        malformed, truncated or hostile layer; the merged index is then
        unusable.
        """
        reader = HashingReader(stream)

        def open_archive() -> tarfile.TarFile:
            opened = tarfile.open(fileobj=reader, mode="r|", errorlevel=2)  # type: ignore[call-overload]  # noqa: SIM115
            return cast(tarfile.TarFile, opened)

        # NOTE: tarfile ends a stream quietly at a header with a bad checksum, so
        # a corrupt compressed rootfs tarball can read as a shorter one. Images
        # are still protected by their diff_ids; apply_tar_file checks this case.
        stats = self._read_archive(
            open_archive, self._copy_content, layer_label, lambda _archive: reader.drain()
        )
        stats.diff_id = reader.digest
        return stats

    def apply_tar_file(self, path: Path, offset: int, size: int, layer_label: str) -> LayerStats:
        """Apply the uncompressed tar found at ``offset`` in the file at ``path``.

        File content is not copied: the view reads it from ``path``. This is
        the fast way for a plain rootfs tarball or a docker-archive member.
        Raises ImageError as ``apply_layer`` does.
        """
        source = self._store.add_source(path)
        window = io.BufferedReader(Section(path, offset, size), _CHUNK)

        def open_archive() -> tarfile.TarFile:
            return tarfile.open(fileobj=window, mode="r:", errorlevel=2)

        def locate(archive: tarfile.TarFile, member: tarfile.TarInfo, layer_label: str) -> BlobRef:
            if member.sparse is not None:
                return self._copy_content(archive, member, layer_label)
            if member.offset_data + member.size > size:
                raise ImageError(
                    f"{layer_label}: member {member.name!r} declares {member.size} bytes "
                    f"but the layer ends after {max(size - member.offset_data, 0)}",
                    hint=_CORRUPT_HINT,
                )
            self._reserve(member, layer_label)
            return BlobRef(offset + member.offset_data, member.size, source)

        def check_end(archive: tarfile.TarFile) -> None:
            window.seek(archive.offset)
            block = window.read(tarfile.BLOCKSIZE)
            if block.strip(b"\0"):
                raise tarfile.ReadError(f"invalid tar header at byte {archive.offset}")

        with window:
            stats = self._read_archive(open_archive, locate, layer_label, check_end)
            window.seek(0)
            hashed = HashingReader(window)
            hashed.drain()
        stats.diff_id = hashed.digest
        return stats

    def _read_archive(
        self,
        open_archive: Callable[[], tarfile.TarFile],
        locate: Callable[[tarfile.TarFile, tarfile.TarInfo, str], BlobRef],
        layer_label: str,
        finish: Callable[[tarfile.TarFile], None],
    ) -> LayerStats:
        pending = _Pending()
        stats = LayerStats()
        last: str | None = None
        try:
            with open_archive() as archive:
                for member in archive:
                    stats.members += 1
                    self._read_member(archive, member, pending, stats, layer_label, locate)
                    last = member.name
                finish(archive)
        except tarfile.TarError as error:
            raise ImageError(
                f"{layer_label}: invalid tar stream{_after(last)} ({error})",
                hint=_CORRUPT_HINT,
            ) from error
        except DECOMPRESSION_ERRORS as error:
            raise ImageError(
                f"{layer_label}: cannot decompress the layer{_after(last)} ({error})",
                hint=_CORRUPT_HINT,
            ) from error
        self._merge(pending, layer_label)
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
        locate: Callable[[tarfile.TarFile, tarfile.TarInfo, str], BlobRef],
    ) -> None:
        path = member_path(member.name, layer_label)
        if path == "/":
            return
        parent, name = _split(path)

        if name.startswith(WHITEOUT_PREFIX):
            self._read_whiteout(member.name, parent, name, pending, layer_label)
            return

        if member.type == tarfile.LNKTYPE:
            pending.hardlinks[path] = _hardlink_target(member, layer_label)
            pending.entries.pop(path, None)
            pending.blobs.pop(path, None)
            return

        kind = _TAR_TYPES.get(member.type)
        if kind is None:
            logger.warning(
                "%s: skipped member %r of unknown tar type %r",
                layer_label,
                member.name,
                member.type,
            )
            return

        is_device = kind in (FileType.CHAR_DEVICE, FileType.BLOCK_DEVICE)
        entry = FileEntry(
            path=path,
            type=kind,
            mode=stat.S_IMODE(member.mode),
            uid=member.uid,
            gid=member.gid,
            size=member.size if kind is FileType.FILE else 0,
            link_target=member.linkname if kind is FileType.SYMLINK else None,
            mtime=int(member.mtime),
            device=(member.devmajor, member.devminor) if is_device else None,
        )
        pending.entries[path] = entry
        pending.hardlinks.pop(path, None)
        pending.blobs.pop(path, None)
        if kind is FileType.FILE and member.size > 0:
            pending.blobs[path] = locate(archive, member, layer_label)
            stats.bytes += member.size

    def _read_whiteout(
        self, member_name: str, parent: str, name: str, pending: _Pending, layer_label: str
    ) -> None:
        if name == OPAQUE_WHITEOUT:
            pending.opaque.add(parent)
            return
        if name.startswith(_AUFS_META_PREFIX):
            logger.debug("%s: skipped AUFS metadata member %r", layer_label, member_name)
            return
        hidden = name[len(WHITEOUT_PREFIX) :]
        if hidden in ("", ".", ".."):
            raise ImageError(
                f"{layer_label}: member {member_name!r} is a whiteout without a name",
                hint=_HOSTILE_HINT,
            )
        pending.whiteouts.add(join(parent, hidden))

    def _reserve(self, member: tarfile.TarInfo, layer_label: str) -> None:
        """Count a member's content against the limit, raising ImageError past it."""
        if self._unpacked + member.size > self._max_bytes:
            raise ImageError(
                f"{layer_label}: member {member.name!r} ({member.size} bytes) would take the "
                f"unpacked image past the limit of {self._max_bytes} bytes",
                hint="raise --max-unpacked-size if the image is really this large",
            )
        self._unpacked += member.size

    def _copy_content(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, layer_label: str
    ) -> BlobRef:
        self._reserve(member, layer_label)
        source = archive.extractfile(member)
        if source is None:
            raise ImageError(
                f"{layer_label}: cannot read member {member.name!r}", hint=_CORRUPT_HINT
            )
        try:
            return self._store.add(source, member.size)
        except ShortContentError as error:
            raise ImageError(
                f"{layer_label}: member {member.name!r} declares {error.expected} bytes "
                f"but the layer ends after {error.written}",
                hint=_CORRUPT_HINT,
            ) from error
        except tarfile.TarError as error:
            raise ImageError(
                f"{layer_label}: member {member.name!r} is cut short ({error})",
                hint=_CORRUPT_HINT,
            ) from error
        except DECOMPRESSION_ERRORS as error:
            if isinstance(error, OSError) and error.errno is not None:
                # An errno means the host failed (disk full), not the layer.
                raise ImageError(
                    f"{layer_label}: cannot write member {member.name!r} to the work folder "
                    f"({error.strerror})",
                    hint="free space in the temporary folder (TMPDIR) and retry",
                ) from error
            raise ImageError(
                f"{layer_label}: cannot decompress member {member.name!r} ({error})",
                hint=_CORRUPT_HINT,
            ) from error

    # The merged tree.

    def _add(self, entry: FileEntry) -> None:
        parent, name = _split(entry.path)
        if entry.is_symlink:
            self._folder_cache.clear()
        self._entries[entry.path] = entry
        self._children[parent].add(name)
        if entry.is_dir:
            self._children.setdefault(entry.path, set())

    def _remove_tree(self, path: str) -> None:
        if self._entries.pop(path, None) is None:
            return
        self._folder_cache.clear()
        parent, name = _split(path)
        self._children[parent].discard(name)
        # A loop, not recursion: a hostile layer can nest folders thousands deep.
        stack = [path]
        while stack:
            folder = stack.pop()
            self._blobs.pop(folder, None)
            for child in self._children.pop(folder, set()):
                child_path = join(folder, child)
                self._entries.pop(child_path, None)
                stack.append(child_path)

    def _walk_parents(self, path: str, layer_label: str, *, create: bool) -> str | None:
        """Return the canonical path where ``path`` would land, resolving its parent folders.

        Links in the parent folders are followed inside the root. With
        ``create``, missing folders are made; without it, None is returned for
        a missing parent. A parent that is neither a folder nor a link makes
        the member invalid, as it does for tar and containerd.
        """
        parent, name = _split(path)
        cached = self._folder_cache.get(parent)
        if cached is not None:
            return join(cached, name)
        pending = [part for part in parent.split("/") if part]
        pending.reverse()
        current = "/"
        hops = 0
        while pending:
            part = pending.pop()
            if part == "..":
                current = _split(current)[0]
                continue
            candidate = join(current, part)
            if len(candidate) >= MAX_PATH_LENGTH:
                # Links can lead a short member name deeper than PATH_MAX.
                raise ImageError(
                    f"{layer_label}: member {path.lstrip('/')[:60]!r} lands at a path longer "
                    f"than Linux allows ({MAX_PATH_LENGTH - 1} characters)",
                    hint=_HOSTILE_HINT,
                )
            entry = self._entries.get(candidate)
            if entry is not None and entry.is_symlink:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise ImageError(
                        f"{layer_label}: member {path.lstrip('/')!r} lies below a symbolic "
                        "link loop",
                        hint=_HOSTILE_HINT,
                    )
                target = entry.link_target or ""
                if target.startswith("/"):
                    current = "/"
                pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if entry is None:
                if not create:
                    return None
                self._add(FileEntry(candidate, FileType.DIRECTORY, 0o755, 0, 0, 0))
            elif not entry.is_dir:
                if not create:
                    return None
                raise ImageError(
                    f"{layer_label}: member {path.lstrip('/')!r} lies below "
                    f"{candidate!r}, which is a {entry.type.value}, not a folder",
                    hint=_HOSTILE_HINT,
                )
            current = candidate
        self._folder_cache[parent] = current
        return join(current, name)

    def _merge(self, pending: _Pending, layer_label: str) -> None:
        # Whiteouts hide what the lower layers have, never what this layer adds,
        # so they go first.
        for folder in sorted(pending.opaque):
            self._apply_opaque(folder, layer_label)
        for path in sorted(pending.whiteouts):
            found = self._walk_parents(path, layer_label, create=False)
            if found is not None:
                self._remove_tree(found)

        for path in sorted(pending.entries):
            self._apply_entry(path, pending.entries[path], pending.blobs.get(path), layer_label)

        for path, link_target in sorted(pending.hardlinks.items()):
            self._apply_hardlink(path, link_target, layer_label)

    def _apply_opaque(self, folder: str, layer_label: str) -> None:
        if folder == "/":
            target: str | None = "/"
        else:
            target = self._walk_parents(folder, layer_label, create=True)
        if target is None:
            return
        if target != "/":
            existing = self._entries.get(target)
            if existing is None or not existing.is_dir:
                self._remove_tree(target)
                self._add(FileEntry(target, FileType.DIRECTORY, 0o755, 0, 0, 0))
        for child in list(self._children.get(target, ())):
            self._remove_tree(join(target, child))

    def _apply_entry(
        self, path: str, entry: FileEntry, blob: BlobRef | None, layer_label: str
    ) -> None:
        target = self._walk_parents(path, layer_label, create=True)
        assert target is not None
        if target != path:
            entry = _moved(entry, target)
        existing = self._entries.get(target)
        if existing is not None and not (existing.is_dir and entry.is_dir):
            self._remove_tree(target)
        self._add(entry)
        if blob is not None:
            self._blobs[target] = blob
        else:
            self._blobs.pop(target, None)

    def _apply_hardlink(self, path: str, link_target: str, layer_label: str) -> None:
        found = self._walk_parents(link_target, layer_label, create=False)
        source = self._entries.get(found) if found is not None else None
        if found is None or source is None or source.is_dir:
            raise ImageError(
                f"{layer_label}: member {path.lstrip('/')!r} is a hard link to "
                f"{link_target.lstrip('/')!r}, which is missing from the image or a folder",
                hint=_HOSTILE_HINT,
            )
        target = self._walk_parents(path, layer_label, create=True)
        assert target is not None
        if target == found:
            return
        self._remove_tree(target)
        self._add(_moved(source, target))
        blob = self._blobs.get(found)
        if blob is not None:
            self._blobs[target] = blob


def _hardlink_target(member: tarfile.TarInfo, layer_label: str) -> str:
    try:
        return member_path(member.linkname, layer_label)
    except ImageError as error:
        raise ImageError(
            f"{layer_label}: member {member.name!r} is a hard link to {member.linkname!r}, "
            "outside the image root",
            hint=_HOSTILE_HINT,
        ) from error


def _after(member: str | None) -> str:
    return f" after member {member!r}" if member is not None else ""


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
        device=entry.device,
    )


def read_layer(
    builder: TreeBuilder,
    blob: IO[bytes],
    layer_label: str,
    *,
    digest: str | None = None,
    media_type: str | None = None,
    location: tuple[Path, int, int] | None = None,
) -> LayerInfo:
    """Apply one layer blob (plain or compressed tar, detected from its bytes) to ``builder``.

    ``blob`` must be seekable. ``location`` (file, offset, size) gives where
    the blob's bytes lie on disk, so a plain tar is read in place instead of
    copied. When ``digest`` is given, the whole blob is hashed and a mismatch
    raises ImageError; that check wins over any error the blob's content
    caused, because altered content explains the rest.
    """
    if media_type is not None and "encrypted" in media_type:
        raise ImageError(
            f"{layer_label}: the layer is encrypted ({media_type})",
            hint="decrypt the image first, for example with skopeo copy --decryption-key",
        )
    head = blob.read(SNIFF_BYTES)
    blob.seek(0)
    compression = sniff(head)
    algorithm = digest.partition(":")[0] if digest is not None else "sha256"
    if compression is None and location is not None and algorithm == "sha256":
        return _read_layer_in_place(builder, blob, layer_label, digest, media_type, location)

    hashed = HashingReader(blob, algorithm)
    try:
        stats = builder.apply_layer(decompressed(hashed, compression), layer_label)
        hashed.drain()
    except ImageError:
        if digest is not None:
            hashed.drain()
            _check_blob_digest(hashed.digest, digest, layer_label)
        raise
    if digest is not None:
        _check_blob_digest(hashed.digest, digest, layer_label)
    return LayerInfo(digest, media_type, hashed.count, stats.diff_id, stats.bytes, stats.members)


def _read_layer_in_place(
    builder: TreeBuilder,
    blob: IO[bytes],
    layer_label: str,
    digest: str | None,
    media_type: str | None,
    location: tuple[Path, int, int],
) -> LayerInfo:
    path, offset, size = location
    try:
        stats = builder.apply_tar_file(path, offset, size, layer_label)
    except ImageError:
        if digest is not None:
            hashed = HashingReader(blob)
            hashed.drain()
            _check_blob_digest(hashed.digest, digest, layer_label)
        raise
    if digest is not None:
        # A plain tar's blob digest is its diff_id.
        _check_blob_digest(stats.diff_id, digest, layer_label)
    return LayerInfo(digest, media_type, size, stats.diff_id, stats.bytes, stats.members)


def _check_blob_digest(actual: str, digest: str, layer_label: str) -> None:
    if actual != digest:
        raise ImageError(
            f"{layer_label}: blob content does not match its digest {digest}",
            hint="the image was modified or corrupted; fetch it again from a trusted source",
        )
