"""Build small synthetic images for tests from in-memory layer descriptions.

A layer is a list of ``Member`` values, made with ``file``, ``folder``,
``symlink``, ``hardlink``, ``device``, ``whiteout`` and ``opaque``. The
writers turn layers into the formats the image readers take: a layer tar
(``layer_tar``), a root filesystem tarball (``write_rootfs_tar``), an OCI
image layout with one image or a multi-platform index (``write_oci_layout``,
``write_oci_index``) and a docker-archive in the legacy or the newer layout
(``write_docker_archive``). Members may be hostile on purpose: names with
``..``, non-UTF-8 bytes and sizes the data does not back are written as given.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"

_MTIME = 1_700_000_000


@dataclass(frozen=True)
class Member:
    """One tar member of a layer."""

    name: str | bytes
    """Member name as stored; bytes are written unchanged, even when not UTF-8."""
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    link: str = ""
    """Target of a symbolic or hard link, as stored."""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    device: tuple[int, int] = (0, 0)
    declared_size: int | None = None
    """Size written in the header when it must differ from ``len(data)``."""


def file(name: str | bytes, data: bytes | str = b"", mode: int = 0o644, uid: int = 0) -> Member:
    """Return a regular file member."""
    content = data.encode() if isinstance(data, str) else data
    return Member(name, tarfile.REGTYPE, content, mode=mode, uid=uid)


def folder(name: str | bytes, mode: int = 0o755) -> Member:
    """Return a folder member."""
    return Member(name, tarfile.DIRTYPE, mode=mode)


def symlink(name: str | bytes, target: str) -> Member:
    """Return a symbolic link member pointing at ``target``."""
    return Member(name, tarfile.SYMTYPE, link=target, mode=0o777)


def hardlink(name: str | bytes, target: str) -> Member:
    """Return a hard link member to the member named ``target``."""
    return Member(name, tarfile.LNKTYPE, link=target)


def device(name: str, kind: str = "char", major: int = 1, minor: int = 3) -> Member:
    """Return a character (``kind="char"``) or block device member."""
    member_type = tarfile.CHRTYPE if kind == "char" else tarfile.BLKTYPE
    return Member(name, member_type, mode=0o666, device=(major, minor))


def fifo(name: str) -> Member:
    """Return a named pipe member."""
    return Member(name, tarfile.FIFOTYPE)


def whiteout(path: str) -> Member:
    """Return the OCI whiteout that deletes ``path`` from the lower layers."""
    parent, _, name = path.rstrip("/").rpartition("/")
    return file(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(path: str) -> Member:
    """Return the OCI opaque whiteout that hides the lower layers' content of folder ``path``."""
    return file(f"{path.rstrip('/')}/.wh..wh..opq")


def _tarinfo(member: Member) -> tarfile.TarInfo:
    name = member.name
    if isinstance(name, bytes):
        name = name.decode("utf-8", "surrogateescape")
    info = tarfile.TarInfo(name)
    info.type = member.type
    info.mode = member.mode
    info.uid = member.uid
    info.gid = member.gid
    info.mtime = _MTIME
    info.linkname = member.link
    info.devmajor, info.devminor = member.device
    info.size = len(member.data) if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    return info


def layer_tar(members: Sequence[Member], *, tar_format: int = tarfile.GNU_FORMAT) -> bytes:
    """Return an uncompressed tar stream holding ``members`` in order.

    GNU format keeps non-UTF-8 names as raw bytes. A member with
    ``declared_size`` gets that size in its header followed by only its
    ``data``, and ends the stream there, as a truncated layer would.
    """
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tar_format, encoding="utf-8", errors="surrogateescape"
    ) as archive:
        for member in members:
            info = _tarinfo(member)
            if member.declared_size is not None:
                info.size = member.declared_size
                out.write(info.tobuf(tar_format, "utf-8", "surrogateescape"))
                out.write(member.data)
                return out.getvalue()
            archive.addfile(info, io.BytesIO(member.data) if info.size else None)
    return out.getvalue()


def compress(data: bytes, compression: str | None) -> bytes:
    """Return ``data`` compressed with ``gzip``, ``xz`` or ``zstd``, or unchanged for None."""
    if compression is None:
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "xz":
        return lzma.compress(data)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    raise ValueError(f"unknown compression {compression!r}")


def sha256(data: bytes) -> str:
    """Return the ``sha256:<hex>`` digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(document: Any) -> bytes:
    """Return ``document`` as compact JSON with sorted keys."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def write_rootfs_tar(path: Path, members: Sequence[Member], compression: str | None = None) -> Path:
    """Write a root filesystem tarball of ``members`` and return its path."""
    path.write_bytes(compress(layer_tar(members), compression))
    return path


Layer = Sequence[Member] | bytes
"""A layer given as members, or as a ready uncompressed tar stream."""


def _layer_bytes(layer: Layer) -> bytes:
    return layer if isinstance(layer, bytes) else layer_tar(layer)


def image_config(
    diff_ids: Sequence[str], *, architecture: str = "amd64", os_name: str = "linux", **extra: Any
) -> dict[str, Any]:
    """Return an OCI image config for layers with ``diff_ids``."""
    config: dict[str, Any] = {
        "architecture": architecture,
        "os": os_name,
        "config": {"User": "1000", "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created_by": f"layer {i + 1}"} for i in range(len(diff_ids))],
    }
    config.update(extra)
    return config


@dataclass
class OciImage:
    """Digests of what ``add_oci_image`` wrote."""

    manifest_digest: str
    config_digest: str
    layer_digests: list[str] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    manifest_size: int = 0


