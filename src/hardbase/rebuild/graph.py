"""The image graph of a repository: which image is built on which.

Images come from ``hardbase.yaml`` entries and, unless discovery is off, from
every build spec and Dockerfile under the root. An image's parents are the
images its build reads: the final stage's base (role ``base``), and earlier
stages' bases and ``COPY --from`` images (role ``build-input``). A spec's
parent is its ``base.name``. Parents are matched by normalized reference.

A parent that no image here builds is an external base (a leaf), unless its
repository lies under the repository's own registry prefix: the ``registry``
setting, or the folder of any image reference here (``HOST/team`` for
``HOST/team/app:1``). Such a parent must be built here, so it is an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from hardbase.build.spec import SpecError, load_spec
from hardbase.errors import InputError
from hardbase.rebuild.config import ImageEntry, RebuildConfig, load_config
from hardbase.rebuild.dockerfile_refs import parse_dockerfile, read_dockerfile
from hardbase.rebuild.references import Reference, ReferenceError, parse_reference

logger = logging.getLogger(__name__)

#: Folders never searched for images.
SKIPPED_FOLDERS = frozenset({".git", ".hardbase", "node_modules", ".venv", "__pycache__"})
#: Keys whose presence marks a YAML file as a manifest or compose file, not a build spec.
_NOT_SPEC_KEYS = frozenset({"apiVersion", "kind", "services", "images", "version"})

Role = Literal["base", "build-input"]
Kind = Literal["spec", "dockerfile"]


class GraphError(InputError):
    """An image graph that cannot be used: a cycle, an unknown parent, a name used twice."""


@dataclass(frozen=True)
class Edge:
    """One image that a build reads."""

    reference: Reference
    """The reference as the Dockerfile or spec names it, after variable expansion."""
    role: Role
    parent: str | None
    """Name of the image in this repository that builds it; None for an external base."""
    line: int | None = None
    """Line of the ``FROM`` that names it, for Dockerfile bases."""


@dataclass(frozen=True)
class ImageNode:
    """One image the repository builds."""

    name: str
    kind: Kind
    source: str
    """Spec or Dockerfile, relative to the root, with ``/`` separators."""
    context: str
    """Build context folder relative to the root (``.`` for the root)."""
    reference: Reference | None
    """Push target; None when neither hardbase.yaml nor ``registry`` sets one."""
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    flux_policy: str | None = None
    edges: tuple[Edge, ...] = ()

    @property
    def parents(self) -> tuple[str, ...]:
        """Names of the images in this repository that this one reads, without repeats."""
        return tuple(dict.fromkeys(e.parent for e in self.edges if e.parent is not None))

    @property
    def external(self) -> tuple[Edge, ...]:
        return tuple(edge for edge in self.edges if edge.parent is None)


@dataclass(frozen=True)
class ImageGraph:
    """Images by name with their edges, checked to be acyclic."""

    root: Path
    nodes: Mapping[str, ImageNode]
    levels: tuple[tuple[str, ...], ...]
    """Names by depth: level 0 has no parent here; each image sits one below its deepest parent."""

    def children(self, name: str) -> tuple[str, ...]:
        return self._children().get(name, ())

    def _children(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {name: [] for name in self.nodes}
        for node in self.nodes.values():
            for parent in node.parents:
                found[parent].append(node.name)
        return {name: tuple(sorted(names)) for name, names in found.items()}

    def descendants(self, names: Iterable[str]) -> set[str]:
        """Return every image below ``names``, not including them unless one is below another."""
        children = self._children()
        seen: set[str] = set()
        stack = [child for name in names for child in children[name]]
        while stack:
            name = stack.pop()
            if name not in seen:
                seen.add(name)
                stack.extend(children[name])
        return seen

    def level_of(self) -> dict[str, int]:
        return {name: depth for depth, names in enumerate(self.levels) for name in names}


def load_graph(root: Path, config_path: Path | None = None) -> tuple[RebuildConfig, ImageGraph]:
    """Read ``hardbase.yaml`` (or ``config_path``) and build the graph of ``root``."""
    if not root.is_dir():
        raise GraphError(f"{root}: not a folder", hint="give the repository's root folder")
    config = load_config(root, config_path)
    return config, build_graph(root, config)


def build_graph(root: Path, config: RebuildConfig) -> ImageGraph:
    """Find the images under ``root`` and link each to its parents.

    Raises GraphError for two images with the same name or reference, a parent
    under the repository's own registry prefix that no image builds, and
    cycles; SpecError or DockerfileError for a listed file that is invalid.
    """
    root = root.resolve()
    drafts = _listed(root, config)
    claimed = {draft.source for draft in drafts}
    if config.discover:
        drafts.extend(_discovered(root, config, claimed))
    _check_unique(drafts)

    prefixes = _own_prefixes(config, drafts)
    by_repository: dict[str, list[_Draft]] = {}
    for draft in drafts:
        if draft.reference is not None:
            by_repository.setdefault(draft.reference.name, []).append(draft)
    nodes = {draft.name: _link(draft, by_repository, prefixes) for draft in drafts}
    return ImageGraph(root, nodes, _levels(nodes))


def graph_from_nodes(root: Path, nodes: Iterable[ImageNode]) -> ImageGraph:
    """Return a graph of ready-made nodes (generated fleets, tests), checking for cycles."""
    by_name = {node.name: node for node in nodes}
    for node in by_name.values():
        for parent in node.parents:
            if parent not in by_name:
                raise GraphError(f"image {node.name}: parent {parent} is not in the graph")
    return ImageGraph(root, by_name, _levels(by_name))


@dataclass
class _Draft:
    """An image found but not yet linked to its parents."""

    name: str
    kind: Kind
    source: str
    context: str
    reference: Reference | None
    build_args: dict[str, str]
    platform: str | None
    flux_policy: str | None
    reads: list[tuple[Reference, Role, int | None]]


def _listed(root: Path, config: RebuildConfig) -> list[_Draft]:
    drafts = []
    for entry in config.images:
        source = entry.spec or entry.dockerfile
        if source is None:
            raise AssertionError("unreachable: the config model requires spec or dockerfile")
        path = root / source
        if not path.is_file():
            raise GraphError(
                f"hardbase.yaml: image {entry.name}: {source} does not exist",
                hint="fix the path, relative to the repository root",
            )
        drafts.append(_draft(root, path, entry, config))
    return drafts


def _draft(root: Path, path: Path, entry: ImageEntry | None, config: RebuildConfig) -> _Draft:
    source = path.relative_to(root).as_posix()
    is_spec = entry.spec is not None if entry is not None else path.suffix in (".yaml", ".yml")
    if is_spec:
        spec = load_spec(path)
        reads: list[tuple[Reference, Role, int | None]] = []
        if spec.base is not None:
            reads.append((_parse(spec.base.name, f"{source}: base.name"), "base", None))
        name = entry.name if entry is not None else spec.name.replace("/", "-")
        return _Draft(
            name, "spec", source, ".", _target(entry, name, config), {}, None,
            entry.flux_policy if entry else None, reads,
        )  # fmt: skip

    build_args = dict(entry.build_args) if entry is not None else {}
    text = read_dockerfile(source, path.read_bytes())
    info = parse_dockerfile(text, source, build_args)
    reads = []
    final = info.final_base()
    if final is not None and final.reference is not None:
        reads.append((final.reference, "base", final.line))
    for stage in info.stages:
        if stage.reference is not None and stage is not final:
            reads.append((stage.reference, "build-input", stage.line))
    reads.extend((reference, "build-input", None) for reference in info.copy_from)
    if entry is not None:
        name = entry.name
        context = entry.context or _folder(path.parent, root)
    else:
        name = _dockerfile_name(path, root)
        context = _folder(path.parent, root)
    if not (root / context).is_dir():
        raise GraphError(f"image {name}: build context {context} is not a folder")
    platform = entry.platform if entry is not None and entry.platform else info.final.platform
    return _Draft(
        name, "dockerfile", source, context, _target(entry, name, config), build_args, platform,
        entry.flux_policy if entry else None, reads,
    )  # fmt: skip


def _folder(path: Path, root: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return relative or "."


def _dockerfile_name(path: Path, root: Path) -> str:
    """Name an unlisted Dockerfile's image: ``app/Dockerfile`` is ``app``, ``x.Dockerfile`` is x."""
    if path.name == "Dockerfile":
        folder = path.parent.relative_to(root).as_posix()
        base = folder.replace("/", "-") if folder != "." else root.name
    elif path.name.startswith("Dockerfile."):
        base = path.name.removeprefix("Dockerfile.")
    else:
        base = path.name.removesuffix(".Dockerfile").removesuffix(".dockerfile")
    return base.lower()


