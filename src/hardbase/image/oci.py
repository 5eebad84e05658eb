"""Read OCI image layouts and the JSON documents shared with docker archives."""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from hardbase.errors import ImageError
from hardbase.image.model import ImageConfig

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (MEDIA_INDEX, DOCKER_MANIFEST_LIST)
REF_NAME = "org.opencontainers.image.ref.name"

#: Largest JSON document (index, manifest, config) read from an image.
MAX_JSON_BYTES = 16 * 1024 * 1024

_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")

_GO_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}


def host_platform() -> str:
    """Return this machine's platform as OCI names it, such as ``linux/amd64``."""
    machine = platform.machine()
    return f"linux/{_GO_ARCH.get(machine, machine)}"


#: Names listed in one error message before the rest are only counted.
MAX_NAMES_SHOWN = 10


def name_list(names: list[str], separator: str = ", ") -> str:
    """Return the first ``MAX_NAMES_SHOWN`` names for a message, and how many more there are.

    Names come from the image, so one that is not printable is shown as its repr.
    """
    shown = [name if name.isprintable() else repr(name) for name in names[:MAX_NAMES_SHOWN]]
    if len(names) > MAX_NAMES_SHOWN:
        shown.append(f"and {len(names) - MAX_NAMES_SHOWN} more")
    return separator.join(shown)


