"""Write a rebuild plan for CI systems that build it themselves.

Three formats: a ``docker buildx bake`` JSON file, one GitHub Actions matrix
per level, and an Argo Workflows ``Workflow`` with a DAG template. Each keeps
the plan's order: bake through ``contexts`` that point a child's base at its
parent's ``target:``, GitHub through the level order of the matrices (one job
per level, each needing the one before), Argo through task ``dependencies``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from hardbase.rebuild.graph import ImageGraph, ImageNode
from hardbase.rebuild.plan import RebuildPlan

ExportFormat = Literal["bake", "github-matrix", "argo"]
EXPORT_FORMATS: tuple[str, ...] = ("bake", "github-matrix", "argo")

#: Builder image of the Argo templates; teams replace it with their own.
ARGO_BUILDAH_IMAGE = "quay.io/buildah/stable:latest"
ARGO_HARDBASE_IMAGE = "ghcr.io/hardbase/hardbase:latest"


def export_plan(plan: RebuildPlan, graph: ImageGraph, format: ExportFormat) -> dict[str, Any]:
    """Return ``plan`` as a JSON-ready document in ``format``."""
    if format == "bake":
        return bake(plan, graph)
    if format == "github-matrix":
        return github_matrix(plan, graph)
    return argo_workflow(plan, graph)


def _target_name(name: str) -> str:
    """Bake target names allow letters, digits, ``-`` and ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def bake(plan: RebuildPlan, graph: ImageGraph) -> dict[str, Any]:
    """Return a bake file: one target per Dockerfile image, linked to parents by ``target:``.

    Spec images are not bake targets, because only ``hardbase build`` builds
    them; a child of one reads it from the registry (``docker-image://``), so
    CI runs ``hardbase build`` for them first. They are listed under the
    ``hardbase-specs`` group's description for that reason.
    """
    in_plan = set(plan.names)
    targets: dict[str, Any] = {}
    for step in plan.steps:
        node = graph.nodes[step.name]
        if node.kind != "dockerfile":
            continue
        target: dict[str, Any] = {
            "context": node.context,
            "dockerfile": _relative_to_context(node),
            "tags": [node.reference.tagged] if node.reference else [],
        }
        if node.build_args:
            target["args"] = dict(sorted(node.build_args.items()))
        if node.platform:
            target["platforms"] = [node.platform]
        contexts = _bake_contexts(node, graph, in_plan)
        if contexts:
            target["contexts"] = contexts
        targets[_target_name(node.name)] = target
    names = [_target_name(s.name) for s in plan.steps if graph.nodes[s.name].kind == "dockerfile"]
    specs = [s.name for s in plan.steps if graph.nodes[s.name].kind == "spec"]
    document: dict[str, Any] = {"group": {"default": {"targets": names}}, "target": targets}
    if specs:
        document["group"]["hardbase-specs"] = {
            "description": "build first with hardbase build: " + ", ".join(specs),
            "targets": [],
        }
    return document


def _relative_to_context(node: ImageNode) -> str:
    """Bake reads ``dockerfile`` relative to ``context``."""
    context = "" if node.context == "." else node.context + "/"
    if context and node.source.startswith(context):
        return node.source[len(context) :]
    depth = 0 if node.context == "." else node.context.count("/") + 1
    return "../" * depth + node.source


def _bake_contexts(node: ImageNode, graph: ImageGraph, in_plan: set[str]) -> dict[str, str]:
    contexts: dict[str, str] = {}
    for edge in node.edges:
        if edge.parent is None:
            continue
        written = str(edge.reference).split("@", 1)[0]
        # Named contexts match the FROM text; the normalized name covers short spellings.
        key = written.removeprefix("docker.io/library/")
        parent = graph.nodes[edge.parent]
        if edge.parent in in_plan and parent.kind == "dockerfile":
            contexts[key] = f"target:{_target_name(edge.parent)}"
        elif parent.reference is not None:
            contexts[key] = f"docker-image://{parent.reference.tagged}"
    return contexts


def github_matrix(plan: RebuildPlan, graph: ImageGraph) -> dict[str, Any]:
    """Return ``{"levels": [MATRIX, ...]}``; each MATRIX is ``{"include": [...]}`` for one job.

    A workflow reads it with ``fromJSON(...).levels[N]`` as ``strategy.matrix``
    of the job for level N, which ``needs`` the job of level N-1.
    """
    levels = []
    for names in plan.levels:
        include = []
        for name in names:
            node = graph.nodes[name]
            step = plan.step(name)
            include.append(
                {
                    "image": name,
                    "kind": node.kind,
                    "reference": node.reference.tagged if node.reference else "",
                    "source": node.source,
                    "context": node.context,
                    "platform": node.platform or "",
                    "build-args": " ".join(
                        f"{key}={value}" for key, value in sorted(node.build_args.items())
                    ),
                    "parents": ",".join(step.parents),
                    "level": step.level,
                }
            )
        levels.append({"include": include})
    return {"levels": levels}


def _task_name(name: str) -> str:
    """Argo task names must be DNS-label-like: lowercase letters, digits and ``-``."""
    cleaned = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")
    return cleaned[:63] or "image"


def argo_workflow(plan: RebuildPlan, graph: ImageGraph) -> dict[str, Any]:
    """Return an Argo Workflows ``Workflow`` whose DAG builds the plan, parents first."""
    tasks = []
    for step in plan.steps:
        node = graph.nodes[step.name]
        parameters = [
            {"name": "reference", "value": node.reference.tagged if node.reference else ""},
            {"name": "source", "value": node.source},
            {"name": "context", "value": node.context},
        ]
        task: dict[str, Any] = {
            "name": _task_name(step.name),
            "template": "build-spec" if node.kind == "spec" else "build-dockerfile",
            "arguments": {"parameters": parameters},
        }
        if step.parents:
            task["dependencies"] = [_task_name(parent) for parent in step.parents]
        tasks.append(task)
    inputs = {"parameters": [{"name": "reference"}, {"name": "source"}, {"name": "context"}]}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "hardbase-rebuild-"},
        "spec": {
            "entrypoint": "rebuild",
            "templates": [
                {"name": "rebuild", "dag": {"tasks": tasks}},
                {
                    "name": "build-dockerfile",
                    "inputs": inputs,
                    "container": {
                        "image": ARGO_BUILDAH_IMAGE,
                        "command": ["sh", "-c"],
                        "args": [
                            "buildah bud -f {{inputs.parameters.source}}"
                            " -t {{inputs.parameters.reference}} {{inputs.parameters.context}}"
                            " && buildah push {{inputs.parameters.reference}}"
                        ],
                    },
                },
                {
                    "name": "build-spec",
                    "inputs": inputs,
                    "container": {
                        "image": ARGO_HARDBASE_IMAGE,
                        "command": ["hardbase"],
                        "args": [
                            "build",
                            "{{inputs.parameters.source}}",
                            "--output",
                            "oci:/tmp/image",
                            "--push",
                            "docker://{{inputs.parameters.reference}}",
                        ],
                    },
                },
            ],
        },
    }
