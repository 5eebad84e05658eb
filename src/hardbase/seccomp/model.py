"""The Docker/OCI seccomp profile as a validated model, and loading it from a file.

The JSON format is the one Docker (moby ``profiles/seccomp``), Podman
(containers/common ``pkg/seccomp``) and a Kubernetes ``Localhost`` profile
read. Field names follow that JSON through aliases; unknown keys are schema
errors, so a misspelt key is reported instead of being silently ignored as
the Go runtimes do. The containers/common extensions ``defaultErrno`` and
``errno`` are accepted because that project's shipped profile uses them.
"""

from __future__ import annotations

import enum
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hardbase.errors import InputError

#: Profiles are a few hundred kilobytes at most; a larger file is refused before parsing.
MAX_PROFILE_BYTES = 16 * 1024 * 1024

#: Maximum rules and syscall names in a profile, which bound the pairwise
#: checks of validate. Docker's default profile has about 30 rules and 400
#: names, and a profile with one rule per syscall has about 450 rules.
MAX_RULES = 2048
MAX_NAMES = 16384

_UINT64_MAX = 2**64 - 1
# The errno a filter returns is stored in the low 16 bits of the action.
_ERRNO_MAX = 0xFFFF


class Operator(enum.StrEnum):
    """Comparison applied to one syscall argument (``scmp_compare`` in libseccomp)."""

    NE = "SCMP_CMP_NE"
    LT = "SCMP_CMP_LT"
    LE = "SCMP_CMP_LE"
    EQ = "SCMP_CMP_EQ"
    GE = "SCMP_CMP_GE"
    GT = "SCMP_CMP_GT"
    MASKED_EQ = "SCMP_CMP_MASKED_EQ"


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, validate_default=False
    )


class Arg(_Strict):
    """A condition on one syscall argument."""

    index: int = Field(ge=0, le=5)
    """Argument position, 0 to 5."""
    value: int = Field(ge=0, le=_UINT64_MAX)
    value_two: int = Field(0, alias="valueTwo", ge=0, le=_UINT64_MAX)
    """Second operand: the mask for ``SCMP_CMP_MASKED_EQ``, unused by the other operators."""
    op: Operator


class Filter(_Strict):
    """The ``includes`` or ``excludes`` condition of a rule, evaluated by the container engine."""

    caps: tuple[str, ...] | None = None
    """Capabilities (``CAP_SYS_ADMIN``): all must be held to include, any held excludes."""
    arches: tuple[str, ...] | None = None
    """Go architecture names of the host (``amd64``, ``arm64``, ``x32``)."""
    min_kernel: str | None = Field(None, alias="minKernel", pattern=r"^\d+\.\d+$")
    """Kernel version as ``MAJOR.MINOR``."""


class Syscall(_Strict):
    """One rule: an action for a list of syscalls, optionally with argument conditions."""

    names: tuple[str, ...] | None = None
    name: str | None = None
    """Legacy single-name form; a rule has ``names`` or ``name``, never both."""
    action: str = Field(min_length=1)
    """``SCMP_ACT_*``; checked by validation rather than the schema, so a typo gets a hint."""
    errno_ret: int | None = Field(None, alias="errnoRet", ge=0, le=_ERRNO_MAX)
    errno: str | None = None
    """Symbolic errno written by containers/common next to ``errnoRet``; runtimes ignore it."""
    args: tuple[Arg, ...] | None = None
    comment: str | None = None
    includes: Filter | None = None
    excludes: Filter | None = None

    @model_validator(mode="after")
    def _one_name_form(self) -> Syscall:
        if self.name is not None and self.names:
            raise ValueError("use either 'names' or 'name', not both")
        if self.name is None and not self.names:
            raise ValueError("a rule needs 'names' (a list of syscalls) or 'name'")
        return self

    @property
    def all_names(self) -> tuple[str, ...]:
        """The syscalls this rule names, from ``names`` or the legacy ``name``."""
        if self.names:
            return self.names
        return (self.name,) if self.name is not None else ()

    def name_path(self, rule_index: int, position: int) -> str:
        """Return the JSON path of the ``position``-th name of this rule."""
        if self.names:
            return f"syscalls[{rule_index}].names[{position}]"
        return f"syscalls[{rule_index}].name"


class ArchMapEntry(_Strict):
    """Architectures to add to the filter when the host is ``architecture``."""

    architecture: str = Field(min_length=1)
    sub_architectures: tuple[str, ...] = Field((), alias="subArchitectures")