def _target(entry: ImageEntry | None, name: str, config: RebuildConfig) -> Reference | None:
    if entry is not None:
        return parse_reference(entry.reference)
    if config.registry is None:
        return None
    return _parse(f"{config.registry}/{name}:latest", f"image {name}")


def _parse(text: str, where: str) -> Reference:
    try:
        return parse_reference(text)
    except ReferenceError as error:
        raise GraphError(f"{where}: {error.message}", hint=error.hint) from None


def _discovered(root: Path, config: RebuildConfig, claimed: set[str]) -> Iterator[_Draft]:
    excluded = {root / item for item in config.exclude}
    for folder, subfolders, files in os.walk(root):
        current = Path(folder)
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in SKIPPED_FOLDERS and current / name not in excluded
        )
        for name in sorted(files):
            path = current / name
            source = path.relative_to(root).as_posix()
            if source in claimed or path in excluded or path.is_symlink():
                continue
            if _is_dockerfile(name) or _is_spec(path):
                yield _draft(root, path, None, config)


def _is_dockerfile(name: str) -> bool:
    lower = name.lower()
    return lower == "dockerfile" or lower.startswith("dockerfile.") or lower.endswith(".dockerfile")


def _is_spec(path: Path) -> bool:
    """Return True for a YAML file shaped like a build spec; invalid ones are only logged."""
    if path.suffix not in (".yaml", ".yml") or path.name in ("hardbase.yaml", "hardbase.yml"):
        return False
    try:
        if path.stat().st_size > 1024 * 1024:
            return False
        document = yaml.safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(document, dict) or "name" not in document:
        return False
    if _NOT_SPEC_KEYS & document.keys() or not {"packages", "distribution"} & document.keys():
        return False
    try:
        load_spec(path)
    except SpecError as error:
        logger.warning("skipping %s, which looks like a build spec but is invalid: %s", path, error)
        return False
    return True


