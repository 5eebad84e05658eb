"""Dockerfiles: the instruction parser and the checks of how an image is built.

The parser follows the Dockerfile reference: parser directives (``# syntax``,
``# escape``) at the top, line continuations with the escape character,
comment lines inside continuations, and BuildKit here-documents (``RUN
<<EOF``). Stages are tracked so that only the final stage's ``USER`` counts
and a ``FROM`` that names an earlier stage is not taken for a base image.
``ARG`` defaults declared before the first ``FROM`` are substituted in it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hardbase.audit.image_checks.rules import Rule
from hardbase.audit.runconfig import Location
from hardbase.scan.findings import Finding, Severity

logger = logging.getLogger(__name__)

CIS_4_1 = "CIS Docker Benchmark 4.1: Ensure that a user for the container has been created"
CIS_4_9 = "CIS Docker Benchmark 4.9: Ensure that COPY is used instead of ADD in Dockerfiles"

ROOT_USER = Rule(
    "HB-DOCKERFILE-001",
    Severity.HIGH,
    "Final stage runs as root",
    "Add `USER 1000` (or a named non-root account) at the end of the final stage",
    (CIS_4_1,),
)
ADD_URL = Rule(
    "HB-DOCKERFILE-002",
    Severity.MEDIUM,
    "ADD fetches a URL",
    "Download with a checksum check in RUN, or use ADD --checksum=sha256:...",
    (CIS_4_9,),
)
PIPE_TO_SHELL = Rule(
    "HB-DOCKERFILE-003",
    Severity.HIGH,
    "Download piped into a shell",
    "Download to a file, verify its checksum or signature, then run it",
)
APT_RECOMMENDS = Rule(
    "HB-DOCKERFILE-004",
    Severity.LOW,
    "apt-get install without --no-install-recommends",
    "Add --no-install-recommends so that only the named packages and their dependencies install",
)
APT_LISTS = Rule(
    "HB-DOCKERFILE-005",
    Severity.LOW,
    "apt lists left in the layer",
    "End the same RUN with `&& rm -rf /var/lib/apt/lists/*`",
)
APK_CACHE = Rule(
    "HB-DOCKERFILE-006",
    Severity.LOW,
    "apk add without --no-cache",
    "Use `apk add --no-cache` so the index is not stored in the layer",
)
BASE_NOT_TAGGED = Rule(
    "HB-DOCKERFILE-007",
    Severity.MEDIUM,
    "Base image untagged or latest",
    "Name a version tag and a digest: FROM debian:12.8-slim@sha256:...",
)
BASE_NOT_PINNED = Rule(
    "HB-DOCKERFILE-008",
    Severity.LOW,
    "Base image not pinned by digest",
    "Append the digest: FROM image:tag@sha256:... and let Renovate or hardbase update it",
)

RULES: tuple[Rule, ...] = (
    ROOT_USER,
    ADD_URL,
    PIPE_TO_SHELL,
    APT_RECOMMENDS,
    APT_LISTS,
    APK_CACHE,
    BASE_NOT_TAGGED,
    BASE_NOT_PINNED,
)

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+]([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)
_URL = re.compile(r"^(https?|ftp)://", re.IGNORECASE)
_DOWNLOADER = r"(?:curl|wget|fetch)\b"
_SHELL = r"(?:sudo\s+(?:-\S+\s+)*)?(?:/\S*/)?(?:sh|bash|zsh|dash|ksh|ash|python[0-9.]*|perl|ruby)\b"
_PIPE_TO_SHELL = re.compile(
    rf"{_DOWNLOADER}[^|;&\n]*\|\s*{_SHELL}"
    rf"|{_SHELL}\s+(?:-\S+\s+)*<\(\s*{_DOWNLOADER}"
    rf"|{_SHELL}\s+-c\s+[\"']?\$\(\s*{_DOWNLOADER}"
)
_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:[^;&|]*\s)?install\b")
_APT_LISTS_REMOVED = re.compile(r"\brm\s+(?:-\S+\s+)*[^;&|]*?/var/lib/apt/lists")
_APK_ADD = re.compile(r"\bapk\s+(?:[^;&|]*\s)?add\b")
_CACHE_MOUNT = re.compile(r"--mount=\S*type=cache\S*")

ROOT_USERS = frozenset({"root", "0"})


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction with its continuation lines joined."""

    keyword: str
    """Upper-case instruction name: ``FROM``, ``RUN``, ``USER``, ..."""
    arguments: str
    line: int
    """Line of the instruction's first word, counted from 1."""
    heredocs: tuple[str, ...] = ()
    """Bodies of the here-documents that follow the instruction, in order."""

    @property
    def text(self) -> str:
        """The instruction as one line, for messages."""
        return f"{self.keyword} {self.arguments}".strip()


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: its parser directives and instructions."""

    directives: Mapping[str, str]
    instructions: tuple[Instruction, ...]
    escape: str = "\\"


@dataclass
class Stage:
    """One build stage: from ``FROM`` to the next ``FROM``."""

    index: int
    source: Instruction
    image: str
    """Image or stage name after ``ARG`` substitution."""
    name: str | None
    parent: Stage | None
    """The earlier stage this one starts from, when ``FROM`` names one."""
    instructions: list[Instruction] = field(default_factory=list)

    def user(self) -> tuple[str, Instruction] | None:
        """Return the last ``USER`` of this stage or, failing that, of the stage it starts from."""
        for instruction in reversed(self.instructions):
            if instruction.keyword == "USER":
                return instruction.arguments.strip(), instruction
        return self.parent.user() if self.parent else None


def is_dockerfile_name(name: str) -> bool:
    """Return True for ``Dockerfile``, ``Containerfile`` and their ``.suffix`` / ``name.`` forms."""
    lower = name.lower()
    return (
        lower in ("dockerfile", "containerfile")
        or lower.startswith(("dockerfile.", "containerfile."))
        or lower.endswith((".dockerfile", ".containerfile"))
    )


def looks_like_dockerfile(text: str) -> bool:
    """Return True when the first instruction is ``FROM`` or ``ARG`` and a ``FROM`` follows."""
    keywords = [instruction.keyword for instruction in parse_dockerfile(text).instructions]
    return bool(keywords) and keywords[0] in ("FROM", "ARG") and "FROM" in keywords


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse ``text`` into directives and instructions.

    Odd lines become instructions with unknown keywords, not errors.
    """
    lines = text.splitlines()
    directives, start = _directives(lines)
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        logger.warning("escape directive %r is invalid; using a backslash", escape)
        escape = "\\"
    instructions = tuple(_instructions(lines, start, escape))
    return Dockerfile(directives, instructions, escape)


