"""Parse and normalize registry image references (``[HOST/]NAME[:TAG][@DIGEST]``).

Normalization follows the Docker distribution rules: a first path component
with a dot or a colon, or ``localhost``, is a registry host; otherwise the
registry is ``docker.io``, and a single-component name on ``docker.io`` gets
the ``library/`` namespace. So ``debian``, ``library/debian`` and
``docker.io/library/debian`` name the same repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hardbase.errors import InputError

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")

#: Longest reference accepted; the distribution spec limits names to 255 characters.
MAX_REFERENCE = 512


class ReferenceError(InputError):
    """An image reference that cannot be parsed."""


@dataclass(frozen=True)
class Reference:
    """A normalized image reference."""

    registry: str
    """Registry host with optional port, ``docker.io`` when none was written."""
    repository: str
    """Repository path inside the registry, with ``library/`` added on ``docker.io``."""
    tag: str | None = None
    digest: str | None = None
    """``sha256:HEX`` when the reference is pinned."""

    @property
    def name(self) -> str:
        """``REGISTRY/REPOSITORY``: the repository without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def tagged(self) -> str:
        """``REGISTRY/REPOSITORY:TAG``, with ``latest`` when no tag was written."""
        return f"{self.name}:{self.tag or DEFAULT_TAG}"

    def same_image(self, other: Reference) -> bool:
        """Return True when both name the same repository and tag, ignoring digests.

        A reference with only a digest matches any tag of the repository.
        """
        if self.name != other.name:
            return False
        if self.tag is None and self.digest is not None:
            return True
        if other.tag is None and other.digest is not None:
            return True
        return (self.tag or DEFAULT_TAG) == (other.tag or DEFAULT_TAG)

    def pinned(self, digest: str) -> str:
        """Return ``REGISTRY/REPOSITORY@DIGEST``, the form every registry client pulls."""
        return f"{self.name}@{digest}"

    def transport(self) -> str:
        """Return the skopeo form ``docker://REGISTRY/REPOSITORY:TAG`` (or ``@DIGEST``)."""
        if self.digest and not self.tag:
            return f"docker://{self.name}@{self.digest}"
        return f"docker://{self.tagged}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse ``[docker://][HOST/]NAME[:TAG][@sha256:HEX]`` into a normalized Reference.

    Raises ReferenceError naming ``text`` when any part is malformed.
    """
    original = text
    if len(text) > MAX_REFERENCE:
        raise ReferenceError(f"image reference {text[:60]!r}... is longer than {MAX_REFERENCE}")
    text = text.removeprefix("docker://")
    if not text:
        raise ReferenceError("empty image reference", hint="write HOST/NAME:TAG")

    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise ReferenceError(
            f"image reference {original!r}: {digest!r} is not a sha256:HEX digest",
            hint="write NAME:TAG@sha256: followed by 64 hex digits",
        )
    tag: str | None = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise ReferenceError(f"image reference {original!r}: {tag!r} is not a valid tag")

    parts = name.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, parts[1:]
        if not _HOST.match(registry):
            raise ReferenceError(f"image reference {original!r}: {registry!r} is not a host")
    else:
        registry, path = DEFAULT_REGISTRY, parts
    if registry == DEFAULT_REGISTRY and len(path) == 1:
        path = ["library", *path]
    for component in path:
        if not _COMPONENT.match(component):
            raise ReferenceError(
                f"image reference {original!r}: {component!r} is not a valid name component",
                hint="names are lowercase letters, digits and separators . _ -",
            )
    return Reference(registry, "/".join(path), tag, digest or None)


def looks_like_reference(text: str) -> bool:
    """Return True when ``text`` parses as an image reference."""
    try:
        parse_reference(text)
    except ReferenceError:
        return False
    return True
