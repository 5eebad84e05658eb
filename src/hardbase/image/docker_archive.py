"""Read docker-archive files: the output of ``docker save`` and ``skopeo copy docker-archive:``.

Two layouts exist. The legacy one stores each layer as ``<id>/layer.tar``
and the config as ``<hex>.json``; Docker 25 and later store layers and
config as ``blobs/sha256/<hex>``, as in an OCI layout. Both list the images in
``manifest.json``. The whole archive may be gzip-compressed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import tarfile
from pathlib import Path
from typing import IO, Any

from hardbase.errors import ImageError
from hardbase.image.compression import DECOMPRESSION_ERRORS, decompressed, sniff_file
from hardbase.image.fs import MAX_SYMLINK_HOPS
from hardbase.image.layers import TreeBuilder, read_layer
from hardbase.image.model import Image, LayerInfo, ProgressCallback
from hardbase.image.oci import (
    MAX_JSON_BYTES,
    check_diff_ids,
    load_json,
    name_list,
    parse_config,
    verify_digest,
)
from hardbase.image.reference import ImageReference

logger = logging.getLogger(__name__)

_HINT = "give the output of `docker save` or `skopeo copy ... docker-archive:FILE`"
#: Member names that carry their own sha256: ``blobs/sha256/<hex>`` and ``<hex>.json``.
_DIGEST_NAMES = (
    re.compile(r"^blobs/sha256/([a-f0-9]{64})$"),
    re.compile(r"^([a-f0-9]{64})\.json$"),
)
_CHUNK = 1024 * 1024


def open_docker_archive(
    ref: ImageReference,
    label: str,
    work_dir: Path,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    """Open the image that ``ref.selector`` names (``NAME:TAG`` or ``@INDEX``) in an archive."""
    path = Path(ref.path)
    if not path.is_file():
        raise ImageError(f"{label}: {str(path)!r} is not a file", hint=_HINT)
    path = _plain_copy(path, label, work_dir, max_bytes)
    try:
        with tarfile.open(path, mode="r:") as archive:
            reader = _ArchiveReader(archive, path, label)
            return reader.read(ref.selector, work_dir, max_bytes, progress)
    except tarfile.TarError as error:
        # Layer errors are ImageErrors already; this is the archive's own tar structure.
        raise ImageError(f"{label}: not a valid tar archive ({error})", hint=_HINT) from error


def _plain_copy(path: Path, label: str, work_dir: Path, max_bytes: int) -> Path:
    """Return ``path``, or an uncompressed copy of it in the work folder when it is compressed.

    Reading members by name needs random access, which a compressed stream lacks.
    """
    with path.open("rb") as raw:
        compression = sniff_file(raw)
        if compression is None:
            return path
        plain = work_dir / "archive.tar"
        copied = 0
        try:
            with plain.open("xb") as out:
                source = decompressed(raw, compression)
                while chunk := source.read(_CHUNK):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise ImageError(
                            f"{label}: the archive unpacks to more than {max_bytes} bytes",
                            hint="raise --max-unpacked-size if the image is really this large",
                        )
                    out.write(chunk)
        except DECOMPRESSION_ERRORS as error:
            raise ImageError(
                f"{label}: cannot decompress the archive ({error})",
                hint="the file is truncated or corrupt; save the image again",
            ) from error
    return plain


def _normalize(name: str) -> str:
    normalized = posixpath.normpath("/" + name).lstrip("/")
    return "" if normalized == "." else normalized


class _ArchiveReader:
    """Members of one docker-archive, looked up by normalized name."""

    def __init__(self, archive: tarfile.TarFile, path: Path, label: str) -> None:
        self._archive = archive
        self._path = path.resolve()
        self._label = label
        # The last member of a name wins, as it would on extraction.
        self._members = {_normalize(member.name): member for member in archive.getmembers()}

    def open_member(self, name: str) -> IO[bytes]:
        """Open a regular member, following links inside the archive; raises ImageError."""
        member = self.find_member(name)
        handle = self._archive.extractfile(member)
        if handle is None:
            raise ImageError(f"{self._label}: archive member {name!r} is not a file", hint=_HINT)
        return handle

    def find_member(self, name: str) -> tarfile.TarInfo:
        """Return the regular member ``name`` leads to through links; raises ImageError."""
        member = self._members.get(_normalize(name))
        for _ in range(MAX_SYMLINK_HOPS):
            if member is None or member.isreg():
                break
            if member.issym():
                target = posixpath.join(posixpath.dirname(member.name), member.linkname)
            elif member.islnk():
                target = member.linkname
            else:
                raise ImageError(
                    f"{self._label}: archive member {name!r} is not a file", hint=_HINT
                )
            member = self._members.get(_normalize(target))
        if member is None:
            raise ImageError(
                f"{self._label}: the archive has no member {name!r}",
                hint="the archive is incomplete or its manifest.json is wrong; save it again",
            )
        if not member.isreg():
            raise ImageError(
                f"{self._label}: archive member {name!r} is a link loop or not a file", hint=_HINT
            )
        return member

    def read_small(self, name: str) -> bytes:
        """Return a JSON member's bytes, checked against the digest its name carries."""
        with self.open_member(name) as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            raise ImageError(f"{self._label}: {name!r} is larger than {MAX_JSON_BYTES} bytes")
        digest = _digest_in_name(name)
        if digest is not None:
            verify_digest(data, digest, f"{self._label}: {name!r}")
        return data

    def read(
        self,
        selector: str | None,
        work_dir: Path,
        max_bytes: int,
        progress: ProgressCallback | None,
    ) -> Image:
        label = self._label
        entry = _select_entry(self._manifest_entries(), selector, label)
        config_name = entry.get("Config")
        if not isinstance(config_name, str):
            raise ImageError(f"{label}: manifest.json names no Config", hint=_HINT)
        config_bytes = self.read_small(config_name)
        config = parse_config(load_json(config_bytes, f"{label}: {config_name!r}"))
        layer_names = entry.get("Layers")
        if not isinstance(layer_names, list) or not all(isinstance(n, str) for n in layer_names):
            raise ImageError(f"{label}: manifest.json has no list of Layers", hint=_HINT)

        layers: list[LayerInfo] = []
        with TreeBuilder(work_dir, label, max_bytes) as builder:
            for index, name in enumerate(layer_names):
                layer_label = f"{label}: layer {index + 1} ({name!r})"
                if progress:
                    progress(index, len(layer_names), layer_label)
                member = self.find_member(name)
                location = (self._path, member.offset_data, member.size)
                with self.open_member(name) as blob:
                    layers.append(
                        read_layer(
                            builder,
                            blob,
                            layer_label,
                            digest=_digest_in_name(name),
                            location=None if member.sparse is not None else location,
                        )
                    )
        if progress:
            progress(len(layer_names), len(layer_names), label)

        if config.diff_ids:
            check_diff_ids(config.diff_ids, [layer.diff_id for layer in layers], label)
        else:
            logger.warning("%s: the config lists no diff_ids, so layers are unverified", label)
        tags = entry.get("RepoTags")
        return Image(
            reference=label,
            transport="docker-archive",
            fs=builder.view(),
            config=config,
            layers=tuple(layers),
            config_digest="sha256:" + _sha256(config_bytes),
            repo_tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            work_dir=work_dir,
        )

    def _manifest_entries(self) -> list[dict[str, Any]]:
        data = self.read_small("manifest.json")
        try:
            entries = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise ImageError(
                f"{self._label}: manifest.json is not valid JSON ({error})", hint=_HINT
            ) from error
        if not isinstance(entries, list) or not entries:
            raise ImageError(f"{self._label}: manifest.json lists no images", hint=_HINT)
        if not all(isinstance(entry, dict) for entry in entries):
            raise ImageError(f"{self._label}: manifest.json has an entry that is not an object")
        return entries


