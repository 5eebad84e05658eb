"""outdated, rebuild and rollout end to end, on a signed apt repository and a registry on 127.0.0.1.

A base image is built by ``hardbase build`` from the Debian archive and a
local repository that serves ``hb-demo`` as ``bookworm-security``. Below it
are a spec image and two Dockerfile images (one two levels deep); beside it
an unrelated ``FROM scratch`` image. Publishing ``hb-demo 1.1`` must make the
base and its three descendants stale, and nothing else.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from local_services import AptRepository, registry, serve_folder
from typer.testing import CliRunner, Result

from hardbase.cli import graph as graph_command
from hardbase.cli import outdated as outdated_command
from hardbase.cli import rebuild as rebuild_command
from hardbase.cli import rollout as rollout_command
from hardbase.rebuild.state import read_state

pytestmark = [pytest.mark.slow, pytest.mark.network]

DERIVED = {"base", "tools", "php", "app"}


def _app() -> typer.Typer:
    app = typer.Typer()
    for command in (graph_command, outdated_command, rebuild_command, rollout_command):
        command.register(app)
    return app


def hardbase(*arguments: str) -> Result:
    return CliRunner().invoke(_app(), list(arguments), catch_exceptions=False)


@dataclass
class Fleet:
    root: Path
    registry: str
    repository: AptRepository
    built: dict[str, str]
    """Digests of the first build, by image name."""
    first_log: dict[str, Any]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_fleet(root: Path, host: str, mirror: str, keyring: Path) -> None:
    distribution = (
        f"distribution:\n  suite: bookworm\n  security-mirror: {mirror}\n  keyring: {keyring}\n"
    )
    _write(
        root / "hardbase.yaml",
        f"registry: {host}/fleet\ntls-verify: false\n"
        f"archive:\n  security-mirror: {mirror}\n  keyring: {keyring}\n"
        "images:\n"
        f"  - name: base\n    reference: docker://{host}/fleet/base:1\n    spec: base/base.yaml\n"
        f"  - name: tools\n    reference: docker://{host}/fleet/tools:1\n"
        "    spec: tools/tools.yaml\n"
        f"  - name: php\n    reference: docker://{host}/fleet/php:1\n"
        "    dockerfile: php/Dockerfile\n"
        f"  - name: app\n    reference: docker://{host}/fleet/app:1\n"
        "    dockerfile: app/Dockerfile\n    flux-policy: apps:app\n"
        f"  - name: hello\n    reference: docker://{host}/fleet/hello:1\n"
        "    dockerfile: hello/Dockerfile\n",
    )
    _write(
        root / "base/base.yaml",
        f"name: fleet-base\n{distribution}packages:\n  - dash\n  - hb-demo\n"
        "hardening:\n  flavour: slim\n",
    )
    _write(
        root / "tools/tools.yaml",
        f"name: fleet-tools\n{distribution}packages:\n  - dash\n"
        f"base:\n  name: {host}/fleet/base:1\n  digest: sha256:{'0' * 64}\n"
        "hardening:\n  flavour: slim\n",
    )
    _write(
        root / "php/Dockerfile",
        f"ARG BASE={host}/fleet/base:1\nFROM ${{BASE}}\n"
        "USER 0\nRUN echo php > /etc/php-marker\nUSER 1000\n",
    )
    _write(
        root / "app/Dockerfile",
        f"FROM {host}/fleet/php:1\nUSER 0\nRUN echo app > /etc/app-marker\nUSER 1000\n",
    )
    _write(root / "hello/Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n")
    _write(root / "hello/hello.txt", "hello\n")


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *arguments], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("fleet")
    architecture = subprocess.run(
        ["dpkg", "--print-architecture"], check=True, capture_output=True, text=True
    ).stdout.strip()
    repository = AptRepository(work / "apt", "bookworm-security", architecture)
    repository.publish("hb-demo", "1.0")
    (work / "registry").mkdir()
    try:
        yield from _serve_fleet(work, repository)
    finally:
        repository.close()


def _serve_fleet(work: Path, repository: AptRepository) -> Iterator[Fleet]:
    with serve_folder(repository.root) as mirror, registry(work / "registry") as host:
        root = work / "repo"
        _write_fleet(root, host, mirror, repository.combined_keyring)
        _git(root, "init", "-q")
        _git(root, "config", "user.name", "hardbase tests")
        _git(root, "config", "user.email", "tests@example.org")
        result = hardbase("rebuild", str(root), "--jobs", "2")
        assert result.exit_code == 0, result.output
        state = read_state(root / ".hardbase/rebuild-state.json")
        built = {name: record.digest for name, record in state.images.items()}
        first_log = json.loads((root / ".hardbase/rebuild-log.json").read_text())
        _write(
            root / "deploy/app.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n"
            "  template:\n    spec:\n      containers:\n        - name: app\n"
            f"          image: {host}/fleet/app:1@{built['app']}"
            '  # {"$imagepolicy": "apps:app"}\n'
            "        - name: php\n"
            f"          image: {host}/fleet/php:1@{built['php']}  # runtime\n",
        )
        _write(
            root / "deploy/compose.yaml",
            f"services:\n  hello:\n    image: {host}/fleet/hello:1@{built['hello']}\n",
        )
        _git(root, "add", ".")
        _git(root, "commit", "-qm", "Add the fleet")
        yield Fleet(root, host, repository, built, first_log)


def _order(log: dict[str, Any]) -> list[str]:
    return [image["name"] for image in log["images"]]


def test_first_build_builds_every_image(fleet: Fleet) -> None:
    assert set(fleet.built) == DERIVED | {"hello"}
    assert all(image["status"] == "built" for image in fleet.first_log["images"])


def test_first_build_parent_first(fleet: Fleet) -> None:
    order = _order(fleet.first_log)
    assert order.index("base") < order.index("php") < order.index("app")
    assert order.index("base") < order.index("tools")


def test_child_built_on_parent_digest(fleet: Fleet) -> None:
    php = next(image for image in fleet.first_log["images"] if image["name"] == "php")
    assert php["parents"] == {f"{fleet.registry}/fleet/base:1": fleet.built["base"]}


def test_graph_json_lists_levels(fleet: Fleet) -> None:
    result = hardbase("graph", str(fleet.root), "--format", "json")
    levels = json.loads(result.output)["levels"]
    assert levels == [["base", "hello"], ["php", "tools"], ["app"]]


@pytest.fixture(scope="module")
def fresh_outdated(fleet: Fleet) -> dict[str, Any]:
    result = hardbase("outdated", str(fleet.root), "--format", "json")
    assert result.exit_code in (0, 1), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_nothing_stale_after_build(fresh_outdated: dict[str, Any]) -> None:
    assert fresh_outdated["stale"] == []


@pytest.fixture(scope="module")
def stale(fleet: Fleet, fresh_outdated: dict[str, Any]) -> dict[str, Any]:
    fleet.repository.publish("hb-demo", "1.1")
    result = hardbase("outdated", str(fleet.root), "--format", "json")
    assert result.exit_code == 1, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_outdated_lists_base_subtree(stale: dict[str, Any]) -> None:
    assert set(stale["stale"]) == DERIVED


def test_outdated_names_pending_update(stale: dict[str, Any]) -> None:
    base = next(image for image in stale["images"] if image["name"] == "base")
    assert base["reasons"][0]["kind"] == "pending-updates"
    assert "hb-demo 1.0 -> 1.1" in base["reasons"][0]["detail"]


def test_outdated_marks_children_parent_stale(stale: dict[str, Any]) -> None:
    app = next(image for image in stale["images"] if image["name"] == "app")
    assert [reason["kind"] for reason in app["reasons"]] == ["parent-stale"]


@pytest.fixture(scope="module")
def rebuilt(fleet: Fleet, stale: dict[str, Any]) -> dict[str, Any]:
    result = hardbase("rebuild", str(fleet.root), "--jobs", "2")
    assert result.exit_code == 0, result.output
    log: dict[str, Any] = json.loads((fleet.root / ".hardbase/rebuild-log.json").read_text())
    return log


def test_rebuild_builds_only_stale(rebuilt: dict[str, Any]) -> None:
    assert set(_order(rebuilt)) == DERIVED


def test_rebuild_parent_first(rebuilt: dict[str, Any]) -> None:
    order = _order(rebuilt)
    assert order.index("base") < order.index("php") < order.index("app")


def test_rebuild_pushes_new_digests(fleet: Fleet, rebuilt: dict[str, Any]) -> None:
    digests = {image["name"]: image["digest"] for image in rebuilt["images"]}
    assert all(digests[name] != fleet.built[name] for name in DERIVED)


def test_rebuilt_base_has_new_package(fleet: Fleet, rebuilt: dict[str, Any]) -> None:
    from hardbase.image.reader import open_image
    from hardbase.tools import skopeo

    digest = next(i["digest"] for i in rebuilt["images"] if i["name"] == "app")
    layout = fleet.root.parent / "app-layout"
    skopeo.copy(f"docker://{fleet.registry}/fleet/app@{digest}", f"oci:{layout}:app",
                tls_verify=False)  # fmt: skip
    with open_image(f"oci:{layout}:app") as image:
        assert image.fs.read_text("/usr/share/hb-demo/version") == "1.1\n"
        assert image.fs.read_text("/etc/app-marker") == "app\n"


@pytest.fixture(scope="module")
def rolled(fleet: Fleet, rebuilt: dict[str, Any]) -> Result:
    result = hardbase("rollout", str(fleet.root / "deploy"), "--root", str(fleet.root))
    assert result.exit_code == 0, result.output
    return result


def test_rollout_pins_new_digests(fleet: Fleet, rebuilt: dict[str, Any], rolled: Result) -> None:
    digests = {image["name"]: image["digest"] for image in rebuilt["images"]}
    text = (fleet.root / "deploy/app.yaml").read_text()
    assert f"fleet/app:1@{digests['app']}" in text
    assert f"fleet/php:1@{digests['php']}  # runtime" in text


def test_rollout_leaves_unrelated_image(fleet: Fleet, rolled: Result) -> None:
    compose = (fleet.root / "deploy/compose.yaml").read_text()
    assert f"fleet/hello:1@{fleet.built['hello']}" in compose


def test_rollout_commits(fleet: Fleet, rolled: Result) -> None:
    subject = _git(fleet.root, "log", "-1", "--format=%s").strip()
    assert subject == "Pin app, php to new digests"
    assert _git(fleet.root, "status", "--porcelain", "deploy") == ""


def test_second_outdated_finds_nothing(fleet: Fleet, rolled: Result) -> None:
    result = hardbase("outdated", str(fleet.root), "--format", "json")
    assert json.loads(result.stdout)["stale"] == []
    assert result.exit_code == 0


def test_second_rebuild_does_nothing(fleet: Fleet, rolled: Result) -> None:
    result = hardbase("rebuild", str(fleet.root))
    assert result.stdout.strip() == "nothing to rebuild"


def test_second_rollout_does_nothing(fleet: Fleet, rolled: Result) -> None:
    result = hardbase("rollout", str(fleet.root / "deploy"), "--root", str(fleet.root))
    assert result.stdout.strip() == "nothing to roll out"


@pytest.fixture(scope="module")
def failing(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result, str]:
    """A second repository on the fleet's base: root R, children S and F, grandchild G of F."""
    root = tmp_path_factory.mktemp("failing")
    host = fleet.registry
    lines = [f"registry: {host}/other", "tls-verify: false", "images:"]
    for name in ("r", "s", "f", "g"):
        lines += [f"  - name: {name}", f"    reference: docker://{host}/other/{name}:1",
                  f"    dockerfile: {name}/Dockerfile"]  # fmt: skip
    _write(root / "hardbase.yaml", "\n".join(lines) + "\n")
    _write(root / "r/Dockerfile", f"FROM {host}/fleet/base:1\nRUN echo r > /tmp/r\n")
    _write(root / "s/Dockerfile", f"FROM {host}/other/r:1\nRUN echo s > /tmp/s\n")
    _write(root / "f/Dockerfile", f"FROM {host}/other/r:1\nRUN echo f > /tmp/f && exit 3\n")
    _write(root / "g/Dockerfile", f"FROM {host}/other/f:1\nRUN echo g > /tmp/g\n")
    return root, hardbase("rebuild", str(root), "--jobs", "2"), host


def _statuses(root: Path) -> dict[str, str]:
    log = json.loads((root / ".hardbase/rebuild-log.json").read_text())
    return {image["name"]: image["status"] for image in log["images"]}


def test_failure_exits_nonzero(failing: tuple[Path, Result, str]) -> None:
    assert failing[1].exit_code == 1


def test_failure_stops_only_subtree(failing: tuple[Path, Result, str]) -> None:
    assert _statuses(failing[0]) == {"r": "built", "s": "built", "f": "failed", "g": "blocked"}


def test_resume_builds_only_unfinished(failing: tuple[Path, Result, str]) -> None:
    root, _, host = failing
    before = read_state(root / ".hardbase/rebuild-state.json").images
    _write(root / "f/Dockerfile", f"FROM {host}/other/r:1\nRUN true\n")
    result = hardbase("rebuild", str(root), "--resume")
    assert result.exit_code == 0, result.output
    assert _statuses(root) == {"r": "skipped", "s": "skipped", "f": "built", "g": "built"}
    after = read_state(root / ".hardbase/rebuild-state.json").images
    assert after["r"].digest == before["r"].digest
    assert after["g"].parents[f"{host}/other/f:1"] == after["f"].digest
