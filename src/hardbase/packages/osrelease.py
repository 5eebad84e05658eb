"""Read os-release and the release files that older images rely on."""

from __future__ import annotations

import logging
import shlex

from hardbase.image.fs import FilesystemView, normalize, parent_of
from hardbase.packages.model import Distro

logger = logging.getLogger(__name__)

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")

#: Debian codenames by major version, for images whose os-release omits the
#: codename and for feeds (OSV) that name releases by number.
DEBIAN_CODENAMES = {
    "4": "etch",
    "5": "lenny",
    "6": "squeeze",
    "7": "wheezy",
    "8": "jessie",
    "9": "stretch",
    "10": "buster",
    "11": "bullseye",
    "12": "bookworm",
    "13": "trixie",
    "14": "forky",
    "15": "duke",
}

#: Ubuntu codenames by version, for feeds (OSV) that name releases by number.
UBUNTU_CODENAMES = {
    "14.04": "trusty",
    "16.04": "xenial",
    "18.04": "bionic",
    "20.04": "focal",
    "22.04": "jammy",
    "23.10": "mantic",
    "24.04": "noble",
    "24.10": "oracular",
    "25.04": "plucky",
    "25.10": "questing",
}

_MAX_BYTES = 64 * 1024


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release ``KEY=VALUE`` lines, with shell quoting, into a dictionary."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw, posix=True)
        except ValueError:
            words = [raw.strip("\"'")]
        fields[key.strip()] = " ".join(words)
    return fields


def _read_release_file(fs: FilesystemView, path: str) -> str | None:
    if not fs.is_file(path):
        return None
    text = fs.read_text(path, _MAX_BYTES)
    stripped = text.strip()
    # A link flattened to a text file when an image was copied holds only its target.
    if stripped and "=" not in stripped and "\n" not in stripped and "os-release" in stripped:
        target = (
            stripped if stripped.startswith("/") else normalize(parent_of(path) + "/" + stripped)
        )
        logger.info("%s contains the text of a link to %s; reading the target", path, target)
        if target != path and fs.is_file(target):
            return fs.read_text(target, _MAX_BYTES)
        return None
    return text


def read_distro(fs: FilesystemView) -> Distro | None:
    """Return the image's distribution, or None when no os-release is found."""
    fields: dict[str, str] = {}
    for path in OS_RELEASE_PATHS:
        text = _read_release_file(fs, path)
        if text:
            fields = parse_os_release(text)
            if fields.get("ID"):
                break
    if not fields.get("ID"):
        return _distro_without_os_release(fs)

    distro_id = fields["ID"].lower()
    codename = fields.get("VERSION_CODENAME") or fields.get("UBUNTU_CODENAME") or None
    version_id = fields.get("VERSION_ID") or None
    if distro_id == "debian":
        codename = codename or _debian_codename(fs, version_id, fields.get("VERSION"))
    if distro_id == "alpine" and fs.is_file("/etc/alpine-release"):
        version_id = fs.read_text("/etc/alpine-release", 256).strip() or version_id
    return Distro(
        id=distro_id,
        version_id=version_id,
        codename=codename,
        pretty_name=fields.get("PRETTY_NAME"),
        id_like=tuple(fields.get("ID_LIKE", "").split()),
    )


def _debian_codename(fs: FilesystemView, version_id: str | None, version: str | None) -> str | None:
    if version and "(" in version and version.endswith(")"):
        return version[version.index("(") + 1 : -1]
    if version_id in DEBIAN_CODENAMES:
        return DEBIAN_CODENAMES[version_id]
    if fs.is_file("/etc/debian_version"):
        text = fs.read_text("/etc/debian_version", 256).strip()
        if "/" in text:
            # Testing and unstable write "trixie/sid".
            return text.split("/")[0]
        return DEBIAN_CODENAMES.get(text.split(".")[0])
    return None


def _distro_without_os_release(fs: FilesystemView) -> Distro | None:
    if fs.is_file("/etc/alpine-release"):
        return Distro(id="alpine", version_id=fs.read_text("/etc/alpine-release", 256).strip())
    if fs.is_file("/etc/debian_version"):
        return Distro(id="debian", codename=_debian_codename(fs, None, None))
    return None
