"""Open any supported image reference as an Image with a merged filesystem view."""

from __future__ import annotations

import logging
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from hardbase.errors import ImageError
from hardbase.image.compression import decompressed, sniff, sniff_file
from hardbase.image.fs import HostDirView
from hardbase.image.layers import DEFAULT_MAX_UNPACKED_BYTES, TreeBuilder, _HashingReader
from hardbase.image.model import Image, LayerInfo
from hardbase.image.oci import OciLayout, check_digest, load_json, parse_config
from hardbase.image.reference import ImageReference, parse_reference

logger = logging.getLogger(__name__)

#: Called with a short description of each layer as reading starts.
ProgressCallback = Callable[[int, int, str], None]

_MEDIA_COMPRESSION = {
    "gzip": "gzip",
    "zstd": "zstd",
}


def open_image(
    reference: str | ImageReference,
    *,
    platform: str | None = None,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    progress: ProgressCallback | None = None,
) -> Image:
    """Open an image for reading. Close the returned Image to remove its work folder."""
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    label = str(ref) if isinstance(reference, ImageReference) else reference
    if ref.transport == "dir":
        return _open_dir(ref, label)

    work_dir = Path(tempfile.mkdtemp(prefix="hardbase-"))
    try:
        if ref.transport == "oci":
            return _open_oci(Path(ref.path), ref.selector, label, work_dir, platform, max_unpacked_bytes, progress)
        if ref.transport == "docker-archive":
            return _open_docker_archive(ref, label, work_dir, max_unpacked_bytes, progress)
        if ref.transport == "tar":
            return _open_rootfs_tar(ref, label, work_dir, max_unpacked_bytes, progress)
        if ref.transport == "docker":
            return _open_registry(ref, label, work_dir, platform, max_unpacked_bytes, progress)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    shutil.rmtree(work_dir, ignore_errors=True)
    raise ImageError(f"{label}: unsupported transport {ref.transport!r}")


def _open_dir(ref: ImageReference, label: str) -> Image:
    root = Path(ref.path)
    if not root.is_dir():
        raise ImageError(f"{label}: {root} is not a folder", hint="give the root filesystem's folder")
    return Image(reference=label, transport="dir", fs=HostDirView(root.resolve(), label))


