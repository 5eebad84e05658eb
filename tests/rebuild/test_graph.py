"""Image graph discovery, linking and rendering on small repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hardbase.rebuild.config import ConfigError, load_config
from hardbase.rebuild.graph import GraphError, graph_dot, graph_json, graph_tree, load_graph

ASSETS = Path(__file__).parent.parent / "assets" / "rebuild"


def test_fleet_levels() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert graph.levels == (("base", "tools"), ("php", "worker"), ("app",))


def test_build_arg_from_config_selects_parent() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert graph.nodes["php"].parents == ("base",)
    assert graph.nodes["php"].platform == "linux/amd64"


def test_spec_base_links_to_parent() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert graph.nodes["worker"].kind == "spec"
    assert graph.nodes["worker"].parents == ("base",)


def test_digest_pinned_from_matches_parent() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    base_edge = next(e for e in graph.nodes["app"].edges if e.role == "base")
    assert base_edge.parent == "php"
    assert base_edge.reference.digest == "sha256:" + "1" * 64


def test_earlier_stages_are_external_build_inputs() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    inputs = {str(e.reference) for e in graph.nodes["app"].edges if e.role == "build-input"}
    assert inputs == {"docker.io/library/debian:bookworm", "docker.io/library/busybox:1.36"}


def test_external_base_is_leaf() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    tools = graph.nodes["tools"]
    assert tools.parents == ()
    assert [str(e.reference) for e in tools.external] == ["docker.io/library/debian:bookworm"]


def test_discovered_image_gets_registry_reference() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert str(graph.nodes["tools"].reference) == "127.0.0.1:5000/team/tools:latest"


def test_manifest_not_taken_for_spec() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert all(not node.source.startswith("deploy/") for node in graph.nodes.values())


def test_descendants_of_base() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    assert graph.descendants(["base"]) == {"php", "worker", "app"}


def test_cycle_rejected() -> None:
    with pytest.raises(GraphError, match="cycle: a -> b -> a"):
        load_graph(ASSETS / "cycle")


def test_unknown_parent_under_own_prefix_rejected() -> None:
    with pytest.raises(GraphError, match="no image here builds it"):
        load_graph(ASSETS / "unknown-parent")


def test_unknown_config_key_rejected(tmp_path: Path) -> None:
    (tmp_path / "hardbase.yaml").write_text("registry: h/x\nregistries: []\n")
    with pytest.raises(ConfigError, match="unknown key 'registries'"):
        load_config(tmp_path)


def test_duplicate_names_rejected(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web/Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "web.Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(GraphError, match="two images are named"):
        load_graph(tmp_path)


def test_json_lists_children(tmp_path: Path) -> None:
    _, graph = load_graph(ASSETS / "fleet")
    document = json.loads(json.dumps(graph_json(graph)))
    base = next(image for image in document["images"] if image["name"] == "base")
    assert base["children"] == ["php", "worker"]


def test_dot_has_edges() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    dot = graph_dot(graph)
    assert '"base" -> "php";' in dot
    assert '"docker.io/library/debian:bookworm" [style=dashed];' in dot


def test_tree_nests_children() -> None:
    _, graph = load_graph(ASSETS / "fleet")
    lines = graph_tree(graph).splitlines()
    assert lines[0].startswith("base (127.0.0.1:5000/team/base:1")
    assert lines[1].startswith("├── php")
    assert lines[2].startswith("│   └── app")


def test_missing_listed_file_rejected(tmp_path: Path) -> None:
    shutil.copy(ASSETS / "fleet" / "hardbase.yaml", tmp_path / "hardbase.yaml")
    with pytest.raises(GraphError, match=r"base/base\.yaml does not exist"):
        load_graph(tmp_path)
