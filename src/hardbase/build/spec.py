"""The build spec: one typed schema for the YAML file that ``hardbase build`` reads.

Keys in the YAML file are written in kebab-case (``run-as``, ``security-mirror``)
and map one to one onto the fields below. Unknown keys are errors, so a typo
never turns silently into a default.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from hardbase._yamlmodel import StrictModel, YamlFile, read_yaml, validate_yaml
from hardbase.errors import InputError

#: Largest spec file read; real specs are a few kilobytes.
MAX_SPEC_BYTES = 1024 * 1024

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
NOLOGIN = "/usr/sbin/nologin"

#: Suites that have no ``-security`` or ``-updates`` companion in the Debian archive.
_ROLLING_SUITES = frozenset({"unstable", "sid", "experimental", "rc-buggy"})

# The patterns end in \Z, not $: "$" also matches before a final newline, and a
# name such as "app\n" would then split its /etc/passwd line in two.
_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?\Z")
_ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\Z")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_SUITE = re.compile(r"^[a-z][a-z0-9-]*\Z")
_COMPONENT = re.compile(r"^[a-z][a-z0-9-]*(/[a-z0-9-]+)?\Z")
_ARCHITECTURE = re.compile(r"^[a-z0-9]+\Z")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}\Z")
_OWNER_IDS = re.compile(r"^[0-9]{1,10}:[0-9]{1,10}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _absolute(path: str, what: str) -> str:
    pure = PurePosixPath(path)
    if not pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"{what} {path!r} must be an absolute path without '..'")
    if _CONTROL.search(path):
        raise ValueError(f"{what} {path!r} must not contain control characters")
    return str(pure)


def _mode(value: object) -> int:
    """Accept a mode as an octal string ("0755") or an integer written in YAML as 0o755."""
    if isinstance(value, bool):
        raise ValueError("mode must be an octal string such as '0755'")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"0?o?[0-7]{3,4}", value):
        number = int(value.replace("o", ""), 8)
    else:
        raise ValueError(f"mode {value!r} is not an octal string such as '0755'")
    if not 0 <= number <= 0o7777:
        raise ValueError(f"mode {value!r} is out of range")
    return number


class Distribution(StrictModel):
    """Where packages come from."""

    suite: str = "bookworm"
    """Suite (``stable``) or codename (``bookworm``) to install."""
    mirror: str = DEFAULT_MIRROR
    """Debian mirror URL for the main suite and ``-updates``."""
    components: tuple[str, ...] = ("main",)
    """Archive components to enable."""
    security: bool | None = None
    """Add the ``SUITE-security`` suite. None means on, except for unstable and experimental."""
    security_mirror: str = DEFAULT_SECURITY_MIRROR
    """Mirror URL for the security suite."""
    updates: bool | None = None
    """Add the ``SUITE-updates`` suite. None means on, except for unstable and experimental."""
    keyring: str = DEFAULT_KEYRING
    """OpenPGP keyring on the build host that signs the archive's Release files."""
    install_recommends: bool = False
    """Install the Recommends of the listed packages as well."""

    @field_validator("suite")
    @classmethod
    def _suite(cls, value: str) -> str:
        if not _SUITE.match(value):
            raise ValueError(f"suite {value!r} is not a Debian suite or codename")
        return value

    @field_validator("mirror", "security_mirror")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^(https?|file)://[^\s]+\Z", value):
            raise ValueError(f"mirror {value!r} must be an http://, https:// or file:// URL")
        return value.rstrip("/")

    @field_validator("components")
    @classmethod
    def _components(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("components must name at least one component, such as main")
        for component in value:
            if not _COMPONENT.match(component):
                raise ValueError(f"component {component!r} is not a valid archive component")
        return value

    @property
    def is_rolling(self) -> bool:
        return self.suite in _ROLLING_SUITES

    @property
    def with_security(self) -> bool:
        return self.security if self.security is not None else not self.is_rolling

    @property
    def with_updates(self) -> bool:
        return self.updates if self.updates is not None else not self.is_rolling

    def sources(self) -> list[str]:
        """Return the one-line-style apt sources that mmdebstrap takes as mirror arguments."""
        components = " ".join(self.components)
        lines = [f"deb {self.mirror} {self.suite} {components}"]
        if self.with_updates:
            lines.append(f"deb {self.mirror} {self.suite}-updates {components}")
        if self.with_security:
            lines.append(f"deb {self.security_mirror} {self.suite}-security {components}")
        return lines


class Group(StrictModel):
    """A group written to /etc/group and /etc/gshadow."""

    name: str
    gid: Annotated[int, Field(ge=0, le=2**31 - 1)]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.match(value):
            raise ValueError(f"group name {value!r} is not a valid account name")
        return value


class User(StrictModel):
    """A user written to /etc/passwd and /etc/shadow, with a locked password."""

    name: str
    uid: Annotated[int, Field(ge=0, le=2**31 - 1)]
    gid: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    """Primary group id; None means a group of the user's name with gid equal to the uid."""
    home: str | None = None
    """Home folder, created owned by the user with mode 0750; None means /home/NAME."""
    shell: str = NOLOGIN
    groups: tuple[str, ...] = ()
    """Names of supplementary groups."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.match(value):
            raise ValueError(f"user name {value!r} is not a valid account name")
        return value

    @field_validator("home", "shell")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = _absolute(value, "path")
        # A colon would start a new /etc/passwd field, and the home folder is
        # given to the user: the root folder must stay root's.
        if ":" in path:
            raise ValueError(f"path {value!r} must not contain ':'")
        if path == "/":
            raise ValueError("home must not be the root folder")
        return path

    @property
    def primary_gid(self) -> int:
        return self.uid if self.gid is None else self.gid

    @property
    def home_dir(self) -> str:
        return self.home or f"/home/{self.name}"


#: The user created when a spec lists none, so that images never run as root by default.
DEFAULT_USER = User(name="nonroot", uid=1000, gid=1000, home="/home/nonroot")


class Flavour(enum.StrEnum):
    """How much of what mmdebstrap installed stays in the image."""

    STANDARD = "standard"
    """Every package installed: the Essential set plus the listed packages."""
    SLIM = "slim"
    """Only the listed packages, base-files and what they depend on."""
    RUNTIME = "runtime"
    """Like slim, without shells, package managers and what only they need."""


class Hardening(StrictModel):
    """What the hardening pass removes from the root filesystem."""

    flavour: Flavour = Flavour.STANDARD
    strip_docs: bool = True
    """Remove /usr/share/doc except each package's copyright file."""
    strip_man: bool = True
    """Remove manual pages."""
    strip_info: bool = True
    """Remove info manuals."""
    keep_locales: tuple[str, ...] = ()
    """Message catalogs and locales to keep (``de``, ``pt_BR``); all others are removed."""
    strip_caches: bool = True
    """Remove apt's package lists and caches, debconf's backup files and ldconfig's cache."""
    strip_logs: bool = True
    """Remove files under /var/log, keeping its folders."""
    setuid_allowlist: tuple[str, ...] = ()
    """Absolute paths that keep their setuid and setgid bits; every other file loses them."""
    remove_packages: tuple[str, ...] = ()
    """Packages to remove besides what the flavour removes (slim and runtime flavours)."""

    @field_validator("setuid_allowlist")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_absolute(path, "setuid-allowlist entry") for path in value)


