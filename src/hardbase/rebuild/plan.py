"""A rebuild plan: the stale images in levels, each level built after the one above it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from hardbase.rebuild.graph import ImageGraph, ImageNode
from hardbase.rebuild.staleness import Assessment


@dataclass(frozen=True)
class PlanStep:
    """One image to rebuild."""

    name: str
    level: int
    """0 for images with no parent in the plan; otherwise one below the deepest planned parent."""
    reasons: tuple[str, ...]
    parents: tuple[str, ...]
    """Images of the plan this one waits for."""


@dataclass(frozen=True)
class RebuildPlan:
    """Images to rebuild, in levels; images of one level do not depend on each other."""

    steps: tuple[PlanStep, ...]
    """In build order: by level, then by name."""
    levels: tuple[tuple[str, ...], ...]

    def step(self, name: str) -> PlanStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)


def make_plan(
    graph: ImageGraph,
    selected: Collection[str],
    reasons: Mapping[str, Assessment] | None = None,
) -> RebuildPlan:
    """Plan a rebuild of ``selected`` images in the graph's topological order.

    ``selected`` is normally every stale image, which already includes each
    stale image's descendants; parents outside it are read as they are in
    the registry now.
    """
    chosen = set(selected)
    unknown = chosen - graph.nodes.keys()
    if unknown:
        raise KeyError(f"not in the graph: {', '.join(sorted(unknown))}")
    depth: dict[str, int] = {}
    steps: list[PlanStep] = []
    for level in graph.levels:
        for name in level:
            if name not in chosen:
                continue
            node = graph.nodes[name]
            parents = tuple(p for p in node.parents if p in chosen)
            depth[name] = 1 + max((depth[p] for p in parents), default=-1)
            steps.append(PlanStep(name, depth[name], _reasons(node, reasons), parents))
    steps.sort(key=lambda step: (step.level, step.name))
    count = 1 + max((step.level for step in steps), default=-1)
    levels = tuple(tuple(s.name for s in steps if s.level == index) for index in range(count))
    return RebuildPlan(tuple(steps), levels)


def _reasons(node: ImageNode, reasons: Mapping[str, Assessment] | None) -> tuple[str, ...]:
    if reasons is None or node.name not in reasons:
        return ("requested",)
    return tuple(str(reason) for reason in reasons[node.name].reasons) or ("requested",)


def plan_json(plan: RebuildPlan, graph: ImageGraph) -> dict[str, Any]:
    """Return the plan as a JSON-ready document."""
    return {
        "levels": [list(level) for level in plan.levels],
        "steps": [
            {
                "name": step.name,
                "level": step.level,
                "reference": str(graph.nodes[step.name].reference or ""),
                "kind": graph.nodes[step.name].kind,
                "source": graph.nodes[step.name].source,
                "parents": list(step.parents),
                "reasons": list(step.reasons),
            }
            for step in plan.steps
        ],
    }
