"""The ``hardbase.yaml`` schema: which images a repository builds and where they go.

Keys are kebab-case and map one to one onto the fields below; unknown keys
are errors. The file is optional: without it, images are discovered from
build specs and Dockerfiles, and only those with a reference can be checked,
rebuilt or rolled out.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hardbase._yamlmodel import StrictModel, read_yaml, validate_yaml
from hardbase.errors import InputError
from hardbase.rebuild.references import ReferenceError, parse_reference

CONFIG_NAME = "hardbase.yaml"
MAX_CONFIG_BYTES = 1024 * 1024

_IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POLICY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


class ConfigError(InputError):
    """A ``hardbase.yaml`` that is not valid."""


def _relative(value: str, what: str) -> str:
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"{what} {value!r} must be a path inside the repository, without '..'")
    return str(pure)


class ImageEntry(StrictModel):
    """One image the repository builds."""

    name: str
    """Short unique name, used in logs, plans and exports."""
    reference: str
    """Reference the image is pushed to: ``docker://HOST/NAME:TAG``."""
    spec: str | None = None
    """hardbase build spec, relative to the repository root."""
    dockerfile: str | None = None
    """Dockerfile, relative to the repository root."""
    context: str | None = None
    """Build context of a Dockerfile; defaults to the Dockerfile's folder."""
    build_args: dict[str, str] = Field(default_factory=dict)
    platform: str | None = None
    """``os/arch[/variant]`` to build for; None means the builder's default."""
    flux_policy: str | None = None
    """Flux ``NAMESPACE:NAME`` image policy whose setter comments this image updates."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _IMAGE_NAME.match(value):
            raise ValueError(f"image name {value!r} must be lowercase letters, digits, . _ -")
        return value

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not value.startswith("docker://"):
            raise ValueError(f"reference {value!r} must be docker://HOST/NAME:TAG")
        try:
            parsed = parse_reference(value)
        except ReferenceError as error:
            raise ValueError(error.message) from None
        if parsed.digest:
            raise ValueError(f"reference {value!r} must name a tag, not a digest")
        return value

    @field_validator("spec", "dockerfile", "context")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else _relative(value, "path")

    @field_validator("build_args")
    @classmethod
    def _args(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ARG_NAME.match(key):
                raise ValueError(f"build arg {key!r} is not a valid name")
        return value

    @field_validator("flux_policy")
    @classmethod
    def _policy(cls, value: str | None) -> str | None:
        if value is not None and not _POLICY.match(value):
            raise ValueError(f"flux-policy {value!r} must be NAMESPACE:NAME")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ImageEntry:
        if (self.spec is None) == (self.dockerfile is None):
            raise ValueError(f"image {self.name}: give exactly one of spec or dockerfile")
        if self.spec is not None and (self.context or self.build_args):
            raise ValueError(f"image {self.name}: context and build-args are for Dockerfiles")
        return self


class ArchiveSettings(StrictModel):
    """The signed archive that pending updates are checked against."""

    mirror: str | None = None
    """Mirror of the release and ``-updates`` suites; None means the distribution's default."""
    security_mirror: str | None = None
    keyring: str | None = None
    """Keyring file that signs both mirrors' Release files."""
    components: tuple[str, ...] = ("main",)
    pending: Literal["security", "all", "off"] = "security"
    """Pending updates that make an image stale: security ones, every one, or none."""


class RebuildConfig(StrictModel):
    """A whole ``hardbase.yaml``."""

    registry: str | None = None
    """The repository's own registry prefix (``HOST[/NAMESPACE]``); see docs/rebuild.md."""
    tls_verify: bool = True
    """Verify registry TLS certificates; turn off only for a registry on 127.0.0.1."""
    discover: bool = True
    """Also find specs and Dockerfiles that ``images`` does not list."""
    exclude: tuple[str, ...] = ()
    """Folders or files, relative to the root, that discovery skips."""
    images: tuple[ImageEntry, ...] = ()
    archive: ArchiveSettings = ArchiveSettings()
    builder: Literal["auto", "buildah", "docker"] = "auto"
    """Dockerfile builder: ``auto`` uses ``docker buildx`` when an engine responds, else buildah."""
    storage: str | None = None
    """Folder for buildah's temporary storage; None means a temporary folder."""
    state: str = ".hardbase/rebuild-state.json"
    log: str = ".hardbase/rebuild-log.json"
    check_external: bool = False
    """Look up the registry digest of external bases (outside the repository) too."""

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = parse_reference(value.rstrip("/") + "/x")
        except ReferenceError as error:
            raise ValueError(f"registry {value!r}: {error.message}") from None
        return parsed.name[: -len("/x")]

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_relative(item, "exclude entry") for item in value)

    @field_validator("state", "log")
    @classmethod
    def _files(cls, value: str) -> str:
        return _relative(value, "path")

    @model_validator(mode="after")
    def _unique(self) -> RebuildConfig:
        names = [image.name for image in self.images]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"image names must be unique: {', '.join(duplicates)}")
        references = [parse_reference(image.reference).tagged for image in self.images]
        duplicates = sorted({ref for ref in references if references.count(ref) > 1})
        if duplicates:
            raise ValueError(f"two images push to the same reference: {', '.join(duplicates)}")
        return self


def load_config(root: Path, path: Path | None = None) -> RebuildConfig:
    """Read ``hardbase.yaml`` from ``root`` (or ``path``); a missing default file means defaults.

    Raises ConfigError naming the file for unreadable, invalid or unknown keys.
    """
    explicit = path is not None
    file = path if path is not None else root / CONFIG_NAME
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: no such file", hint="check the --config path")
        return RebuildConfig()
    document = read_yaml(file, what="config", max_bytes=MAX_CONFIG_BYTES, error_type=ConfigError)
    if document.data is None:
        return RebuildConfig()
    if not isinstance(document.data, dict):
        raise ConfigError(f"{file}: must be a YAML mapping of keys to values")
    return validate_yaml(
        RebuildConfig, document, error_type=ConfigError, hint="see docs/rebuild.md"
    )
