"""The image model: what a reader returns for any image reference."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from hardbase.image.fs import FilesystemView

#: Called as ``progress(done, total, description)`` before each layer and once at the end.
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image configuration that matter for security."""

    user: str | None = None
    """``config.User`` as written, or None when unset."""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None
    history: tuple[str, ...] = ()
    """``created_by`` of each history step, oldest first."""
    diff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerInfo:
    """One layer as the manifest and the reader saw it."""

    digest: str | None
    """Digest of the layer blob as stored (compressed), when the format records it."""
    media_type: str | None
    size: int
    """Size in bytes of the blob as stored."""
    diff_id: str
    """``sha256:`` digest of the uncompressed layer, computed while reading."""
    unpacked_bytes: int
    members: int


@dataclass
class Image:
    """An opened image: its metadata and a read-only view of its merged root filesystem.

    Use it as a context manager: the work folder that holds unpacked file
    content is removed on exit.
    """

    reference: str
    """The reference as the user gave it."""
    transport: str
    """``oci``, ``docker-archive``, ``dir``, ``tar`` or ``docker``."""
    fs: FilesystemView
    config: ImageConfig | None = None
    layers: tuple[LayerInfo, ...] = ()
    manifest_digest: str | None = None
    config_digest: str | None = None
    repo_tags: tuple[str, ...] = ()
    work_dir: Path | None = None

    @property
    def compressed_size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def unpacked_size(self) -> int:
        """Return the bytes of regular-file content in the merged filesystem."""
        return sum(entry.size for entry in self.fs.walk() if entry.is_file)

    def close(self) -> None:
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None

    def __enter__(self) -> Image:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
