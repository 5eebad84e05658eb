"""Write a root filesystem folder as a reproducible single-layer image.

The same tree and epoch always give the same bytes. Tar entries are sorted
by path, modification times are clamped to the epoch, and owners are
numeric without names. The gzip header has no file name or time and the
level is fixed, and JSON documents have sorted keys. Outputs are an OCI image layout or a
docker-archive that ``docker load`` accepts, each written beside its final
name and renamed into place.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hardbase.errors import InputError
from hardbase.image.oci import MEDIA_INDEX, MEDIA_MANIFEST, REF_NAME

logger = logging.getLogger(__name__)

MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
#: zlib level of layer compression. Level 6 is zlib's default and gzip's; a higher one
#: costs about twice the time for a 1 to 2 % smaller layer.
GZIP_LEVEL = 6
_CHUNK = 1024 * 1024
#: Extended attributes carried into the layer; file capabilities are the one that matters.
_XATTRS = ("security.capability",)


@dataclass(frozen=True)
class Platform:
    """OCI platform of an image."""

    architecture: str
    os: str = "linux"
    variant: str | None = None


@dataclass(frozen=True)
class ContainerConfig:
    """The run-time part of an image configuration (``config`` in the OCI document)."""

    user: str | None = None
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """One layer written to a work folder, both as a plain tar and gzip-compressed."""

    tar_path: Path
    gzip_path: Path
    diff_id: str
    """``sha256:`` digest of the uncompressed tar."""
    digest: str
    """``sha256:`` digest of the compressed blob."""
    size: int
    """Bytes of the compressed blob."""
    uncompressed_size: int
    entries: int


@dataclass(frozen=True)
class ImageBlobs:
    """A complete image ready to be written as a layout or an archive."""

    layer: Layer
    config: bytes
    config_digest: str
    manifest: bytes
    manifest_digest: str


def canonical_json(document: Any) -> bytes:
    """Return ``document`` as compact JSON with sorted keys, the form every digest is taken of."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rfc3339(epoch: int) -> str:
    """Return ``epoch`` as the UTC timestamp form used in image configs."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _HashingWriter:
    """A write-only stream that hashes, counts and forwards what it receives."""

    def __init__(self, *targets: Any) -> None:
        self.targets = targets
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        for target in self.targets:
            target.write(data)
        return len(data)

    def flush(self) -> None:
        for target in self.targets:
            target.flush()


def write_layer(root: Path, work: Path, epoch: int) -> Layer:
    """Pack the folder ``root`` into ``work/layer.tar`` and ``work/layer.tar.gz``.

    Character and block devices and sockets are left out, because container
    runtimes provide /dev; every other file type, hard links and file
    capabilities are kept.
    """
    tar_path = work / "layer.tar"
    gzip_path = work / "layer.tar.gz"
    with tar_path.open("wb") as plain, gzip_path.open("wb") as packed:
        compressed = _HashingWriter(packed)
        with gzip.GzipFile(
            filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=compressed, mtime=0
        ) as gzip_stream:
            uncompressed = _HashingWriter(plain, gzip_stream)
            entries = _write_tar(root, uncompressed, epoch)
    layer = Layer(
        tar_path=tar_path,
        gzip_path=gzip_path,
        diff_id="sha256:" + uncompressed.hash.hexdigest(),
        digest="sha256:" + compressed.hash.hexdigest(),
        size=compressed.size,
        uncompressed_size=uncompressed.size,
        entries=entries,
    )
    logger.info(
        "layer %s: %d entries, %d bytes, %d compressed",
        layer.digest,
        entries,
        layer.uncompressed_size,
        layer.size,
    )
    return layer


def _walk_sorted(root: Path) -> list[str]:
    """Return every path below ``root`` relative to it, sorted bytewise as tar readers expect."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative + "/"
        for name in dirs + files:
            found.append(prefix + name)
    found.sort(key=lambda path: path.encode("utf-8", "surrogateescape"))
    return found


