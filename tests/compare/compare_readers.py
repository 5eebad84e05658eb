"""Independent readings of real images for the comparison tests.

Each helper reads the image files with the standard library only (tarfile,
json, plain text parsing), so a test compares hardbase's figures with values
that do not come from hardbase's own readers.
"""

from __future__ import annotations

import io
import json
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

SHELL_NAMES = ("sh", "bash", "dash", "ash", "zsh", "ksh", "busybox")


@dataclass(frozen=True)
class Member:
    """A regular file, link or folder of a root filesystem, read from a tar member."""

    path: str
    type: str
    mode: int
    size: int
    content: bytes | None = None
    link: str = ""


def read_members(tar_stream: Path | bytes, keep: tuple[str, ...] = ()) -> dict[str, Member]:
    """Return the members of a root filesystem tar by absolute path; the last one wins.

    Content is kept for the paths listed in ``keep`` only. A hard link gets
    the size of the file it links to.
    """
    members: dict[str, Member] = {}
    source = tar_stream if isinstance(tar_stream, Path) else None
    stream = io.BytesIO(tar_stream) if isinstance(tar_stream, bytes) else None
    with tarfile.open(source, mode="r:*", fileobj=stream) as archive:
        for info in archive:
            path = "/" + info.name.lstrip("./").rstrip("/")
            if path == "/":
                continue
            if info.islnk():
                target = members.get("/" + info.linkname.lstrip("./"))
                size = target.size if target else 0
                members[path] = Member(path, "file", info.mode, size)
                continue
            kind = "other"
            if info.isreg():
                kind = "file"
            elif info.issym():
                kind = "symlink"
            content = None
            if info.isreg() and path in keep:
                handle = archive.extractfile(info)
                content = handle.read() if handle else b""
            members[path] = Member(path, kind, info.mode, info.size, content, info.linkname)
    return members


def unpacked_size(members: dict[str, Member]) -> int:
    """Return the bytes of regular-file content, hard links counted at their target's size."""
    return sum(m.size for m in members.values() if m.type == "file")


def setuid_setgid(members: dict[str, Member]) -> tuple[int, int]:
    """Count regular files with setuid and an execute bit, and with setgid and group execute."""
    setuid = setgid = 0
    for member in members.values():
        if member.type != "file":
            continue
        setuid += bool(member.mode & stat.S_ISUID) and bool(member.mode & 0o111)
        setgid += bool(member.mode & stat.S_ISGID) and bool(member.mode & stat.S_IXGRP)
    return setuid, setgid


def dpkg_installed(status: bytes) -> dict[str, str]:
    """Return ``{package: version}`` of stanzas whose Status ends in ``installed``."""
    packages: dict[str, str] = {}
    for stanza in status.decode().split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            packages[fields["Package"]] = fields["Version"]
    return packages


def apk_installed(database: bytes) -> dict[str, str]:
    """Return ``{package: version}`` from apk's installed database."""
    packages: dict[str, str] = {}
    name = ""
    for line in database.decode().splitlines():
        if line.startswith("P:"):
            name = line[2:]
        elif line.startswith("V:") and name:
            packages[name] = line[2:]
    return packages


@dataclass(frozen=True)
class OciImage:
    """The parts of a single-image OCI layout the tests check against."""

    config: dict[str, object]
    layer_sizes: tuple[int, ...]
    layer_media_types: tuple[str, ...]
    members: dict[str, Member]


def read_oci(layout: Path, keep: tuple[str, ...] = ()) -> OciImage:
    """Read the one image of an OCI layout: its config, layer blob sizes and merged members.

    Layers are applied in order without whiteout handling, which is enough for
    the single-layer images ``hardbase build`` writes.
    """
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, manifest_digest).read_text())
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_text())
    members: dict[str, Member] = {}
    for layer in manifest["layers"]:
        members.update(read_members(_blob(layout, layer["digest"]), keep))
    return OciImage(
        config=config,
        layer_sizes=tuple(
            _blob(layout, layer["digest"]).stat().st_size for layer in manifest["layers"]
        ),
        layer_media_types=tuple(layer["mediaType"] for layer in manifest["layers"]),
        members=members,
    )


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, value = digest.partition(":")
    return layout / "blobs" / algorithm / value


def distro_info_row(csv_path: Path, series: str) -> dict[str, str]:
    """Return the row of ``series`` in a distro-info CSV file, split by hand."""
    lines = csv_path.read_text().splitlines()
    header = lines[0].split(",")
    for line in lines[1:]:
        values = line.split(",")
        row = dict(zip(header, values + [""] * (len(header) - len(values)), strict=True))
        if row["series"] == series:
            return row
    raise KeyError(series)
