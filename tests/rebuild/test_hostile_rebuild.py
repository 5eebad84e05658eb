"""Hostile repositories given to ``graph``, ``rollout`` and the hardbase.yaml reader.

Rollout edits no file outside the repository through a symbolic link and
never turns a link into a file. A hardbase.yaml that is a FIFO, or contains
values that PyYAML cannot build, gets one error line and exit status 2.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from hardbase.rebuild.references import parse_reference
from hardbase.rebuild.rollout import RolledImage, plan_rollout

DIGEST = "sha256:" + "4" * 64
BASE = RolledImage("base", parse_reference("127.0.0.1:5000/team/base:12"), DIGEST)
MANIFEST = "image: 127.0.0.1:5000/team/base:12\n"


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hardbase", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "cache")},
    )


def _repository(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "victim.yaml").write_text(MANIFEST)
    return root, outside


def test_rollout_skips_linked_file(tmp_path: Path) -> None:
    root, outside = _repository(tmp_path)
    (root / "deploy.yaml").symlink_to(outside / "victim.yaml")

    changes, warnings = plan_rollout([root / "deploy.yaml"], [BASE], pin_tags=True, root=root)

    assert changes == []
    assert warnings == [f"{root / 'deploy.yaml'}: symbolic link, skipped"]


def test_rollout_skips_linked_folder(tmp_path: Path) -> None:
    root, outside = _repository(tmp_path)
    (root / "deploy").symlink_to(outside)

    changes, warnings = plan_rollout([root / "deploy"], [BASE], pin_tags=True, root=root)

    assert changes == []
    assert warnings == [f"{root / 'deploy'}: symbolic link, skipped"]


def test_rollout_skips_path_through_link(tmp_path: Path) -> None:
    root, outside = _repository(tmp_path)
    (root / "deploy").symlink_to(outside)
    through = root / "deploy" / "victim.yaml"

    changes, warnings = plan_rollout([through], [BASE], pin_tags=True, root=root)

    assert changes == []
    assert len(warnings) == 1
    assert "leads out of" in warnings[0]


def test_rollout_still_edits_plain_file(tmp_path: Path) -> None:
    root, _ = _repository(tmp_path)
    (root / "deploy.yaml").write_text(MANIFEST)

    changes, warnings = plan_rollout([root / "deploy.yaml"], [BASE], pin_tags=True, root=root)

    assert warnings == []
    assert [change.path for change in changes] == [root / "deploy.yaml"]


def _state_and_config(root: Path) -> None:
    (root / ".hardbase").mkdir()
    (root / ".hardbase" / "rebuild-state.json").write_text(
        '{"version": 1, "images": {"base": {"reference": "docker://127.0.0.1:5000/team/base:12",'
        f' "digest": "{DIGEST}", "inputs": "x", "built_at": "2026-01-01T00:00:00Z"}}}}}}\n'
    )
    (root / "hardbase.yaml").write_text(
        "images:\n  - name: base\n    reference: docker://127.0.0.1:5000/team/base:12\n"
        "    dockerfile: Dockerfile\n"
    )
    (root / "Dockerfile").write_text("FROM debian:bookworm\n")


def test_rollout_cli_leaves_link_and_target(tmp_path: Path) -> None:
    root, outside = _repository(tmp_path)
    (root / "deploy.yaml").symlink_to(outside / "victim.yaml")
    _state_and_config(root)

    result = _cli(
        "rollout", "--root", str(root), "--no-commit", "--pin-tags", "deploy.yaml", cwd=root
    )

    assert result.returncode == 0, result.stderr
    assert "deploy.yaml: symbolic link, skipped" in result.stderr
    assert (root / "deploy.yaml").is_symlink()
    assert (outside / "victim.yaml").read_text() == MANIFEST


def test_rollout_webhook_closed_port_is_one_line(tmp_path: Path) -> None:
    root, _ = _repository(tmp_path)
    _state_and_config(root)
    (root / "deploy.yaml").write_text(MANIFEST)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = _cli(
        "rollout",
        "--root",
        str(root),
        "--no-commit",
        "--pin-tags",
        "--webhook",
        f"http://127.0.0.1:{port}/hook",
        "deploy.yaml",
        cwd=root,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"webhook http://127.0.0.1:{port}/hook failed for base" in lines[0]
    assert DIGEST in (root / "deploy.yaml").read_text()


def test_config_fifo_is_rejected(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "hardbase.yaml")

    result = _cli("graph", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "hardbase.yaml: the config is not a regular file" in result.stderr


def test_config_impossible_date_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "hardbase.yaml").write_text("images: 2024-13-45\n")

    result = _cli("graph", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "hardbase.yaml: invalid YAML value: month must be in 1..12" in lines[0]


def test_graph_error_keeps_reference_text(tmp_path: Path) -> None:
    # Rich turns ":b:" into an emoji unless emoji codes are off.
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM a:b:c@sha256:zz\n")

    result = _cli("graph", str(tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "FROM a:b:c@sha256:zz" in result.stderr


def test_rollout_edits_first_line_after_bom(tmp_path: Path) -> None:
    root, _ = _repository(tmp_path)
    manifest = root / "deploy.yaml"
    manifest.write_bytes(b"\xef\xbb\xbf" + MANIFEST.replace("\n", "\r\n").encode())

    changes, _ = plan_rollout([manifest], [BASE], pin_tags=True, root=root)

    assert [edit.line for edit in changes[0].edits] == [1]
    assert changes[0].text == f"\ufeffimage: 127.0.0.1:5000/team/base:12@{DIGEST}\r\n"
