"""Parse image references, with transports named as skopeo names them."""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import ImageError
from hardbase.image.compression import DECOMPRESSION_ERRORS, decompressed, sniff_file

TRANSPORTS = ("oci", "docker-archive", "dir", "tar", "docker")


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference."""

    transport: str
    path: str
    """File or folder for local transports; ``HOST/NAME[:TAG|@DIGEST]`` for ``docker``."""
    selector: str | None = None
    """Tag in an OCI layout, or ``NAME:TAG`` / ``@INDEX`` inside a docker archive."""

    def __str__(self) -> str:
        text = f"{self.transport}:{self.path}"
        if self.transport == "docker":
            return f"docker://{self.path}"
        return f"{text}:{self.selector}" if self.selector else text


def parse_reference(text: str) -> ImageReference:
    """Parse ``TRANSPORT:PATH[:SELECTOR]``, ``docker://NAME`` or a bare path.

    A bare path's transport is detected by content (see ``detect_transport``),
    so it must exist. Raises ImageError for an empty reference, an unknown
    transport or a missing path.
    """
    if not text:
        raise ImageError("empty image reference", hint="give a path or TRANSPORT:PATH")
    if text.startswith("docker://"):
        name = text[len("docker://") :]
        if not name:
            raise ImageError(f"{text!r}: missing image name", hint="write docker://HOST/NAME:TAG")
        return ImageReference("docker", name)

    transport, sep, rest = text.partition(":")
    if sep and transport in TRANSPORTS and not Path(text).exists():
        if transport == "docker":
            raise ImageError(
                f"{text!r}: the docker transport needs two slashes",
                hint=f"write docker://{rest.lstrip('/')}",
            )
        path, _, selector = rest.partition(":")
        if transport in ("dir", "tar"):
            # These transports take no selector, so a colon belongs to the path.
            path, selector = rest, ""
        if not path:
            raise ImageError(
                f"{text!r}: missing path after {transport}:",
                hint=f"write {transport}:PATH",
            )
        return ImageReference(transport, path, selector or None)
    if sep and len(transport) > 1 and "/" not in transport and not Path(text).exists():
        raise ImageError(
            f"{text!r}: unknown transport {transport!r}",
            hint=f"use one of {', '.join(t + ':' for t in TRANSPORTS)} or a plain path",
        )
    return ImageReference(detect_transport(Path(text)), text)


#: Top-level member names that only a docker-archive has.
_ARCHIVE_MARKERS = ("manifest.json", "repositories")
#: Top-level names a docker-archive may hold: ``<hex>/`` or ``<hex>.json`` in the
#: legacy layout, ``blobs/``, ``index.json`` and ``oci-layout`` in the newer one.
_ARCHIVE_NAME = re.compile(r"^([a-f0-9]{64}(\.json|\.tar)?|blobs|index\.json|oci-layout)$")


_READ_ERRORS: tuple[type[Exception], ...] = (tarfile.TarError, *DECOMPRESSION_ERRORS)


def detect_transport(path: Path) -> str:
    """Return the transport that fits the content at ``path``.

    A folder with ``oci-layout`` and ``index.json`` is ``oci``, any other
    folder ``dir``. A tar archive (plain or compressed) with ``manifest.json``
    or ``repositories`` at its top is ``docker-archive``, and any other tar
    archive ``tar``. Only the first members are read: the first top-level name
    that a docker-archive cannot hold decides for ``tar``.
    """
    if not path.exists():
        raise ImageError(f"{str(path)!r}: no such file or folder", hint="check the image path")
    if path.is_dir():
        if (path / "oci-layout").is_file() and (path / "index.json").is_file():
            return "oci"
        return "dir"
    if not path.is_file():
        # Sniffing a FIFO would wait for a writer forever.
        raise ImageError(
            f"{str(path)!r}: not a regular file or folder",
            hint="give an image file, an OCI layout or a root filesystem folder",
        )
    try:
        with path.open("rb") as raw:
            stream = decompressed(raw, sniff_file(raw))
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    top = member.name.lstrip("/").removeprefix("./").split("/", 1)[0]
                    if top in _ARCHIVE_MARKERS:
                        return "docker-archive"
                    if top not in ("", ".") and not _ARCHIVE_NAME.match(top):
                        return "tar"
    except _READ_ERRORS as error:
        raise ImageError(
            f"{str(path)!r}: not an image: neither an OCI layout, a folder nor a tar archive "
            f"({error})",
            hint="give oci:DIR, docker-archive:FILE, dir:PATH or tar:FILE",
        ) from error
    return "tar"