def _directives(lines: list[str]) -> tuple[dict[str, str], int]:
    directives: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _DIRECTIVE.fullmatch(line.strip())
        if match is None or match.group(1).lower() in directives:
            # A directive ends at the first line that is not one, and a
            # repeated directive is an ordinary comment.
            return directives, index
        directives[match.group(1).lower()] = match.group(2)
    return directives, len(lines)


def _instructions(lines: list[str], start: int, escape: str) -> Iterator[Instruction]:
    index = start
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        first_line = index + 1
        parts: list[str] = []
        while index < len(lines):
            line = lines[index].rstrip()
            index += 1
            if parts and line.lstrip().startswith("#"):
                continue  # comment lines inside a continuation are removed
            if line.endswith(escape):
                parts.append(line[: -len(escape)])
                continue
            parts.append(line)
            break
        logical = " ".join(part.strip() for part in parts if part.strip())
        keyword, _, arguments = logical.partition(" ")
        keyword = keyword.upper()
        heredocs: list[str] = []
        if keyword in ("RUN", "COPY", "ADD"):
            for match in _HEREDOC.finditer(arguments):
                body, index = _heredoc(
                    lines, index, match.group(3), strip_tabs=bool(match.group(1))
                )
                heredocs.append(body)
        yield Instruction(keyword, arguments.strip(), first_line, tuple(heredocs))