def _digest_in_name(name: str) -> str | None:
    normalized = _normalize(name)
    for pattern in _DIGEST_NAMES:
        match = pattern.match(normalized)
        if match:
            return "sha256:" + match.group(1)
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tags(entry: dict[str, Any]) -> list[str]:
    tags = entry.get("RepoTags")
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def _short_name(tag: str) -> str:
    """Return ``tag`` without Docker Hub's default registry and ``library/`` prefix."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return tag


def _select_entry(
    entries: list[dict[str, Any]], selector: str | None, label: str
) -> dict[str, Any]:
    if selector is None:
        if len(entries) > 1:
            names = [", ".join(_tags(entry)) or "<untagged>" for entry in entries]
            raise ImageError(
                f"{label}: the archive contains {len(entries)} images",
                hint="name one as docker-archive:FILE:NAME:TAG or docker-archive:FILE:@INDEX; "
                f"images: {name_list(names, '; ')}",
            )
        return entries[0]
    if selector.startswith("@"):
        try:
            index = int(selector[1:])
        except ValueError as error:
            raise ImageError(f"{label}: invalid image index {selector!r}") from error
        if not 0 <= index < len(entries):
            raise ImageError(
                f"{label}: no image at index {index}",
                hint=f"the archive holds {len(entries)} images, numbered from 0",
            )
        return entries[index]
    for entry in entries:
        if _short_name(selector) in {_short_name(tag) for tag in _tags(entry)}:
            return entry
    found = sorted({tag for entry in entries for tag in _tags(entry)})
    raise ImageError(
        f"{label}: no image tagged {selector!r} in the archive",
        hint=f"tags in the archive: {name_list(found) or 'none'}",
    )
