"""Find the images a Dockerfile builds on: every stage's base and ``COPY --from`` images.

Only what decides the image graph is parsed: parser directives (``escape``),
line continuations, global ``ARG`` defaults with ``--build-arg`` values,
``FROM [--platform=P] IMAGE [AS NAME]`` and ``--from=`` flags. Variables in
``FROM`` are expanded as BuildKit does for ``$NAME``, ``${NAME}``,
``${NAME:-default}`` and ``${NAME:+alternative}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hardbase.errors import InputError
from hardbase.rebuild.references import Reference, ReferenceError, parse_reference

#: Largest Dockerfile read; real ones are a few kilobytes.
MAX_DOCKERFILE_BYTES = 1024 * 1024

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_FROM_FLAG = re.compile(r"--from=(\S+)")


class DockerfileError(InputError):
    """A Dockerfile whose base images cannot be worked out."""


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` instruction and the build stage it starts."""

    index: int
    line: int
    """Line number (1-based) of the ``FROM`` keyword."""
    written: str
    """The image as written, before variables are expanded."""
    image: str
    """The image after expansion: a reference, ``scratch`` or an earlier stage's name."""
    alias: str | None
    platform: str | None
    parent_stage: int | None
    """Index of the earlier stage this one continues, when ``image`` names one."""
    reference: Reference | None
    """The base image, or None for ``scratch`` and earlier stages."""


@dataclass(frozen=True)
class DockerfileInfo:
    """The images a Dockerfile reads."""

    stages: tuple[Stage, ...]
    copy_from: tuple[Reference, ...]
    """Images named by ``COPY --from=`` or ``RUN --mount=from=``, not stages."""

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def final_base(self) -> Stage | None:
        """Return the stage whose external base the final image continues, or None for scratch."""
        stage = self.final
        while stage.parent_stage is not None:
            stage = self.stages[stage.parent_stage]
        return stage if stage.reference is not None else None

    def build_inputs(self) -> tuple[Reference, ...]:
        """Return every other image the build reads: earlier stages' bases and copy sources."""
        final = self.final_base()
        found: list[Reference] = []
        for stage in self.stages:
            if stage.reference is not None and stage is not final:
                found.append(stage.reference)
        found.extend(self.copy_from)
        unique: list[Reference] = []
        for reference in found:
            if reference not in unique:
                unique.append(reference)
        return tuple(unique)


@dataclass(frozen=True)
class _Instruction:
    line: int
    keyword: str
    arguments: str


def parse_dockerfile(
    text: str, source: str, build_args: Mapping[str, str] | None = None
) -> DockerfileInfo:
    """Parse a Dockerfile's stages; ``build_args`` override global ``ARG`` defaults.

    Raises DockerfileError naming ``source`` and the line for a Dockerfile
    without ``FROM``, a ``FROM`` that expands to nothing or to no valid
    reference, and an instruction before the first ``FROM`` other than ``ARG``.
    """
    given = dict(build_args or {})
    scope: dict[str, str] = {}
    stages: list[Stage] = []
    aliases: dict[str, int] = {}
    copy_from: list[Reference] = []
    for instruction in _instructions(text):
        if instruction.keyword == "ARG" and not stages:
            _declare(instruction.arguments, given, scope)
        elif instruction.keyword == "FROM":
            stage = _stage(instruction, len(stages), scope, aliases, source)
            stages.append(stage)
            if stage.alias:
                aliases[stage.alias.lower()] = stage.index
        elif not stages:
            raise DockerfileError(
                f"{source}:{instruction.line}: {instruction.keyword} before the first FROM",
                hint="only ARG may come before FROM",
            )
        elif instruction.keyword in ("COPY", "RUN", "ADD"):
            for value in _FROM_FLAG.findall(instruction.arguments):
                reference = _copy_source(value.strip("\"'"), aliases, source, instruction.line)
                if reference is not None and reference not in copy_from:
                    copy_from.append(reference)
    if not stages:
        raise DockerfileError(f"{source}: no FROM instruction", hint="is this a Dockerfile?")
    return DockerfileInfo(tuple(stages), tuple(copy_from))