def _open_rootfs_tar(
    ref: ImageReference,
    label: str,
    work_dir: Path,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    path = Path(ref.path)
    if not path.is_file():
        raise ImageError(f"{label}: {path} is not a file", hint="give a root filesystem tarball")
    builder = TreeBuilder(_blob_dir(work_dir), label, max_bytes)
    if progress:
        progress(0, 1, path.name)
    with path.open("rb") as raw:
        stream = decompressed(raw, sniff_file(raw))
        stats = _apply(builder, stream, label)
    if progress:
        progress(1, 1, path.name)
    layer = LayerInfo(None, None, path.stat().st_size, stats.diff_id, stats.bytes, stats.members)
    return Image(reference=label, transport="tar", fs=builder.view(), layers=(layer,), work_dir=work_dir)


def _apply(builder: TreeBuilder, stream: IO[bytes], layer_label: str) -> Any:
    try:
        return builder.apply_layer(stream, layer_label)
    except (OSError, EOFError, ValueError) as error:
        # gzip, lzma and zstandard raise these for corrupt compressed data.
        if isinstance(error, ImageError):
            raise
        raise ImageError(
            f"{layer_label}: cannot decompress the layer ({error})",
            hint="the file is truncated or corrupt; fetch or rebuild the image again",
        ) from error


def _blob_dir(work_dir: Path) -> Path:
    blobs = work_dir / "files"
    blobs.mkdir()
    return blobs


def _check_diff_ids(config_diff_ids: tuple[str, ...], layers: list[LayerInfo], label: str) -> None:
    if not config_diff_ids:
        return
    if len(config_diff_ids) != len(layers):
        raise ImageError(
            f"{label}: the config lists {len(config_diff_ids)} layers but the manifest has {len(layers)}",
            hint="the image metadata is inconsistent; rebuild the image",
        )
    for index, (expected, layer) in enumerate(zip(config_diff_ids, layers, strict=True)):
        if expected != layer.diff_id:
            raise ImageError(
                f"{label}: layer {index + 1} does not match the config's diff_id {expected}",
                hint="the layer was modified after the image was built; fetch it again",
            )


def _open_oci(
    root: Path,
    tag: str | None,
    label: str,
    work_dir: Path,
    platform: str | None,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    if not root.is_dir():
        raise ImageError(f"{label}: {root} is not a folder", hint="give an OCI image layout folder")
    layout = OciLayout(root, label)
    manifest_digest, manifest = layout.select_manifest(tag, platform)
    config_digest = check_digest(manifest["config"].get("digest"), label)
    config = parse_config(load_json(layout.read_blob(config_digest), f"{label}: config"))
    builder = TreeBuilder(_blob_dir(work_dir), label, max_bytes)
    layers: list[LayerInfo] = []
    descriptors = manifest["layers"]
    for index, descriptor in enumerate(descriptors):
        if not isinstance(descriptor, dict):
            raise ImageError(f"{label}: layer {index + 1} descriptor is not an object")
        digest = check_digest(descriptor.get("digest"), label)
        layer_label = f"{label}: layer {index + 1} ({digest[:19]})"
        if progress:
            progress(index, len(descriptors), layer_label)
        with layout.open_blob(digest) as raw:
            hashed = _HashingReader(raw)
            media_type = str(descriptor.get("mediaType", ""))
            compression = _compression_of(media_type, raw)
            stats = _apply(builder, decompressed(hashed, compression), layer_label)  # type: ignore[arg-type]
            hashed.drain()
        if "sha256:" + hashed.hash.hexdigest() != digest:
            raise ImageError(
                f"{layer_label}: blob content does not match its digest",
                hint="the image was modified or corrupted; fetch it again",
            )
        layers.append(LayerInfo(digest, media_type, hashed.count, stats.diff_id, stats.bytes, stats.members))
    if progress:
        progress(len(descriptors), len(descriptors), label)
    _check_diff_ids(config.diff_ids, layers, label)
    return Image(
        reference=label,
        transport="oci",
        fs=builder.view(),
        config=config,
        layers=tuple(layers),
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        work_dir=work_dir,
    )


def _compression_of(media_type: str, raw: IO[bytes]) -> str | None:
    for suffix, name in _MEDIA_COMPRESSION.items():
        if media_type.endswith("+" + suffix) or media_type.endswith(".tar." + suffix):
            return name
    # Docker's media types say "tar.gzip"; others omit it, so trust the bytes.
    head = raw.read(6)
    raw.seek(0)
    return sniff(head)


def _open_docker_archive(
    ref: ImageReference,
    label: str,
    work_dir: Path,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    path = Path(ref.path)
    if not path.is_file():
        raise ImageError(f"{label}: {path} is not a file", hint="give the output of `docker save`")
    with path.open("rb") as raw:
        compression = sniff_file(raw)
        if compression is not None:
            # Random access into the archive needs an uncompressed copy.
            plain = work_dir / "archive.tar"
            with plain.open("xb") as out:
                shutil.copyfileobj(decompressed(raw, compression), out, 1024 * 1024)
            path = plain
    try:
        archive = tarfile.open(path, mode="r:")
    except tarfile.TarError as error:
        raise ImageError(f"{label}: not a tar archive ({error})", hint="give the output of `docker save`") from error
    with archive:
        return _read_docker_archive(archive, ref, label, work_dir, max_bytes, progress)


def _archive_member(archive: tarfile.TarFile, name: str, label: str) -> IO[bytes]:
    normalized = name.lstrip("/")
    try:
        member = archive.getmember(normalized)
        handle = archive.extractfile(member)
    except (KeyError, tarfile.TarError) as error:
        raise ImageError(f"{label}: the archive has no member {name!r}", hint="the archive is incomplete") from error
    if handle is None:
        raise ImageError(f"{label}: member {name!r} is not a file")
    return handle


def _read_docker_archive(
    archive: tarfile.TarFile,
    ref: ImageReference,
    label: str,
    work_dir: Path,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    with _archive_member(archive, "manifest.json", label) as handle:
        data = handle.read()
    try:
        import json

        entries = json.loads(data)
    except ValueError as error:
        raise ImageError(f"{label}: manifest.json is not valid JSON ({error})") from error
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ImageError(f"{label}: manifest.json lists no images")
    entry = _select_archive_entry(entries, ref.selector, label)
    config_name = entry.get("Config")
    if not isinstance(config_name, str):
        raise ImageError(f"{label}: manifest.json names no Config")
    with _archive_member(archive, config_name, label) as handle:
        config_bytes = handle.read()
    config = parse_config(load_json(config_bytes, f"{label}: {config_name}"))
    layer_names = entry.get("Layers")
    if not isinstance(layer_names, list):
        raise ImageError(f"{label}: manifest.json names no Layers")
    builder = TreeBuilder(_blob_dir(work_dir), label, max_bytes)
    layers: list[LayerInfo] = []
    for index, name in enumerate(layer_names):
        layer_label = f"{label}: layer {index + 1} ({name})"
        if progress:
            progress(index, len(layer_names), layer_label)
        member = _archive_member(archive, str(name), label)
        with member as raw:
            hashed = _HashingReader(raw)
            head = raw.read(6)
            raw.seek(0)
            stats = _apply(builder, decompressed(hashed, sniff(head)), layer_label)  # type: ignore[arg-type]
            hashed.drain()
        layers.append(LayerInfo(None, None, hashed.count, stats.diff_id, stats.bytes, stats.members))
    if progress:
        progress(len(layer_names), len(layer_names), label)
    _check_diff_ids(config.diff_ids, layers, label)
    import hashlib

    tags = entry.get("RepoTags") or []
    return Image(
        reference=label,
        transport="docker-archive",
        fs=builder.view(),
        config=config,
        layers=tuple(layers),
        config_digest="sha256:" + hashlib.sha256(config_bytes).hexdigest(),
        repo_tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        work_dir=work_dir,
    )


def _select_archive_entry(entries: list[dict[str, Any]], selector: str | None, label: str) -> dict[str, Any]:
    if selector is None:
        if len(entries) > 1:
            names = [", ".join(e.get("RepoTags") or ["<untagged>"]) for e in entries]
            raise ImageError(
                f"{label}: the archive holds {len(entries)} images",
                hint=f"name one as docker-archive:FILE:NAME:TAG or :@INDEX; images: {'; '.join(names)}",
            )
        return entries[0]
    if selector.startswith("@"):
        try:
            return entries[int(selector[1:])]
        except (ValueError, IndexError) as error:
            raise ImageError(f"{label}: no image at index {selector[1:]}") from error
    for entry in entries:
        if selector in (entry.get("RepoTags") or []):
            return entry
    raise ImageError(f"{label}: no image tagged {selector!r} in the archive")


def _open_registry(
    ref: ImageReference,
    label: str,
    work_dir: Path,
    platform: str | None,
    max_bytes: int,
    progress: ProgressCallback | None,
) -> Image:
    from hardbase.tools import skopeo

    layout = work_dir / "layout"
    skopeo.copy(f"docker://{ref.path}", f"oci:{layout}:image", platform=platform)
    image = _open_oci(layout, "image", label, work_dir, platform, max_bytes, progress)
    image.transport = "docker"
    return image