def check_digest(digest: object, where: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 or sha512 digest, else raise.

    The check matters because the digest becomes a blob path.
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageError(
            f"{where}: invalid digest {digest!r}",
            hint="the image metadata is corrupt or hostile",
        )
    return digest


def load_json(data: bytes, where: str) -> dict[str, Any]:
    """Parse a JSON object of at most ``MAX_JSON_BYTES``; raises ImageError otherwise."""
    if len(data) > MAX_JSON_BYTES:
        raise ImageError(f"{where}: document larger than {MAX_JSON_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        # UnicodeDecodeError is a ValueError; RecursionError comes from deep nesting.
        raise ImageError(
            f"{where}: invalid JSON ({error})", hint="the image metadata is corrupt"
        ) from error
    if not isinstance(document, dict):
        raise ImageError(f"{where}: expected a JSON object, found {type(document).__name__}")
    return document


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    if isinstance(value, str):
        return (value,)
    return ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _keys(value: object) -> tuple[str, ...]:
    return tuple(sorted(str(key) for key in value)) if isinstance(value, dict) else ()


def parse_config(document: dict[str, Any]) -> ImageConfig:
    """Build an ImageConfig from an OCI or Docker image configuration document.

    Fields of the wrong JSON type are read as unset rather than trusted.
    """
    config = document.get("config") or document.get("container_config") or {}
    if not isinstance(config, dict):
        config = {}
    labels = config.get("Labels") or {}
    rootfs = document.get("rootfs") or {}
    history = document.get("history") or []
    if not isinstance(history, list):
        history = []
    return ImageConfig(
        user=config.get("User") if isinstance(config.get("User"), str) else None,
        env=_strings(config.get("Env")),
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        working_dir=_text(config.get("WorkingDir")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        exposed_ports=_keys(config.get("ExposedPorts")),
        volumes=_keys(config.get("Volumes")),
        os=_text(document.get("os")),
        architecture=_text(document.get("architecture")),
        variant=_text(document.get("variant")),
        created=_text(document.get("created")),
        history=tuple(
            str(step.get("created_by", "")) for step in history if isinstance(step, dict)
        ),
        diff_ids=_strings(rootfs.get("diff_ids") if isinstance(rootfs, dict) else None),
    )


class OciLayout:
    """An OCI image layout folder: ``oci-layout``, ``index.json`` and ``blobs/``."""

    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label
        if not (root / "index.json").is_file():
            raise ImageError(
                f"{label}: no index.json in {str(root)!r}",
                hint="give a folder written by skopeo, umoci or buildah as an OCI image layout",
            )

    def blob_path(self, digest: str) -> Path:
        """Return the path of a blob; raises ImageError when it is missing or a link."""
        algorithm, _, hexdigest = check_digest(digest, self.label).partition(":")
        path = self.root / "blobs" / algorithm / hexdigest
        if path.is_symlink() or not path.is_file():
            raise ImageError(
                f"{self.label}: blob {digest} is missing",
                hint="the layout is incomplete; copy the image again",
            )
        return path

    def read_blob(self, digest: str, *, max_bytes: int = MAX_JSON_BYTES) -> bytes:
        """Return a small blob (a manifest, index or config) after checking its digest."""
        path = self.blob_path(digest)
        if path.stat().st_size > max_bytes:
            raise ImageError(f"{self.label}: blob {digest} is larger than {max_bytes} bytes")
        data = path.read_bytes()
        verify_digest(data, digest, self.label)
        return data

    def open_blob(self, digest: str) -> IO[bytes]:
        """Open a blob for streaming; the caller checks its digest while reading."""
        return self.blob_path(digest).open("rb")

    def index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        if path.is_symlink():
            raise ImageError(f"{self.label}: index.json is a symbolic link")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ImageError(f"{self.label}: index.json is larger than {MAX_JSON_BYTES} bytes")
        return load_json(path.read_bytes(), f"{self.label}: index.json")

    def select_manifest(
        self, tag: str | None, wanted_platform: str | None
    ) -> tuple[str, dict[str, Any]]:
        """Return the digest and document of the image manifest named by ``tag``.

        Without a tag the layout must hold one image, or several that differ
        only by platform. ``wanted_platform`` (``os/arch[/variant]``, the
        host's platform when None) chooses among platforms, here and in any
        image index the descriptor leads to.
        """
        manifests = self.index().get("manifests")
        if not isinstance(manifests, list) or not manifests:
            raise ImageError(f"{self.label}: index.json lists no manifests")
        descriptors = [m for m in manifests if isinstance(m, dict)]
        if tag is not None:
            chosen = [d for d in descriptors if _ref_name(d) == tag]
            if not chosen:
                tags = sorted({name for d in descriptors if (name := _ref_name(d))})
                raise ImageError(
                    f"{self.label}: no image tagged {tag!r}",
                    hint=f"tags in this layout: {name_list(tags) or 'none'}",
                )
        else:
            chosen = descriptors
        if len(chosen) > 1:
            if all(isinstance(d.get("platform"), dict) for d in chosen):
                return resolve_manifest(
                    _choose_platform(chosen, wanted_platform, self.label),
                    self.read_blob,
                    wanted_platform,
                    self.label,
                )
            tags = [_ref_name(d) or "<untagged>" for d in chosen]
            raise ImageError(
                f"{self.label}: the layout contains {len(chosen)} images",
                hint=f"name one as oci:DIR:TAG; tags: {name_list(tags)}",
            )
        return resolve_manifest(chosen[0], self.read_blob, wanted_platform, self.label)


def _ref_name(descriptor: dict[str, Any]) -> str | None:
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return None
    name = annotations.get(REF_NAME)
    return name if isinstance(name, str) else None


def _platform_names(descriptor: dict[str, Any]) -> tuple[str, str]:
    """Return ``os/arch`` and ``os/arch/variant`` (the same when there is no variant)."""
    platform_info = descriptor.get("platform")
    if not isinstance(platform_info, dict):
        return "?", "?"
    name = f"{platform_info.get('os')}/{platform_info.get('architecture')}"
    variant = platform_info.get("variant")
    return name, f"{name}/{variant}" if variant else name


def _choose_platform(
    candidates: list[dict[str, Any]], wanted_platform: str | None, label: str
) -> dict[str, Any]:
    wanted = wanted_platform or host_platform()
    for candidate in candidates:
        if wanted in _platform_names(candidate):
            return candidate
    found = sorted({_platform_names(candidate)[1] for candidate in candidates})
    raise ImageError(
        f"{label}: no image for platform {wanted}",
        hint=f"choose one with --platform: {name_list(found) or 'none listed'}",
    )


def verify_digest(data: bytes, digest: str, label: str) -> None:
    """Raise ImageError unless ``data`` hashes to ``digest``."""
    algorithm, _, expected = digest.partition(":")
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != expected:
        raise ImageError(
            f"{label}: blob content does not match its digest {digest}",
            hint="the image was modified or corrupted; fetch it again from a trusted source",
        )


def resolve_manifest(
    descriptor: dict[str, Any],
    read_blob: Callable[[str], bytes],
    wanted_platform: str | None,
    label: str,
    depth: int = 0,
) -> tuple[str, dict[str, Any]]:
    """Follow a descriptor through image indexes to one image manifest for a platform."""
    if depth > 4:
        raise ImageError(f"{label}: image indexes nest more than 4 deep")
    digest = check_digest(descriptor.get("digest"), f"{label}: manifest descriptor")
    document = load_json(read_blob(digest), f"{label}: manifest {digest}")
    media_type = document.get("mediaType") or descriptor.get("mediaType")
    if media_type in INDEX_TYPES or "manifests" in document:
        candidates = [m for m in document.get("manifests") or [] if isinstance(m, dict)]
        chosen = _choose_platform(candidates, wanted_platform, label)
        return resolve_manifest(chosen, read_blob, wanted_platform, label, depth + 1)
    if not isinstance(document.get("layers"), list) or not isinstance(document.get("config"), dict):
        raise ImageError(
            f"{label}: manifest {digest} has no config or layers",
            hint="the image metadata is corrupt, or the manifest is not an image manifest",
        )
    return digest, document


def check_diff_ids(config_diff_ids: tuple[str, ...], diff_ids: list[str], label: str) -> None:
    """Raise ImageError unless the layers read match the config's ``rootfs.diff_ids``."""
    if len(config_diff_ids) != len(diff_ids):
        raise ImageError(
            f"{label}: the config lists {len(config_diff_ids)} layers "
            f"but the manifest has {len(diff_ids)}",
            hint="the image metadata is inconsistent; rebuild the image",
        )
    for index, (expected, actual) in enumerate(zip(config_diff_ids, diff_ids, strict=True)):
        if expected != actual:
            raise ImageError(
                f"{label}: layer {index + 1} has diff_id {actual}, but the config lists {expected}",
                hint="the layer was modified after the image was built; fetch it again",
            )
