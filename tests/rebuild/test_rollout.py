"""Rollout edits of Dockerfiles, manifests and compose files, commits and webhooks."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from hardbase.rebuild.references import parse_reference
from hardbase.rebuild.rollout import (
    RolledImage,
    RolloutResult,
    apply_changes,
    commit_changes,
    plan_rollout,
    post_webhooks,
    webhook_payloads,
)

ASSETS = Path(__file__).parent.parent / "assets" / "rebuild" / "rollout"
OLD = "sha256:" + "3" * 64
NEW = "sha256:" + "4" * 64
APP = RolledImage("app", parse_reference("127.0.0.1:5000/team/app:2"), NEW, "apps:app")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    target = tmp_path / "deploy"
    shutil.copytree(ASSETS, target)
    return target


def _rolled(files: Path, *, pin_tags: bool = False) -> dict[str, list[str]]:
    changes, _ = plan_rollout([files], [APP], pin_tags=pin_tags)
    apply_changes(changes)
    return {p.name: p.read_text().splitlines() for p in files.iterdir()}


def test_pinned_container_updated(files: Path) -> None:
    lines = _rolled(files)["deployment.yaml"]
    assert lines[12] == f"          image: 127.0.0.1:5000/team/app:2@{NEW}"


def test_managed_setter_updated_with_quotes_and_comment(files: Path) -> None:
    lines = _rolled(files)["deployment.yaml"]
    assert lines[9] == (
        f'          image: "127.0.0.1:5000/team/app:2@{NEW}"  # {{"$imagepolicy": "apps:app"}}'
    )


def test_foreign_setter_left_alone(files: Path) -> None:
    lines = _rolled(files)["deployment.yaml"]
    assert OLD in lines[14]


def test_plain_tag_left_unless_pinning(files: Path) -> None:
    assert _rolled(files)["deployment.yaml"][16].endswith("team/app:2")


def test_plain_tag_pinned_on_request(files: Path) -> None:
    assert _rolled(files, pin_tags=True)["deployment.yaml"][16].endswith(f"team/app:2@{NEW}")


def test_other_tag_left_alone(files: Path) -> None:
    assert _rolled(files)["deployment.yaml"][18].endswith(f"team/app:1@{OLD}")


def test_comment_and_other_lines_kept(files: Path) -> None:
    original = (ASSETS / "deployment.yaml").read_text().splitlines()
    lines = _rolled(files)["deployment.yaml"]
    unchanged = [i for i, line in enumerate(original) if OLD not in line]
    assert [lines[i] for i in unchanged] == [original[i] for i in unchanged]


def test_compose_single_quotes_kept(files: Path) -> None:
    assert _rolled(files)["compose.yaml"][2] == f"    image: '127.0.0.1:5000/team/app:2@{NEW}'"


def test_dockerfile_from_and_copy_updated(files: Path) -> None:
    lines = _rolled(files)["Dockerfile"]
    assert lines[0] == f"FROM --platform=linux/amd64 127.0.0.1:5000/team/app:2@{NEW} AS app"
    assert lines[1] == f"COPY --from=127.0.0.1:5000/team/app:2@{NEW} /app /app"


def test_second_rollout_finds_nothing(files: Path) -> None:
    _rolled(files)
    changes, _ = plan_rollout([files], [APP])
    assert changes == []


def _git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *arguments], check=True, capture_output=True, text=True
    ).stdout


def test_commit_lists_images(files: Path) -> None:
    _git(files, "init", "-q")
    _git(files, "-c", "user.name=t", "-c", "user.email=t@example.org", "add", ".")
    _git(files, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "init")
    _git(files, "config", "user.name", "t")
    _git(files, "config", "user.email", "t@example.org")
    changes, _ = plan_rollout([files], [APP])
    apply_changes(changes)
    commit = commit_changes(changes, [APP])
    message = _git(files, "log", "-1", "--format=%B")
    assert commit is not None
    assert message.startswith("Pin app to new digests")
    assert f"127.0.0.1:5000/team/app:2@{NEW}" in message
    assert _git(files, "status", "--porcelain") == ""


def test_no_commit_outside_git(files: Path) -> None:
    changes, _ = plan_rollout([files], [APP])
    apply_changes(changes)
    assert commit_changes(changes, [APP]) is None


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: ClassVar[list[dict[str, object]]] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_webhook_posts_one_event_per_image(
    files: Path, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    url, received = webhook
    changes, _ = plan_rollout([files], [APP])
    apply_changes(changes)
    post_webhooks(url, webhook_payloads(RolloutResult(tuple(changes)), [APP]))
    assert len(received) == 1
    assert received[0]["digest"] == NEW
    assert received[0]["pinned"] == f"127.0.0.1:5000/team/app:2@{NEW}"
    assert len(received[0]["files"]) == 3  # type: ignore[arg-type]