def _check_unique(drafts: list[_Draft]) -> None:
    names: dict[str, str] = {}
    targets: dict[str, str] = {}
    for draft in drafts:
        if draft.name in names:
            raise GraphError(
                f"two images are named {draft.name}: {names[draft.name]} and {draft.source}",
                hint="list them in hardbase.yaml with distinct names",
            )
        names[draft.name] = draft.source
        if draft.reference is not None:
            tagged = draft.reference.tagged
            if tagged in targets:
                raise GraphError(
                    f"{targets[tagged]} and {draft.source} both push to {tagged}",
                    hint="give one of them another reference in hardbase.yaml",
                )
            targets[tagged] = draft.source


def _own_prefixes(config: RebuildConfig, drafts: list[_Draft]) -> set[str]:
    prefixes = {config.registry} if config.registry else set()
    for draft in drafts:
        if draft.reference is not None:
            prefixes.add(draft.reference.name.rsplit("/", 1)[0])
    return prefixes


def _link(
    draft: _Draft, by_repository: Mapping[str, list[_Draft]], prefixes: set[str]
) -> ImageNode:
    edges = []
    for reference, role, line in draft.reads:
        parent = _match(reference, by_repository.get(reference.name, []))
        if parent is None and any(reference.name.startswith(p + "/") for p in prefixes):
            raise GraphError(
                f"{draft.source}: {reference} is under this repository's registry prefix, "
                "but no image here builds it",
                hint="add its spec or Dockerfile, fix the tag, or list it in hardbase.yaml",
            )
        edges.append(Edge(reference, role, parent, line))
    return ImageNode(
        name=draft.name,
        kind=draft.kind,
        source=draft.source,
        context=draft.context,
        reference=draft.reference,
        build_args=draft.build_args,
        platform=draft.platform,
        flux_policy=draft.flux_policy,
        edges=tuple(edges),
    )


def _match(reference: Reference, candidates: list[_Draft]) -> str | None:
    for draft in candidates:
        if draft.reference is not None and draft.reference.same_image(reference):
            return draft.name
    return None