class Profile(_Strict):
    """A whole seccomp profile."""

    default_action: str = Field(alias="defaultAction", min_length=1)
    default_errno_ret: int | None = Field(None, alias="defaultErrnoRet", ge=0, le=_ERRNO_MAX)
    default_errno: str | None = Field(None, alias="defaultErrno")
    architectures: tuple[str, ...] | None = None
    arch_map: tuple[ArchMapEntry, ...] | None = Field(None, alias="archMap")
    syscalls: tuple[Syscall, ...] | None = None
    listener_path: str | None = Field(None, alias="listenerPath")
    """Unix socket of a seccomp agent that handles ``SCMP_ACT_NOTIFY``."""
    listener_metadata: str | None = Field(None, alias="listenerMetadata")
    flags: tuple[str, ...] | None = None
    """``SECCOMP_FILTER_FLAG_*`` passed when loading the filter."""

    @property
    def rules(self) -> tuple[Syscall, ...]:
        """The rules in file order (empty when ``syscalls`` is missing or null)."""
        return self.syscalls or ()

    def to_json(self) -> str:
        """Return the profile as indented JSON with the runtimes' key names."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json.dumps(data, indent=2) + "\n"


@dataclass(frozen=True)
class SchemaIssue:
    """One place where a profile does not match the schema."""

    path: str
    """JSON path such as ``syscalls[3].action``; empty for the document itself."""
    message: str


class ProfileSchemaError(InputError):
    """A profile that is valid JSON but not a valid seccomp profile."""

    def __init__(self, source: str, issues: tuple[SchemaIssue, ...]) -> None:
        first = issues[0]
        where = first.path or "top level"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(
            f"{source}: invalid seccomp profile at {where}: {first.message}{more}",
            hint="run 'hardbase seccomp validate' on it for every error with its path",
        )
        self.source = source
        self.issues = issues


def json_path(location: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a JSON path: ``syscalls[3].action``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = part
    return path


def _issues(error: ValidationError) -> Iterator[SchemaIssue]:
    for detail in error.errors(include_url=False):
        # Pydantic appends the union member or validator name to some locations.
        location = tuple(p for p in detail["loc"] if not (isinstance(p, str) and "[" in p))
        yield SchemaIssue(json_path(location), detail["msg"])


def parse_profile(text: str, source: str) -> Profile:
    """Parse ``text`` as a profile named ``source`` in messages.

    Raises InputError for invalid JSON (with line and column) and
    ProfileSchemaError, listing every issue with its JSON path, for a
    document that is not a profile.
    """
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{source}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
            hint="fix the syntax at that place",
        ) from error
    except RecursionError as error:
        raise InputError(f"{source}: JSON nested too deeply", hint="a profile is flat") from error
    except ValueError as error:
        # json.loads refuses integers of more than 4300 digits with a ValueError.
        raise InputError(
            f"{source}: invalid JSON: a number of more than 4300 digits",
            hint="errnoRet and argument values fit in 64 bits",
        ) from error
    if not isinstance(document, dict):
        raise ProfileSchemaError(source, (SchemaIssue("", "a profile is a JSON object"),))
    _check_size(document, source)
    try:
        return Profile.model_validate_json(text)
    except ValidationError as error:
        raise ProfileSchemaError(source, tuple(_issues(error))) from error


def _check_size(document: dict[str, Any], source: str) -> None:
    rules = document.get("syscalls")
    if not isinstance(rules, list):
        return
    if len(rules) > MAX_RULES:
        issue = SchemaIssue("syscalls", f"{len(rules)} rules, more than the limit of {MAX_RULES}")
        raise ProfileSchemaError(source, (issue,))
    names = sum(
        len(r["names"]) for r in rules if isinstance(r, dict) and isinstance(r.get("names"), list)
    )
    if names > MAX_NAMES:
        issue = SchemaIssue(
            "syscalls", f"{names} syscall names, more than the limit of {MAX_NAMES}"
        )
        raise ProfileSchemaError(source, (issue,))


def load_profile(path: Path) -> Profile:
    """Read and parse the profile at ``path``; see parse_profile for the errors raised.

    Only a regular file is read: a FIFO or device would block or never end.
    """
    try:
        # O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(
                    f"{path}: not a regular file", hint="give the path of a JSON profile"
                )
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as error:
        raise InputError(
            f"{path}: cannot read profile: {error.strerror}", hint="check the path"
        ) from error
    if len(data) > MAX_PROFILE_BYTES:
        raise InputError(
            f"{path}: profile larger than {MAX_PROFILE_BYTES // (1024 * 1024)} MiB",
            hint="a seccomp profile is a small JSON file: check that this is the right file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: profile is not UTF-8 (invalid byte at offset {error.start})",
            hint="save it as UTF-8 JSON",
        ) from error
    return parse_profile(text, str(path))