def _instructions(text: str) -> list[_Instruction]:
    """Split ``text`` into logical instructions, joining continuation lines."""
    escape = "\\"
    lines = text.splitlines()
    start = 0
    for number, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
        start = number + 1

    found: list[_Instruction] = []
    buffer: list[str] = []
    first_line = 0
    for number in range(start, len(lines)):
        stripped = lines[number].strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if not buffer:
            first_line = number + 1
        if stripped.endswith(escape):
            buffer.append(stripped[: -len(escape)])
            continue
        buffer.append(stripped)
        found.append(_split(" ".join(buffer), first_line))
        buffer = []
    if buffer:
        found.append(_split(" ".join(buffer), first_line))
    return found


def _split(logical: str, line: int) -> _Instruction:
    keyword, _, arguments = logical.strip().partition(" ")
    return _Instruction(line, keyword.upper(), arguments.strip())


def _declare(arguments: str, given: Mapping[str, str], scope: dict[str, str]) -> None:
    for declaration in arguments.split():
        name, equals, default = declaration.partition("=")
        default = default.strip("\"'")
        if name in given:
            scope[name] = given[name]
        elif equals:
            scope[name] = expand(default, scope)


def expand(text: str, scope: Mapping[str, str]) -> str:
    """Expand ``$NAME``, ``${NAME}``, ``${NAME:-default}`` and ``${NAME:+alt}`` in ``text``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = scope.get(name, "")
        operator, word = match.group(2), match.group(3) or ""
        if operator == ":-":
            return value or word
        if operator == ":+":
            return word if value else ""
        return value

    return _VARIABLE.sub(replace, text)


def _stage(
    instruction: _Instruction,
    index: int,
    scope: Mapping[str, str],
    aliases: Mapping[str, int],
    source: str,
) -> Stage:
    where = f"{source}:{instruction.line}"
    words = instruction.arguments.split()
    platform: str | None = None
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0).partition("=")
        if flag == "--platform":
            platform = expand(value, scope) or None
    if not words:
        raise DockerfileError(f"{where}: FROM names no image")
    written = words[0]
    alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
    image = expand(written, scope)
    if not image:
        raise DockerfileError(
            f"{where}: FROM {written} expands to nothing",
            hint="give the variable a default in ARG or a value in build-args",
        )
    if image.lower() in aliases:
        parent = aliases[image.lower()]
        return Stage(index, instruction.line, written, image, alias, platform, parent, None)
    if image == "scratch":
        return Stage(index, instruction.line, written, image, alias, platform, None, None)
    try:
        reference = parse_reference(image)
    except ReferenceError as error:
        raise DockerfileError(f"{where}: FROM {written}: {error.message}") from None
    return Stage(index, instruction.line, written, image, alias, platform, None, reference)


def _copy_source(
    value: str, aliases: Mapping[str, int], source: str, line: int
) -> Reference | None:
    if value.isdigit() or value.lower() in aliases or "=" in value or "," in value:
        return None
    try:
        return parse_reference(value)
    except ReferenceError as error:
        raise DockerfileError(f"{source}:{line}: --from={value}: {error.message}") from None


def rewrite_bases(text: str, replacements: Mapping[int, str]) -> str:
    """Return ``text`` with the image of each ``FROM`` line numbered in ``replacements``.

    Keys are 1-based line numbers of ``FROM`` keywords (`Stage.line`); the
    image word is replaced in place, so flags, ``AS NAME`` and comments stay.
    """
    lines = text.splitlines(keepends=True)
    for number, image in replacements.items():
        line = lines[number - 1]
        match = re.match(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)", line, re.IGNORECASE)
        if match is None:
            raise DockerfileError(f"line {number} is not a FROM instruction")
        lines[number - 1] = match.group(1) + image + line[match.end() :]
    return "".join(lines)


def read_dockerfile(path_text: str, data: bytes) -> str:
    """Decode a Dockerfile's bytes, raising DockerfileError when too large or not UTF-8."""
    if len(data) > MAX_DOCKERFILE_BYTES:
        raise DockerfileError(f"{path_text}: larger than {MAX_DOCKERFILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DockerfileError(f"{path_text}: not UTF-8 text") from None
