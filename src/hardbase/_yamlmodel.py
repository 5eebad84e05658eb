"""YAML files checked by pydantic models: size and alias limits, one-line errors with lines.

A file is read up to a byte limit and composed with PyYAML's safe loader.
Before any value is built, the node tree is measured: aliases may repeat a
node, but the document they expand to may have at most :data:`MAX_NODES`
nodes, so a "billion laughs" file cannot make validation walk 10**9 values.
A validation error becomes one :class:`InputError` line that names the file,
the line of the key at fault and its key path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hardbase.errors import InputError

#: Most nodes a document may expand to once aliases are followed. Real specs
#: and ``hardbase.yaml`` files have hundreds.
MAX_NODES = 100_000

#: Mapping keys and sequence indexes that lead to a value.
YamlPath = tuple[str | int, ...]

ModelT = TypeVar("ModelT", bound=BaseModel)


def kebab(name: str) -> str:
    """Return the kebab-case YAML key of a snake_case field name."""
    return name.replace("_", "-")


class StrictModel(BaseModel):
    """Base of file schemas: kebab-case keys, unknown keys rejected, values frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=kebab, populate_by_name=True
    )


@dataclass(frozen=True)
class YamlFile:
    """A parsed YAML document and the line of each key in it."""

    source: str
    """Name of the file in messages."""
    data: Any
    """The document; None for an empty file."""
    lines: Mapping[YamlPath, int] = field(default_factory=dict, repr=False)
    """1-based line of each mapping key and sequence item, by path."""


def read_yaml(path: Path, *, what: str, max_bytes: int, error_type: type[InputError]) -> YamlFile:
    """Read and parse the YAML file at ``path``, ``what`` naming it in messages.

    Raises ``error_type`` for a file that cannot be read, is larger than
    ``max_bytes``, is not valid YAML (naming the line) or expands past
    :data:`MAX_NODES` nodes.
    """
    try:
        # O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error_type(
                    f"{path}: the {what} is not a regular file", hint="give a YAML file"
                )
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise error_type(f"{path}: cannot read the {what} ({error.strerror})") from error
    if len(data) > max_bytes:
        raise error_type(f"{path}: {what} is larger than {max_bytes} bytes")
    return parse_yaml(data, str(path), error_type=error_type)


def parse_yaml(text: bytes | str, source: str, *, error_type: type[InputError]) -> YamlFile:
    """Parse one YAML document with the safe loader, as ``yaml.safe_load`` would.

    Raises ``error_type`` naming ``source`` for invalid YAML, for nesting too
    deep to read, and for aliases that are recursive or expand past
    :data:`MAX_NODES` nodes.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlFile(source, None)
        _check_size(node, source, error_type)
        lines: dict[YamlPath, int] = {}
        _record_lines(node, (), lines, set())
        return YamlFile(source, loader.construct_document(node), lines)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error_type(f"{source}: invalid YAML{where}", hint="fix the syntax") from None
    except RecursionError:
        raise error_type(
            f"{source}: nesting too deep to read", hint="flatten the document"
        ) from None
    except ValueError as error:
        # A date such as 2024-13-45 or an integer of more than 4300 digits
        # passes the resolver and then fails in date() or int().
        raise error_type(
            f"{source}: invalid YAML value: {error}", hint="quote the value or fix it"
        ) from None
    finally:
        loader.dispose()


def validate_yaml(
    model: type[ModelT], file: YamlFile, *, error_type: type[InputError], hint: str
) -> ModelT:
    """Validate ``file.data`` with ``model``, raising ``error_type`` with one line per error.

    The message names the file, the line of the key at fault (or of its
    nearest parent in the file), the key path and the problem, and counts
    any further problems.
    """
    try:
        return model.model_validate(file.data)
    except ValidationError as error:
        raise error_type(describe_validation_error(error, file), hint=hint) from None


def describe_validation_error(error: ValidationError, file: YamlFile) -> str:
    """Return one line for the first problem of ``error``, naming file, line and key path."""
    problems = error.errors()
    first = problems[0]
    loc = tuple(first["loc"])
    line = _line_of(loc, file.lines)
    where = f"{file.source}:{line}" if line is not None else file.source
    if first["type"] == "extra_forbidden":
        parent = ".".join(str(part) for part in loc[:-1])
        inside = f" in {parent}" if parent else ""
        text = f"{where}: unknown key {loc[-1]!r}{inside}"
    else:
        location = ".".join(str(part) for part in loc)
        message = str(first["msg"]).removeprefix("Value error, ")
        text = f"{where}: {location + ': ' if location else ''}{message}"
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more problems)"
    return text


def _line_of(loc: YamlPath, lines: Mapping[YamlPath, int]) -> int | None:
    # pydantic may add steps the file does not have, such as a union member's
    # name, so the nearest path that the file has gives the line.
    for end in range(len(loc), 0, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _check_size(root: yaml.Node, source: str, error_type: type[InputError]) -> None:
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise error_type(
                f"{source}: an alias refers to a node that contains it",
                hint="write the repeated value out instead of using a recursive alias",
            )
        open_nodes.add(id(node))
        total = 1
        for child in _children(node):
            total += size(child)
            if total > MAX_NODES:
                raise error_type(
                    f"{source}: aliases expand the document to more than {MAX_NODES} values",
                    hint="write the document without deeply nested aliases",
                )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _record_lines(
    node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int], seen: set[int]
) -> None:
    # A node reached again through an alias keeps the lines of its anchor, so
    # each node is walked once.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_path = (*path, key_node.value)
                lines[key_path] = key_node.start_mark.line + 1
                _record_lines(value_node, key_path, lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _record_lines(item, (*path, index), lines, seen)
