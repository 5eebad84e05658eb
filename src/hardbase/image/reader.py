"""Open any supported image reference as an Image with a merged filesystem view."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hardbase.errors import ImageError
from hardbase.image.docker_archive import open_docker_archive
from hardbase.image.fs import HostDirView
from hardbase.image.layers import DEFAULT_MAX_UNPACKED_BYTES, TreeBuilder, read_layer
from hardbase.image.model import Image, LayerInfo, ProgressCallback
from hardbase.image.oci import OciLayout, check_diff_ids, check_digest, load_json, parse_config
from hardbase.image.reference import ImageReference, parse_reference

__all__ = ["ProgressCallback", "open_image"]

logger = logging.getLogger(__name__)


def open_image(
    reference: str | ImageReference,
    *,
    platform: str | None = None,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    progress: ProgressCallback | None = None,
) -> Image:
    """Open an image for reading. Close the returned Image to remove its work folder.

    ``platform`` (``os/arch[/variant]``) chooses one image of a multi-platform
    index; it defaults to the host's. ``max_unpacked_bytes`` limits the file
    content unpacked into the work folder, a temporary folder under TMPDIR.
    Raises ImageError for anything unreadable, inconsistent or hostile. The
    message names the image and, where one is at fault, the layer and member.
    The work folder is removed before the error is raised.
    """
    ref = parse_reference(reference) if isinstance(reference, str) else reference
    label = reference if isinstance(reference, str) else str(ref)
    if ref.transport == "dir":
        return _open_dir(ref, label)

    work_dir = Path(tempfile.mkdtemp(prefix="hardbase-"))
    logger.debug("opening %s in %s", label, work_dir)
    try:
        if ref.transport == "oci":
            return _open_oci(
                Path(ref.path),
                ref.selector,
                label,
                work_dir,
                platform,
                max_unpacked_bytes,
                progress,
            )
        if ref.transport == "docker-archive":
            return open_docker_archive(ref, label, work_dir, max_unpacked_bytes, progress)
        if ref.transport == "tar":
            return _open_rootfs_tar(ref, label, work_dir, max_unpacked_bytes, progress)
        if ref.transport == "docker":
            return _open_registry(ref, label, work_dir, platform, max_unpacked_bytes, progress)
        raise ImageError(f"{label}: unsupported transport {ref.transport!r}")
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise


def _open_dir(ref: ImageReference, label: str) -> Image:
    root = Path(ref.path)
    if not root.is_dir():
        raise ImageError(
            f"{label}: {str(root)!r} is not a folder", hint="give the root filesystem's folder"
        )
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
        raise ImageError(
            f"{label}: {str(path)!r} is not a file",
            hint="give a root filesystem tarball (plain, gzip, xz, bzip2 or zstd)",
        )
    if progress:
        progress(0, 1, path.name)
    with TreeBuilder(work_dir, label, max_bytes) as builder, path.open("rb") as raw:
        location = (path.resolve(), 0, path.stat().st_size)
        layer = read_layer(builder, raw, label, location=location)
    if progress:
        progress(1, 1, path.name)
    return Image(
        reference=label, transport="tar", fs=builder.view(), layers=(layer,), work_dir=work_dir
    )


def _layer_descriptors(manifest: dict[str, Any], label: str) -> list[tuple[str, str | None]]:
    """Return the digest and media type of each layer a manifest lists, checked."""
    found: list[tuple[str, str | None]] = []
    for index, descriptor in enumerate(manifest["layers"]):
        where = f"{label}: layer {index + 1}"
        if not isinstance(descriptor, dict):
            raise ImageError(f"{where}: the descriptor is not a JSON object")
        media_type = descriptor.get("mediaType")
        found.append(
            (
                check_digest(descriptor.get("digest"), where),
                media_type if isinstance(media_type, str) else None,
            )
        )
    return found


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
        raise ImageError(
            f"{label}: {str(root)!r} is not a folder", hint="give an OCI image layout folder"
        )
    layout = OciLayout(root, label)
    manifest_digest, manifest = layout.select_manifest(tag, platform)
    config_digest = check_digest(manifest["config"].get("digest"), f"{label}: config")
    config = parse_config(
        load_json(layout.read_blob(config_digest), f"{label}: config {config_digest}")
    )
    descriptors = _layer_descriptors(manifest, label)

    layers: list[LayerInfo] = []
    with TreeBuilder(work_dir, label, max_bytes) as builder:
        for index, (digest, media_type) in enumerate(descriptors):
            layer_label = f"{label}: layer {index + 1} ({digest[:19]})"
            if progress:
                progress(index, len(descriptors), layer_label)
            blob_path = layout.blob_path(digest)
            with blob_path.open("rb") as blob:
                location = (blob_path, 0, blob_path.stat().st_size)
                layers.append(
                    read_layer(
                        builder,
                        blob,
                        layer_label,
                        digest=digest,
                        media_type=media_type,
                        location=location,
                    )
                )
    if progress:
        progress(len(descriptors), len(descriptors), label)

    check_diff_ids(config.diff_ids, [layer.diff_id for layer in layers], label)
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