def _write_blob(root: Path, data: bytes) -> str:
    digest = sha256(data)
    blob = root / "blobs" / "sha256" / digest.removeprefix("sha256:")
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    return digest


def add_oci_image(
    root: Path,
    layers: Sequence[Layer],
    *,
    compression: str | None = "gzip",
    architecture: str = "amd64",
    config: dict[str, Any] | None = None,
    layer_blobs: Sequence[bytes] | None = None,
) -> OciImage:
    """Write the blobs of one image (layers, config, manifest) into the layout at ``root``.

    ``layer_blobs`` replaces the compressed layers with these exact bytes (for
    truncated or corrupt blobs); diff_ids still come from ``layers``.
    """
    tars = [_layer_bytes(layer) for layer in layers]
    diff_ids = [sha256(tar) for tar in tars]
    blobs = (
        list(layer_blobs) if layer_blobs is not None else [compress(t, compression) for t in tars]
    )
    layer_digests = [_write_blob(root, blob) for blob in blobs]
    config_document = config or image_config(diff_ids, architecture=architecture)
    config_bytes = canonical_json(config_document)
    config_digest = _write_blob(root, config_bytes)
    media = MEDIA_LAYER_GZIP if compression == "gzip" else MEDIA_LAYER
    if compression == "zstd":
        media = MEDIA_LAYER + "+zstd"
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [
            {"mediaType": media, "digest": digest, "size": len(blob)}
            for digest, blob in zip(layer_digests, blobs, strict=True)
        ],
    }
    manifest_bytes = canonical_json(manifest)
    return OciImage(
        manifest_digest=_write_blob(root, manifest_bytes),
        config_digest=config_digest,
        layer_digests=layer_digests,
        diff_ids=diff_ids,
        manifest_size=len(manifest_bytes),
    )


def _write_index(root: Path, manifests: list[dict[str, Any]]) -> None:
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": manifests}
    (root / "index.json").write_bytes(canonical_json(index))


def write_oci_layout(
    root: Path,
    layers: Sequence[Layer],
    *,
    tag: str | None = "latest",
    compression: str | None = "gzip",
    config: dict[str, Any] | None = None,
    layer_blobs: Sequence[bytes] | None = None,
) -> OciImage:
    """Write an OCI image layout at ``root`` holding one image tagged ``tag``."""
    root.mkdir(parents=True, exist_ok=True)
    image = add_oci_image(
        root, layers, compression=compression, config=config, layer_blobs=layer_blobs
    )
    descriptor: dict[str, Any] = {
        "mediaType": MEDIA_MANIFEST,
        "digest": image.manifest_digest,
        "size": image.manifest_size,
    }
    if tag is not None:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
    _write_index(root, [descriptor])
    return image


def write_oci_index(
    root: Path, images: dict[str, Sequence[Layer]], *, tag: str = "latest"
) -> dict[str, OciImage]:
    """Write an OCI layout whose tag names an image index with one image per platform.

    ``images`` maps ``os/arch`` to that platform's layers.
    """
    root.mkdir(parents=True, exist_ok=True)
    written: dict[str, OciImage] = {}
    entries = []
    for name, layers in images.items():
        os_name, architecture = name.split("/")[:2]
        image = add_oci_image(root, layers, architecture=architecture)
        written[name] = image
        entries.append(
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": image.manifest_digest,
                "size": image.manifest_size,
                "platform": {"os": os_name, "architecture": architecture},
            }
        )
    index_bytes = canonical_json(
        {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": entries}
    )
    index_digest = _write_blob(root, index_bytes)
    _write_index(
        root,
        [
            {
                "mediaType": MEDIA_INDEX,
                "digest": index_digest,
                "size": len(index_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    )
    return written


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = _MTIME
    archive.addfile(info, io.BytesIO(data))


def write_docker_archive(
    path: Path,
    layers: Sequence[Layer],
    *,
    repo_tags: Sequence[str] = ("example/app:1.0",),
    layout: str = "legacy",
    gzipped: bool = False,
    manifest: list[dict[str, Any]] | bytes | None = None,
) -> list[str]:
    """Write a docker-archive, as ``docker save`` does, and return the layers' diff_ids.

    ``layout="legacy"`` stores ``<id>/layer.tar`` and ``<hex>.json``;
    ``layout="blobs"`` stores ``blobs/sha256/<hex>`` beside an OCI index, as
    Docker 25 and later do. ``manifest`` replaces the generated manifest.json.
    """
    tars = [_layer_bytes(layer) for layer in layers]
    diff_ids = [sha256(tar) for tar in tars]
    config_bytes = canonical_json(image_config(diff_ids))
    config_hex = sha256(config_bytes).removeprefix("sha256:")

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        layer_names = []
        for tar, diff_id in zip(tars, diff_ids, strict=True):
            hexdigest = diff_id.removeprefix("sha256:")
            if layout == "legacy":
                name = f"{hexdigest}/layer.tar"
                _add_bytes(archive, f"{hexdigest}/VERSION", b"1.0")
            else:
                name = f"blobs/sha256/{hexdigest}"
            _add_bytes(archive, name, tar)
            layer_names.append(name)
        if layout == "legacy":
            config_name = f"{config_hex}.json"
        else:
            config_name = f"blobs/sha256/{config_hex}"
            _add_bytes(archive, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(archive, config_name, config_bytes)
        if manifest is None:
            manifest = [{"Config": config_name, "RepoTags": list(repo_tags), "Layers": layer_names}]
        data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        _add_bytes(archive, "manifest.json", data)
    path.write_bytes(compress(out.getvalue(), "gzip" if gzipped else None))
    return diff_ids