def _heredoc(lines: list[str], index: int, delimiter: str, strip_tabs: bool) -> tuple[str, int]:
    body: list[str] = []
    while index < len(lines):
        line = lines[index]
        index += 1
        candidate = line.lstrip("\t") if strip_tabs else line
        if candidate == delimiter:
            break
        body.append(candidate)
    return "\n".join(body), index


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` by ``values``; keep unknown names."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in values:
            return values[name]
        if match.group(2) is not None and "-" in match.group(0):
            return match.group(2)
        return match.group(0)

    return _VARIABLE.sub(replace, text)


def _arg_defaults(argument: str) -> Iterator[tuple[str, str | None]]:
    for word in argument.split():
        name, equals, value = word.partition("=")
        yield name, value.strip("\"'") if equals else None


def stages(dockerfile: Dockerfile) -> list[Stage]:
    """Split the instructions into stages, resolving ``FROM`` against global ``ARG`` defaults."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for instruction in dockerfile.instructions:
        if instruction.keyword == "FROM":
            words = [w for w in instruction.arguments.split() if not w.startswith("--")]
            image = substitute(words[0], global_args) if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            parent = next(
                (s for s in reversed(result) if s.name and s.name.lower() == image.lower()), None
            )
            result.append(Stage(len(result), instruction, image, name, parent))
        elif not result:
            if instruction.keyword == "ARG":
                for arg, default in _arg_defaults(instruction.arguments):
                    if default is not None:
                        global_args[arg] = default
        else:
            result[-1].instructions.append(instruction)
    return result


def check_dockerfile(text: str, source: str) -> list[Finding]:
    """Parse the Dockerfile ``text`` (named ``source`` in findings) and return its findings."""
    parsed = parse_dockerfile(text)
    all_stages = stages(parsed)
    findings: list[Finding] = []
    for stage in all_stages:
        findings.extend(_check_base(stage, source))
        for instruction in stage.instructions:
            findings.extend(_check_instruction(instruction, stage, source))
    if all_stages:
        findings.extend(_check_user(all_stages[-1], source))
    return findings


def _finding(
    rule: Rule,
    title: str,
    source: str,
    instruction: Instruction,
    stage: Stage,
    **facts: Any,
) -> Finding:
    location = Location(
        source, path=f"stage {stage.index} {instruction.keyword}", line=instruction.line
    )
    evidence = {
        "location": {**location.to_dict(), "container": None},
        "instruction": instruction.text[:500],
        "stage": stage.name or stage.index,
        **facts,
    }
    return rule.finding(title, evidence)


def _split_reference(image: str) -> tuple[str, str | None, str | None]:
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = name[: -(len(tag) + 1)]
    return name, tag, digest or None


def _check_base(stage: Stage, source: str) -> Iterator[Finding]:
    if stage.parent is not None or stage.image.lower() == "scratch" or not stage.image:
        return
    if "$" in stage.image:
        logger.info(
            "%s:%d: base %s has an unresolved variable", source, stage.source.line, stage.image
        )
        return
    _, tag, digest = _split_reference(stage.image)
    if digest is None and tag in (None, "latest"):
        yield _finding(
            BASE_NOT_TAGGED,
            f"FROM {stage.image} is {'untagged' if tag is None else 'tagged latest'}",
            source,
            stage.source,
            stage,
            image=stage.image,
        )
    if digest is None:
        yield _finding(
            BASE_NOT_PINNED,
            f"FROM {stage.image} is not pinned by digest",
            source,
            stage.source,
            stage,
            image=stage.image,
        )


def _check_user(stage: Stage, source: str) -> Iterator[Finding]:
    found = stage.user()
    if found is None:
        yield _finding(
            ROOT_USER,
            "final stage sets no USER, so the container runs as root",
            source,
            stage.source,
            stage,
        )
        return
    user, instruction = found
    name = user.split(":", 1)[0]
    if name in ROOT_USERS:
        yield _finding(
            ROOT_USER, f"final stage runs as USER {user}", source, instruction, stage, user=user
        )


def _run_scripts(instruction: Instruction) -> list[str]:
    return [instruction.arguments, *instruction.heredocs]


def _check_instruction(instruction: Instruction, stage: Stage, source: str) -> Iterator[Finding]:
    if instruction.keyword == "ADD":
        yield from _check_add(instruction, stage, source)
    if instruction.keyword != "RUN":
        return
    script = "\n".join(_run_scripts(instruction))
    if _PIPE_TO_SHELL.search(script):
        yield _finding(
            PIPE_TO_SHELL, "RUN pipes a download into a shell", source, instruction, stage
        )
    cached = _CACHE_MOUNT.search(instruction.arguments)
    commands = re.split(r"&&|\|\||;|\n", script)
    for command in commands:
        if (
            _APT_INSTALL.search(command)
            and "--no-install-recommends" not in command
            and ("Install-Recommends=false" not in command)
        ):
            yield _finding(
                APT_RECOMMENDS,
                "apt-get install without --no-install-recommends",
                source,
                instruction,
                stage,
            )
            break
    if (
        any(_APT_INSTALL.search(c) for c in commands)
        and not cached
        and not _APT_LISTS_REMOVED.search(script)
    ):
        yield _finding(
            APT_LISTS,
            "apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN",
            source,
            instruction,
            stage,
        )
    for command in commands:
        if _APK_ADD.search(command) and "--no-cache" not in command and not cached:
            yield _finding(APK_CACHE, "apk add without --no-cache", source, instruction, stage)
            break


def _check_add(instruction: Instruction, stage: Stage, source: str) -> Iterator[Finding]:
    words = instruction.arguments.split()
    if any(word.startswith("--checksum=") for word in words):
        return
    sources = [word for word in words if not word.startswith("--")][:-1]
    for word in sources:
        if _URL.match(word.strip("\"'[],")):
            yield _finding(
                ADD_URL,
                f"ADD downloads {word.strip(chr(34) + '[],')}",
                source,
                instruction,
                stage,
                url=word,
            )
