"""Parse image references, with transports named as skopeo names them."""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import ImageError
from hardbase.image.compression import decompressed, sniff_file

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
    """Parse ``TRANSPORT:PATH[:SELECTOR]`` or a bare path whose kind is detected by content."""
    if not text:
        raise ImageError("empty image reference", hint="give a path or TRANSPORT:PATH")
    if text.startswith("docker://"):
        name = text[len("docker://") :]
        if not name:
            raise ImageError(f"{text}: missing image name", hint="write docker://HOST/NAME:TAG")
        return ImageReference("docker", name)

    transport, sep, rest = text.partition(":")
    if sep and transport in TRANSPORTS and not Path(text).exists():
        path, _, selector = rest.partition(":")
        if not path:
            raise ImageError(f"{text}: missing path after {transport}:")
        if transport in ("dir", "tar") and selector:
            # These transports take no selector, so the colon belongs to the path.
            path, selector = rest, ""
        return ImageReference(transport, path, selector or None)
    if sep and transport and "/" not in transport and not Path(text).exists() and len(transport) > 1:
        raise ImageError(
            f"{text}: unknown transport {transport!r}",
            hint=f"use one of {', '.join(t + ':' for t in TRANSPORTS)} or a plain path",
        )
    return ImageReference(detect_transport(Path(text)), text)


def detect_transport(path: Path) -> str:
    """Return the transport that fits the content at ``path``."""
    if not path.exists():
        raise ImageError(f"{path}: no such file or folder", hint="check the image path")
    if path.is_dir():
        if (path / "oci-layout").is_file() and (path / "index.json").is_file():
            return "oci"
        return "dir"
    try:
        with path.open("rb") as raw:
            compression = sniff_file(raw)
            stream = decompressed(raw, compression)
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for count, member in enumerate(archive):
                    if member.name.lstrip("./") in ("manifest.json", "repositories"):
                        return "docker-archive"
                    if count > 100_000:
                        break
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ImageError(
            f"{path}: not an image: neither an OCI layout, a folder nor a tar archive ({error})",
            hint="give oci:DIR, docker-archive:FILE, dir:PATH or tar:FILE",
        ) from error
    return "tar"