def _write_tar(root: Path, stream: _HashingWriter, epoch: int) -> int:
    links: dict[tuple[int, int], str] = {}
    entries = 0
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        for relative in _walk_sorted(root):
            host = root / relative
            info = host.lstat()
            member = tarfile.TarInfo(relative)
            member.mode = stat.S_IMODE(info.st_mode)
            member.uid = info.st_uid
            member.gid = info.st_gid
            member.uname = ""
            member.gname = ""
            member.mtime = min(int(info.st_mtime), epoch)
            member.pax_headers = _xattrs(host, info)
            content = None
            if stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(info.st_mode):
                member.type = tarfile.SYMTYPE
                member.linkname = str(host.readlink())
            elif stat.S_ISREG(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if info.st_nlink > 1 and key in links:
                    member.type = tarfile.LNKTYPE
                    member.linkname = links[key]
                else:
                    links[key] = relative
                    member.type = tarfile.REGTYPE
                    member.size = info.st_size
                    content = host
            elif stat.S_ISFIFO(info.st_mode):
                member.type = tarfile.FIFOTYPE
            else:
                logger.debug("left out of the layer: %s (device or socket)", relative)
                continue
            if content is not None:
                with content.open("rb") as handle:
                    archive.addfile(member, handle)
            else:
                archive.addfile(member)
            entries += 1
    return entries


def _xattrs(host: Path, info: os.stat_result) -> dict[str, str]:
    if stat.S_ISLNK(info.st_mode):
        return {}
    headers: dict[str, str] = {}
    for name in _XATTRS:
        try:
            value = os.getxattr(host, name, follow_symlinks=False)
        except OSError:
            continue
        # tarfile writes a binary pax value when the text does not encode as strict UTF-8.
        headers[f"SCHILY.xattr.{name}"] = value.decode("utf-8", "surrogateescape")
    return headers


def image_blobs(
    layer: Layer,
    config: ContainerConfig,
    platform: Platform,
    epoch: int,
    *,
    created_by: str,
    comment: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> ImageBlobs:
    """Build the image config and manifest documents for one layer."""
    runtime: dict[str, Any] = {}
    if config.user:
        runtime["User"] = config.user
    if config.env:
        runtime["Env"] = list(config.env)
    if config.entrypoint:
        runtime["Entrypoint"] = list(config.entrypoint)
    if config.cmd:
        runtime["Cmd"] = list(config.cmd)
    if config.working_dir:
        runtime["WorkingDir"] = config.working_dir
    if config.labels:
        runtime["Labels"] = dict(config.labels)

    history: dict[str, Any] = {"created": rfc3339(epoch), "created_by": created_by}
    if comment:
        history["comment"] = comment
    config_document: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "created": rfc3339(epoch),
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
        "history": [history],
    }
    if platform.variant:
        config_document["variant"] = platform.variant
    config_bytes = canonical_json(config_document)
    config_digest = sha256_digest(config_bytes)

    manifest_document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": MEDIA_LAYER_GZIP, "digest": layer.digest, "size": layer.size}],
    }
    if annotations:
        manifest_document["annotations"] = dict(annotations)
    manifest_bytes = canonical_json(manifest_document)
    return ImageBlobs(
        layer, config_bytes, config_digest, manifest_bytes, sha256_digest(manifest_bytes)
    )


def _blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def _partial_folder(destination: Path) -> Path:
    parent = destination.parent
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist", hint="create it first")
    return Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=parent))


def _replace(partial: Path, destination: Path) -> None:
    """Move ``partial`` to ``destination``, removing what was there only after the move."""
    old: Path | None = None
    if destination.exists() or destination.is_symlink():
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        destination.rename(old)
    try:
        partial.rename(destination)
    except OSError:
        if old is not None:
            old.rename(destination)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()


def write_oci_layout(blobs: ImageBlobs, destination: Path, tag: str, platform: Platform) -> None:
    """Write ``blobs`` as an OCI image layout folder at ``destination``, tagged ``tag``.

    A folder already at ``destination`` is replaced whole, once the new one
    is complete.
    """
    partial = _partial_folder(destination)
    try:
        partial.chmod(0o755)
        (partial / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
        (partial / "blobs" / "sha256").mkdir(parents=True)
        shutil.copyfile(blobs.layer.gzip_path, _blob_path(partial, blobs.layer.digest))
        _blob_path(partial, blobs.config_digest).write_bytes(blobs.config)
        _blob_path(partial, blobs.manifest_digest).write_bytes(blobs.manifest)
        descriptor_platform: dict[str, str] = {
            "architecture": platform.architecture,
            "os": platform.os,
        }
        if platform.variant:
            descriptor_platform["variant"] = platform.variant
        index = {
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [
                {
                    "mediaType": MEDIA_MANIFEST,
                    "digest": blobs.manifest_digest,
                    "size": len(blobs.manifest),
                    "platform": descriptor_platform,
                    "annotations": {REF_NAME: tag},
                }
            ],
        }
        (partial / "index.json").write_bytes(canonical_json(index))
        _replace(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info("wrote OCI layout %s:%s (%s)", destination, tag, blobs.manifest_digest)


def write_docker_archive(blobs: ImageBlobs, destination: Path, repo_tag: str) -> None:
    """Write ``blobs`` as a docker-archive tar file at ``destination``, named ``repo_tag``.

    The layout is the one ``docker save`` writes and ``docker load`` reads:
    ``manifest.json``, the config as ``HEX.json``, the layer as
    ``HEX/layer.tar`` (uncompressed) and ``repositories``.
    """
    repository, _, tag = repo_tag.rpartition(":")
    layer_id = blobs.layer.diff_id.partition(":")[2]
    config_name = blobs.config_digest.partition(":")[2] + ".json"
    manifest = [
        {"Config": config_name, "RepoTags": [repo_tag], "Layers": [f"{layer_id}/layer.tar"]}
    ]
    documents = {
        "manifest.json": canonical_json(manifest),
        "repositories": canonical_json({repository: {tag: layer_id}}),
        config_name: blobs.config,
        f"{layer_id}/VERSION": b"1.0",
        f"{layer_id}/json": canonical_json({"id": layer_id}),
    }
    folder = destination.parent
    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist", hint="create it first")
    descriptor, partial_name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=folder)
    partial = Path(partial_name)
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as archive,
        ):
            names = sorted([*documents, f"{layer_id}/layer.tar", f"{layer_id}"])
            for name in names:
                member = tarfile.TarInfo(name)
                member.mtime = 0
                member.mode = 0o644
                if name == layer_id:
                    member.type = tarfile.DIRTYPE
                    member.mode = 0o755
                    archive.addfile(member)
                elif name.endswith("/layer.tar"):
                    member.size = blobs.layer.uncompressed_size
                    with blobs.layer.tar_path.open("rb") as layer_file:
                        archive.addfile(member, layer_file)
                else:
                    data = documents[name]
                    member.size = len(data)
                    archive.addfile(member, io.BytesIO(data))
        partial.chmod(0o644)
        partial.replace(destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("wrote docker archive %s (%s)", destination, repo_tag)
