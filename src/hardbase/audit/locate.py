"""Load YAML and JSON documents with the line and column of every value.

PyYAML's composer gives each node a start mark. The loader here walks the
node tree beside the constructed data and records the mark of each path, so
a finding can name the line of ``spec.containers[0].securityContext``.
Syntax errors become one :class:`ManifestSyntaxError` naming the file, line
and column.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hardbase.errors import InputError

logger = logging.getLogger(__name__)

#: Largest manifest, compose file or Dockerfile read, in bytes. Real ones are
#: kilobytes; the cap keeps a hostile input from exhausting memory.
MAX_FILE_BYTES = 16 * 1024 * 1024

#: Maximum number of values that anchors and aliases may add to a document.
#: PyYAML builds shared objects, but any code that walks or prints the data
#: expands them again: nine levels of nine aliases ("billion laughs") is 9**9.
MAX_ALIAS_EXPANSION = 1_000_000

#: A path inside a document: mapping keys and sequence indexes.
YamlPath = tuple[str | int, ...]


class ManifestSyntaxError(InputError):
    """A manifest, compose file or JSON document that does not parse."""


@dataclass(frozen=True)
class Position:
    """A place in a file, both numbers counted from 1."""

    line: int
    column: int


@dataclass(frozen=True)
class Document:
    """One YAML document of a file, its data and the position of each value in it."""

    file: str
    index: int
    """Position of the document in its file, counted from 0."""
    data: Any
    positions: Mapping[YamlPath, Position] = field(default_factory=dict, repr=False)

    def position(self, path: YamlPath) -> Position | None:
        """Return the position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return None

    def get(self, path: YamlPath) -> Any:
        """Return the value at ``path``, or None when any step is missing or of the wrong type."""
        value = self.data
        for step in path:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return None
            elif not isinstance(value, dict) or step not in value:
                return None
            value = value[step]
        return value


def format_path(path: YamlPath) -> str:
    """Render a path as ``spec.containers[0].securityContext``."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


def read_text(path: Path) -> str:
    """Read a UTF-8 text file of at most :data:`MAX_FILE_BYTES`, raising InputError otherwise.

    Only regular files are read: a FIFO or device would block or never end.
    """
    try:
        # O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}", hint="check the path") from error
    with os.fdopen(descriptor, "rb") as handle:
        try:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise InputError(
                    f"{path}: not a regular file", hint="pass a file or a folder to search"
                )
            if status.st_size > MAX_FILE_BYTES:
                raise InputError(
                    f"{path}: {status.st_size} bytes is larger than the "
                    f"{MAX_FILE_BYTES}-byte limit",
                    hint="audit a smaller file",
                )
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise InputError(
                f"{path}: cannot read: {error.strerror}", hint="check the path"
            ) from error
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"{path}: larger than the {MAX_FILE_BYTES}-byte limit", hint="audit a smaller file"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}: not UTF-8 text (invalid byte at offset {error.start})",
            hint="save the file as UTF-8",
        ) from error


def _value_problem(error: ValueError) -> str:
    # Python refuses int() of more than 4300 digits and suggests a setting
    # that a user of this tool cannot change.
    if "integer string conversion" in str(error):
        return "an integer of more than 4300 digits"
    return str(error)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reports a scalar it cannot convert at the scalar's line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except ValueError as error:
            # A timestamp such as 2024-13-45 or a huge integer passes the
            # resolver and then fails in date() or int().
            shown = str(node.value)
            shown = shown if len(shown) <= 40 else shown[:40] + "..."
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid value {shown}: {_value_problem(error)}", node.start_mark
            ) from error


def load_documents(text: str, source: str) -> list[Document]:
    """Parse every document of a YAML stream, with positions.

    Raises ManifestSyntaxError naming ``source``, the line and the column when
    the text is not valid YAML.
    """
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_expansion(node, source)
            data = loader.construct_document(node)
            positions: dict[YamlPath, Position] = {}
            _record(node, (), positions, set())
            documents.append(Document(source, len(documents), data, positions))
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, source) from error
    except yaml.YAMLError as error:
        raise ManifestSyntaxError(
            f"{source}: invalid YAML: {error}", hint="fix the syntax"
        ) from error
    except RecursionError as error:
        raise ManifestSyntaxError(
            f"{source}: nesting too deep to read", hint="flatten the document"
        ) from error
    finally:
        loader.dispose()
    return documents


def load_json(text: str, source: str) -> list[Document]:
    """Parse a JSON document, with positions when its text is also valid YAML.

    Raises ManifestSyntaxError naming ``source``, the line and the column of
    the first JSON syntax error.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestSyntaxError(
            f"{source}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}",
            hint="fix the syntax",
        ) from error
    except RecursionError as error:
        raise ManifestSyntaxError(
            f"{source}: nesting too deep to read", hint="flatten the document"
        ) from error
    except ValueError as error:
        # Integers of more than 4300 digits fail Python's int() limit.
        raise ManifestSyntaxError(
            f"{source}: invalid JSON: {_value_problem(error)}", hint="fix the value"
        ) from error
    try:
        documents = load_documents(text, source)
    except ManifestSyntaxError:
        # Some valid JSON (tabs for indentation, for one) is not valid YAML:
        # keep the data and give up on line numbers.
        logger.debug("%s: JSON is not valid YAML, reporting without line numbers", source)
        return [Document(source, 0, data)]
    if len(documents) == 1 and documents[0].data == data:
        return documents
    return [Document(source, 0, data)]


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Raise ManifestSyntaxError when aliases expand ``root`` past :data:`MAX_ALIAS_EXPANSION`."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        # A recursive anchor refers to a node still being sized: count it once.
        sizes[id(node)] = 1
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        sizes[id(node)] = total
        return total

    expanded = size(root)
    if expanded - len(sizes) > MAX_ALIAS_EXPANSION:
        raise ManifestSyntaxError(
            f"{source}: anchors and aliases expand to {expanded} values, more than "
            f"{MAX_ALIAS_EXPANSION} beyond the document itself",
            hint="write the repeated values out or use fewer aliases",
        )


def _syntax_error(error: yaml.MarkedYAMLError, source: str) -> ManifestSyntaxError:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "invalid YAML"
    if mark is None:
        return ManifestSyntaxError(f"{source}: invalid YAML: {problem}", hint="fix the syntax")
    return ManifestSyntaxError(
        f"{source}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {problem}",
        hint="fix the syntax",
    )


def _record(
    node: yaml.Node,
    path: YamlPath,
    positions: dict[YamlPath, Position],
    seen: set[int],
    mark: yaml.Mark | None = None,
) -> None:
    # A mapping value is placed at its key, the line a reader edits.
    mark = mark or node.start_mark
    positions[path] = Position(mark.line + 1, mark.column + 1)
    # An alias points at a node already walked; walking it again would let a
    # "billion laughs" document cost exponential time.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in _pairs(node):
            if isinstance(key_node, yaml.ScalarNode):
                _record(value_node, (*path, key_node.value), positions, seen, key_node.start_mark)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*path, index), positions, seen)


def _pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    for key_node, value_node in node.value:
        # Merge keys ("<<") were folded into the mapping by the constructor;
        # their own positions point at the anchor, which is good enough.
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        yield key_node, value_node
