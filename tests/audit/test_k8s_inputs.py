"""Reading Kubernetes manifests: malformed input, positions, lists and hostile YAML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardbase.audit.locate import ManifestSyntaxError, load_documents
from hardbase.audit.run import audit_paths
from hardbase.errors import InputError


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hardbase", "audit", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n")

    result = _cli(str(manifest))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{manifest}:5:1: invalid YAML" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.json"
    manifest.write_text('{\n  "apiVersion": "v1",\n  "kind": "Pod"\n  "metadata": {}\n}\n')

    result = _cli(str(manifest))

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{manifest}:4:3: invalid JSON" in lines[0]


def test_malformed_yaml_in_folder_exits_two(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "bad.yml").write_text("services:\n  web:\n    image: [x\n")

    result = _cli(str(tmp_path))

    assert result.returncode == 2
    assert "bad.yml:" in result.stderr


def test_missing_path_exits_two(tmp_path: Path) -> None:
    result = _cli(str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    assert "no such file or folder" in result.stderr


def test_unknown_yaml_named_alone_is_rejected(tmp_path: Path) -> None:
    other = tmp_path / "values.yaml"
    other.write_text("replicaCount: 2\n")
    with pytest.raises(InputError, match="not a Kubernetes manifest"):
        audit_paths([other])


def test_unknown_yaml_in_folder_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicaCount: 2\n")
    assert audit_paths([tmp_path]).files == ()


def test_positions_point_at_keys() -> None:
    text = "a:\n  b:\n    - x\n    - c: 1\n"
    document = load_documents(text, "t.yaml")[0]

    assert document.position(("a", "b")) is not None
    assert document.position(("a", "b")).line == 2  # type: ignore[union-attr]
    assert document.position(("a", "b", 1, "c")).line == 4  # type: ignore[union-attr]


def test_alias_bomb_is_rejected_quickly() -> None:
    # Nine levels of nine aliases: walking each alias again would visit 9**9 nodes.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    with pytest.raises(ManifestSyntaxError, match="aliases expand"):
        load_documents("\n".join(lines) + "\n", "bomb.yaml")


def test_deep_nesting_is_an_input_error() -> None:
    with pytest.raises(ManifestSyntaxError):
        load_documents("[" * 100_000 + "]" * 100_000, "deep.yaml")


def test_wrong_type_is_warned_and_ignored(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: c\n      image: x\n      securityContext:\n        privileged: 'yes'\n"
    )
    report = audit_paths([manifest])

    assert not any(f.rule_id == "HB-RUN-001" for f in report.findings)
    assert any("securityContext.privileged" in w for w in report.warnings)


def test_container_run_as_user_overrides_pod(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  securityContext: {runAsUser: 0}\n  containers:\n"
        "    - name: c\n      image: x\n      securityContext: {runAsUser: 1000}\n"
    )
    report = audit_paths([manifest])
    assert not any(f.rule_id == "HB-RUN-003" for f in report.findings)


def test_pod_level_unconfined_reported_once(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  securityContext: {seccompProfile: {type: Unconfined}}\n  containers:\n"
        "    - {name: a, image: x}\n    - {name: b, image: y}\n"
    )
    report = audit_paths([manifest])
    assert len([f for f in report.findings if f.rule_id == "HB-RUN-006"]) == 1


def test_localhost_profile_outside_root_is_reported(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  securityContext:\n    seccompProfile: {type: Localhost, localhostProfile: ../../etc/x}\n"
        "  containers:\n    - {name: a, image: x}\n"
    )
    report = audit_paths([manifest])
    titles = [f.title for f in report.findings if f.rule_id == "HB-RUN-007"]
    assert len(titles) == 1
    assert "not a path inside the seccomp root" in titles[0]
