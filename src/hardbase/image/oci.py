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

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x"}


def host_platform() -> str:
    machine = platform.machine()
    return f"linux/{_GO_ARCH.get(machine, machine)}"


def check_digest(digest: object, where: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 or sha512 digest, else raise.

    The check matters because the digest becomes a blob path.
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageError(f"{where}: invalid digest {digest!r}", hint="the image metadata is corrupt or hostile")
    return digest


def load_json(data: bytes, where: str) -> dict[str, Any]:
    if len(data) > MAX_JSON_BYTES:
        raise ImageError(f"{where}: document larger than {MAX_JSON_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ImageError(f"{where}: invalid JSON ({error})", hint="the image metadata is corrupt") from error
    if not isinstance(document, dict):
        raise ImageError(f"{where}: expected a JSON object")
    return document


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    if isinstance(value, str):
        return (value,)
    return ()


def parse_config(document: dict[str, Any]) -> ImageConfig:
    """Build an ImageConfig from an OCI or Docker image configuration document."""
    config = document.get("config") or document.get("container_config") or {}
    if not isinstance(config, dict):
        config = {}
    labels = config.get("Labels") or {}
    rootfs = document.get("rootfs") or {}
    history = document.get("history") or []
    return ImageConfig(
        user=config.get("User") if isinstance(config.get("User"), str) else None,
        env=_strings(config.get("Env")),
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        working_dir=config.get("WorkingDir") or None,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
        volumes=tuple(sorted(config.get("Volumes") or {})),
        os=document.get("os"),
        architecture=document.get("architecture"),
        variant=document.get("variant"),
        created=document.get("created"),
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
            raise ImageError(f"{label}: no index.json in {root}", hint="is this an OCI image layout?")

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = check_digest(digest, self.label).partition(":")
        path = self.root / "blobs" / algorithm / hexdigest
        if path.is_symlink() or not path.is_file():
            raise ImageError(f"{self.label}: blob {digest} is missing", hint="the layout is incomplete; copy the image again")
        return path

    def read_blob(self, digest: str, *, max_bytes: int = MAX_JSON_BYTES) -> bytes:
        path = self.blob_path(digest)
        if path.stat().st_size > max_bytes:
            raise ImageError(f"{self.label}: blob {digest} is larger than {max_bytes} bytes")
        data = path.read_bytes()
        verify_digest(data, digest, self.label)
        return data

    def open_blob(self, digest: str) -> IO[bytes]:
        return self.blob_path(digest).open("rb")

    def index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        if path.is_symlink():
            raise ImageError(f"{self.label}: index.json is a symbolic link")
        return load_json(path.read_bytes(), f"{self.label}: index.json")

    def select_manifest(self, tag: str | None, wanted_platform: str | None) -> tuple[str, dict[str, Any]]:
        """Return the digest and document of the image manifest named by ``tag``."""
        manifests = self.index().get("manifests")
        if not isinstance(manifests, list) or not manifests:
            raise ImageError(f"{self.label}: index.json lists no manifests")
        if tag is not None:
            chosen = [m for m in manifests if isinstance(m, dict) and (m.get("annotations") or {}).get(REF_NAME) == tag]
            if not chosen:
                tags = sorted(
                    str((m.get("annotations") or {}).get(REF_NAME))
                    for m in manifests
                    if isinstance(m, dict) and (m.get("annotations") or {}).get(REF_NAME)
                )
                raise ImageError(
                    f"{self.label}: no image tagged {tag!r}",
                    hint=f"tags in this layout: {', '.join(tags) or 'none'}",
                )
        elif len(manifests) > 1:
            tags = [str((m.get("annotations") or {}).get(REF_NAME, "?")) for m in manifests if isinstance(m, dict)]
            raise ImageError(
                f"{self.label}: the layout holds {len(manifests)} images",
                hint=f"name one as oci:DIR:TAG; tags: {', '.join(tags)}",
            )
        else:
            chosen = manifests
        return resolve_manifest(chosen[0], self.read_blob, wanted_platform, self.label)


def verify_digest(data: bytes, digest: str, label: str) -> None:
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
        raise ImageError(f"{label}: image indexes nest too deeply")
    digest = check_digest(descriptor.get("digest"), label)
    document = load_json(read_blob(digest), f"{label}: manifest {digest}")
    media_type = document.get("mediaType") or descriptor.get("mediaType")
    if media_type in INDEX_TYPES or "manifests" in document:
        wanted = wanted_platform or host_platform()
        candidates = [m for m in document.get("manifests") or [] if isinstance(m, dict)]
        for candidate in candidates:
            plat = candidate.get("platform") or {}
            name = f"{plat.get('os')}/{plat.get('architecture')}"
            with_variant = f"{name}/{plat.get('variant')}" if plat.get("variant") else name
            if wanted in (name, with_variant):
                return resolve_manifest(candidate, read_blob, wanted_platform, label, depth + 1)
        found = sorted(
            f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}"
            for m in candidates
        )
        raise ImageError(
            f"{label}: no image for platform {wanted}",
            hint=f"choose one with --platform: {', '.join(found) or 'none listed'}",
        )
    if not isinstance(document.get("layers"), list) or not isinstance(document.get("config"), dict):
        raise ImageError(f"{label}: manifest {digest} has no config or layers")
    return digest, document
