"""Rebuild plans and their bake, GitHub matrix and Argo exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hardbase.rebuild.exports import argo_workflow, bake, github_matrix
from hardbase.rebuild.graph import ImageGraph, load_graph
from hardbase.rebuild.plan import make_plan

ASSETS = Path(__file__).parent.parent / "assets" / "rebuild"


@pytest.fixture(scope="module")
def graph() -> ImageGraph:
    return load_graph(ASSETS / "fleet")[1]


def _schema(name: str) -> dict[str, Any]:
    return json.loads((ASSETS / name).read_text())


def test_plan_of_subtree_has_levels(graph: ImageGraph) -> None:
    plan = make_plan(graph, ["php", "app"])
    assert plan.levels == (("php",), ("app",))
    assert plan.step("app").parents == ("php",)


def test_plan_of_whole_graph_parent_first(graph: ImageGraph) -> None:
    plan = make_plan(graph, list(graph.nodes))
    order = plan.names
    for step in plan.steps:
        for parent in step.parents:
            assert order.index(parent) < order.index(step.name)


def test_plan_rejects_unknown_image(graph: ImageGraph) -> None:
    with pytest.raises(KeyError):
        make_plan(graph, ["nope"])


def test_bake_matches_schema(graph: ImageGraph) -> None:
    document = bake(make_plan(graph, list(graph.nodes)), graph)
    jsonschema.validate(document, _schema("bake.schema.json"))


def test_bake_links_child_to_parent_target(graph: ImageGraph) -> None:
    document = bake(make_plan(graph, list(graph.nodes)), graph)
    assert document["target"]["app"]["contexts"] == {"127.0.0.1:5000/team/php:8.2": "target:php"}
    assert document["target"]["app"]["dockerfile"] == "Dockerfile"


def test_bake_reads_spec_parent_from_registry(graph: ImageGraph) -> None:
    document = bake(make_plan(graph, list(graph.nodes)), graph)
    contexts = document["target"]["php"]["contexts"]
    assert contexts == {"127.0.0.1:5000/team/base:1": "docker-image://127.0.0.1:5000/team/base:1"}
    assert "base" not in document["target"]


def test_github_matrix_matches_schema(graph: ImageGraph) -> None:
    document = github_matrix(make_plan(graph, list(graph.nodes)), graph)
    jsonschema.validate(document, _schema("github-matrix.schema.json"))


def test_github_matrix_one_level_per_entry(graph: ImageGraph) -> None:
    document = github_matrix(make_plan(graph, list(graph.nodes)), graph)
    images = [[entry["image"] for entry in level["include"]] for level in document["levels"]]
    assert images == [["base", "tools"], ["php", "worker"], ["app"]]


def test_argo_matches_schema(graph: ImageGraph) -> None:
    document = argo_workflow(make_plan(graph, list(graph.nodes)), graph)
    jsonschema.validate(document, _schema("argo-workflow.schema.json"))


def test_argo_dependencies_follow_plan(graph: ImageGraph) -> None:
    document = argo_workflow(make_plan(graph, list(graph.nodes)), graph)
    tasks = {task["name"]: task for task in document["spec"]["templates"][0]["dag"]["tasks"]}
    assert tasks["app"]["dependencies"] == ["php"]
    assert tasks["worker"]["template"] == "build-spec"
    assert "dependencies" not in tasks["base"]
