"""Compose services mapped onto the run configuration."""

from __future__ import annotations

from pathlib import Path

from hardbase.audit.compose import read_compose
from hardbase.audit.locate import load_documents
from hardbase.audit.run import check_workload


def test_long_volume_syntax_socket() -> None:
    text = (
        "services:\n  agent:\n    image: x\n    volumes:\n"
        "      - type: bind\n        source: /var/run/docker.sock\n        target: /s\n"
    )
    document = load_documents(text, "compose.yaml")[0]
    workload = read_compose(document, [])[0]
    findings = [f for f in check_workload(workload) if f.rule_id == "HB-RUN-011"]

    assert len(findings) == 1
    assert findings[0].evidence["location"]["path"] == "services.agent.volumes[0].source"
    assert findings[0].evidence["location"]["line"] == 6


def test_named_volume_is_not_a_bind() -> None:
    text = "services:\n  db:\n    image: x\n    volumes:\n      - data:/var/lib/db\n"
    document = load_documents(text, "compose.yaml")[0]
    assert read_compose(document, [])[0].containers[0].mounts == ()


def test_legacy_limits_and_user_name() -> None:
    text = "services:\n  w:\n    image: x\n    user: app\n    cpus: 0.5\n    mem_limit: 1g\n"
    document = load_documents(text, "compose.yaml")[0]
    container = read_compose(document, [])[0].containers[0]
    ids = {f.rule_id for f in check_workload(read_compose(document, [])[0])}

    assert container.cpu_limit is not None and container.cpu_limit.value == "0.5"
    assert container.memory_limit is not None and container.memory_limit.value == "1g"
    assert "HB-RUN-003" not in ids
    assert "HB-RUN-013" not in ids


def test_seccomp_profile_relative_to_compose_file(tmp_path: Path) -> None:
    (tmp_path / "missing-dir").mkdir()
    text = "services:\n  w:\n    image: x\n    security_opt: ['seccomp=profiles/w.json']\n"
    document = load_documents(text, str(tmp_path / "compose.yaml"))[0]
    workload = read_compose(document, [], base=str(tmp_path))[0]
    findings = [f for f in check_workload(workload) if f.rule_id == "HB-RUN-007"]

    assert len(findings) == 1
    assert str(tmp_path / "profiles" / "w.json") in findings[0].title