def _levels(nodes: Mapping[str, ImageNode]) -> tuple[tuple[str, ...], ...]:
    """Order images by depth (Kahn's algorithm), raising GraphError on a cycle."""
    waiting = {name: len(node.parents) for name, node in nodes.items()}
    children: dict[str, list[str]] = {name: [] for name in nodes}
    for node in nodes.values():
        for parent in node.parents:
            children[parent].append(node.name)
    current = sorted(name for name, count in waiting.items() if count == 0)
    levels: list[tuple[str, ...]] = []
    placed = 0
    while current:
        levels.append(tuple(current))
        placed += len(current)
        following = []
        for name in current:
            for child in children[name]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    following.append(child)
        current = sorted(following)
    if placed < len(nodes):
        cycle = _find_cycle({n: nodes[n] for n, count in waiting.items() if count > 0})
        raise GraphError(
            f"images build on each other in a cycle: {' -> '.join(cycle)}",
            hint="one of these FROM lines must name another image",
        )
    return tuple(levels)


def _find_cycle(nodes: Mapping[str, ImageNode]) -> list[str]:
    start = min(nodes)
    path = [start]
    seen = {start: 0}
    while True:
        parent = next(p for p in nodes[path[-1]].parents if p in nodes)
        if parent in seen:
            return [*path[seen[parent] :], parent]
        seen[parent] = len(path)
        path.append(parent)


def graph_json(graph: ImageGraph) -> dict[str, Any]:
    """Return the graph as a JSON-ready document (see docs/rebuild.md)."""
    levels = graph.level_of()
    images = []
    for name in (name for level in graph.levels for name in level):
        node = graph.nodes[name]
        images.append(
            {
                "name": name,
                "kind": node.kind,
                "source": node.source,
                "context": node.context,
                "reference": str(node.reference) if node.reference else None,
                "level": levels[name],
                "parents": [
                    {
                        "reference": str(edge.reference),
                        "role": edge.role,
                        "image": edge.parent,
                        "external": edge.parent is None,
                    }
                    for edge in node.edges
                ],
                "children": list(graph.children(name)),
            }
        )
    return {
        "root": str(graph.root),
        "levels": [list(level) for level in graph.levels],
        "images": images,
    }


def graph_dot(graph: ImageGraph) -> str:
    """Return the graph in Graphviz dot: images as boxes, external bases dashed, parent to child."""
    lines = ["digraph images {", "  rankdir=TB;", "  node [shape=box];"]
    externals: set[str] = set()
    for name in sorted(graph.nodes):
        node = graph.nodes[name]
        label = _dot_quote(name)
        if node.reference:
            label = label[:-1] + "\\n" + _dot_quote(str(node.reference))[1:]
        lines.append(f"  {_dot_quote(name)} [label={label}];")
        for edge in node.edges:
            style = "" if edge.role == "base" else " [style=dotted]"
            if edge.parent is not None:
                lines.append(f"  {_dot_quote(edge.parent)} -> {_dot_quote(name)}{style};")
            else:
                external = str(edge.reference)
                externals.add(external)
                lines.append(f"  {_dot_quote(external)} -> {_dot_quote(name)}{style};")
    for external in sorted(externals):
        lines.append(f"  {_dot_quote(external)} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_tree(graph: ImageGraph) -> str:
    """Return the graph as an indented tree; an image with two parents is shown under each."""
    lines: list[str] = []

    def describe(node: ImageNode) -> str:
        text = f"{node.name} ({node.reference or 'no reference'}, {node.kind} {node.source})"
        bases = [str(edge.reference) for edge in node.external if edge.role == "base"]
        if bases:
            text += f" on external {', '.join(bases)}"
        return text

    def walk(name: str, prefix: str, last: bool, seen: frozenset[str]) -> None:
        branch = "└── " if last else "├── "
        lines.append(prefix + branch + describe(graph.nodes[name]))
        children = graph.children(name)
        inner = prefix + ("    " if last else "│   ")
        for index, child in enumerate(children):
            walk(child, inner, index == len(children) - 1, seen | {name})

    roots = graph.levels[0] if graph.levels else ()
    for name in roots:
        lines.append(describe(graph.nodes[name]))
        children = graph.children(name)
        for index, child in enumerate(children):
            walk(child, "", index == len(children) - 1, frozenset({name}))
    return "\n".join(lines) + ("\n" if lines else "")