class PathEntry(StrictModel):
    """A folder or file to create in the image."""

    path: str
    type: Literal["directory", "file"] = "directory"
    owner: str = "0:0"
    """``UID:GID`` or a user name from ``users``; the user's primary group is used then."""
    mode: Annotated[int, Field(validate_default=True)] = 0o755
    content: str | None = None
    """Text of a file; only for ``type: file``."""

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        path = _absolute(value, "path")
        if path == "/":
            raise ValueError("path must not be the root folder")
        return path

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> int:
        return _mode(value)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        if ":" in value and not _OWNER_IDS.match(value):
            raise ValueError(f"owner {value!r} must be numeric UID:GID or a user name")
        if ":" in value and max(int(part) for part in value.split(":")) > 2**31 - 1:
            raise ValueError(f"owner {value!r} is out of range")
        return value

    @model_validator(mode="after")
    def _content(self) -> PathEntry:
        if self.content is not None and self.type != "file":
            raise ValueError(f"path {self.path}: content is only allowed with type: file")
        return self


class BaseImage(StrictModel):
    """The image this one continues, recorded as ``org.opencontainers.image.base.*``."""

    name: str
    digest: str

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not _DIGEST.match(value):
            raise ValueError(f"base digest {value!r} is not a sha256:HEX digest")
        return value


class BuildSpec(StrictModel):
    """A whole build spec."""

    name: str
    """Image name, used for the title annotation and as the default tag's repository."""
    description: str | None = None
    distribution: Distribution = Distribution()
    architecture: str | None = None
    """Debian architecture (``amd64``, ``arm64``); None means the build host's."""
    packages: tuple[str, ...] = ()
    """Packages to install, optionally as ``NAME=VERSION``."""
    groups: tuple[Group, ...] = ()
    users: tuple[User, ...] = ()
    """Accounts to create; when empty, a ``nonroot`` user with uid and gid 1000 is created."""
    run_as: str | None = None
    """User name or uid the image runs as; None means the user with uid 1000."""
    workdir: str | None = None
    """Working folder; None means the run-as user's home."""
    env: dict[str, str] = Field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    """Manifest annotations, added to the ``org.opencontainers.image.*`` ones filled in."""
    base: BaseImage | None = None
    hardening: Hardening = Hardening()
    paths: tuple[PathEntry, ...] = ()

    @field_validator("name")
    @classmethod
    def _image_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*", value):
            raise ValueError(
                f"name {value!r} must be a lowercase image name such as debian-runtime"
            )
        return value

    @field_validator("architecture")
    @classmethod
    def _architecture(cls, value: str | None) -> str | None:
        if value is not None and not _ARCHITECTURE.match(value):
            raise ValueError(f"architecture {value!r} is not a Debian architecture name")
        return value

    @field_validator("packages")
    @classmethod
    def _packages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _PACKAGE_NAME.match(name):
                raise ValueError(f"package {name!r} is not a valid Debian package name")
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, value: str | None) -> str | None:
        return None if value is None else _absolute(value, "workdir")

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENV_NAME.match(key):
                raise ValueError(f"env name {key!r} is not a valid variable name")
        return value

    @model_validator(mode="after")
    def _accounts(self) -> BuildSpec:
        users = self.accounts()
        names = [user.name for user in users]
        uids = [user.uid for user in users]
        if len(set(names)) != len(names) or len(set(uids)) != len(uids):
            raise ValueError("users must have distinct names and uids")
        group_names = {group.name for group in self.groups} | set(names)
        for user in users:
            for group in user.groups:
                if group not in group_names:
                    raise ValueError(f"user {user.name}: group {group!r} is not in groups")
        self.run_as_user()
        for entry in self.paths:
            if ":" not in entry.owner and entry.owner not in names:
                raise ValueError(f"path {entry.path}: owner {entry.owner!r} is not in users")
        return self

    def accounts(self) -> tuple[User, ...]:
        """Return the users to create: the listed ones, or the default ``nonroot`` user."""
        return self.users or (DEFAULT_USER,)

    def run_as_user(self) -> User:
        """Return the user the image runs as, raising ValueError when ``run-as`` names none."""
        users = self.accounts()
        if self.run_as is None:
            for user in users:
                if user.uid == 1000:
                    return user
            raise ValueError("no user has uid 1000; set run-as to one of the users")
        for user in users:
            if self.run_as in (user.name, str(user.uid)):
                return user
        raise ValueError(f"run-as {self.run_as!r} names no user in users")

    def digest(self) -> str:
        """Return a sha256 hex digest of the spec's content, stable across key order."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def parse_spec(document: Any, source: str) -> BuildSpec:
    """Validate a parsed YAML document as a BuildSpec, raising SpecError naming ``source``."""
    return _validate(YamlFile(source, document))


def load_spec(path: Path) -> BuildSpec:
    """Read and validate the build spec at ``path``, raising SpecError on any problem.

    Only a regular file is read: a FIFO would block and a device never end.
    Validation errors name the line of the key at fault.
    """
    return _validate(
        read_yaml(path, what="build spec", max_bytes=MAX_SPEC_BYTES, error_type=SpecError)
    )


def _validate(file: YamlFile) -> BuildSpec:
    if not isinstance(file.data, dict):
        raise SpecError(f"{file.source}: a build spec must be a YAML mapping of keys to values")
    return validate_yaml(
        BuildSpec, file, error_type=SpecError, hint="see docs/build.md for every key"
    )


class SpecError(InputError):
    """A build spec that is not valid."""
