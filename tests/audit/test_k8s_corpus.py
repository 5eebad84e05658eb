"""`hardbase audit` on the corpus of realistic manifests, compose files and Dockerfiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import REPO
from hardbase.audit.pss import Level
from hardbase.audit.run import AuditOptions, AuditReport, audit_paths

CORPUS = REPO / "tests" / "assets" / "audit" / "corpus"
SECCOMP_ROOT = CORPUS / "seccomp-root"

#: Every rule id planted in each corpus file; a file missing here has none.
EXPECTED: dict[str, set[str]] = {
    "Containerfile": {"HB-DOCKERFILE-003", "HB-DOCKERFILE-008"},
    "Dockerfile.arg-base": {
        "HB-DOCKERFILE-001",
        "HB-DOCKERFILE-002",
        "HB-DOCKERFILE-006",
        "HB-DOCKERFILE-007",
        "HB-DOCKERFILE-008",
    },
    "Dockerfile.curl-pipe-sh": {
        "HB-DOCKERFILE-001",
        "HB-DOCKERFILE-003",
        "HB-DOCKERFILE-004",
        "HB-DOCKERFILE-005",
        "HB-DOCKERFILE-007",
        "HB-DOCKERFILE-008",
    },
    "Dockerfile.multistage": {"HB-DOCKERFILE-008"},
    "Dockerfile.root-by-uid": {"HB-DOCKERFILE-001", "HB-DOCKERFILE-005", "HB-DOCKERFILE-008"},
    "compose.yaml": {
        "HB-RUN-001",
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-005",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-009",
        "HB-RUN-011",
        "HB-RUN-013",
    },
    "cronjob-backup.yaml": {
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-005",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-012",
        "HB-RUN-013",
    },
    "daemonset-log-agent.yaml": {"HB-RUN-010"},
    "deployment-baseline.yaml": {
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-012",
    },
    "deployment-docker-socket.yaml": {"HB-RUN-010", "HB-RUN-011"},
    "deployment-json.json": {"HB-RUN-005", "HB-RUN-008"},
    "deployment-privileged.yaml": {
        "HB-RUN-001",
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-005",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-009",
        "HB-RUN-012",
        "HB-RUN-013",
    },
    "job-localhost-invalid.yaml": {"HB-RUN-007"},
    "job-localhost-missing.yaml": {"HB-RUN-007"},
    "list-of-workloads.yaml": {
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-009",
        "HB-RUN-012",
    },
    "namespace-shop.yaml": {"HB-RUN-014"},
    "pod-apparmor-sysctl.yaml": {
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-006",
        "HB-RUN-008",
        "HB-RUN-015",
    },
    "replicaset-legacy-annotation.yaml": {"HB-RUN-006"},
    "statefulset-override.yaml": {
        "HB-RUN-002",
        "HB-RUN-003",
        "HB-RUN-004",
        "HB-RUN-008",
        "HB-RUN-012",
    },
}

#: Pod Security Standards level of every Kubernetes workload in the corpus.
PSS_LEVELS: dict[str, Level] = {
    "CronJob/data/nightly-backup": Level.PRIVILEGED,
    "DaemonSet/logging/log-agent": Level.PRIVILEGED,
    "Deployment/web/storefront": Level.BASELINE,
    "Deployment/ci/ci-runner": Level.PRIVILEGED,
    "Deployment/edge/router": Level.PRIVILEGED,
    "Deployment/ops/node-debugger": Level.PRIVILEGED,
    "Job/web/thumbnailer": Level.RESTRICTED,
    "Job/web/migrate": Level.RESTRICTED,
    "Job/web/reindex": Level.RESTRICTED,
    "Deployment/monitoring/metrics": Level.PRIVILEGED,
    "StatefulSet/monitoring/cache": Level.PRIVILEGED,
    "Deployment/payments/ledger": Level.RESTRICTED,
    "Deployment/shop/web": Level.RESTRICTED,
    "Deployment/shop/memcached": Level.RESTRICTED,
    "Deployment/shop/worker": Level.RESTRICTED,
    "Pod/edge/tuner": Level.PRIVILEGED,
    "Pod/web/api": Level.RESTRICTED,
    "ReplicaSet/jobs/legacy-worker": Level.PRIVILEGED,
    "StatefulSet/data/postgres": Level.BASELINE,
}


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit_paths([CORPUS], options=AuditOptions(seccomp_root=SECCOMP_ROOT))


def _ids_by_file(report: AuditReport) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for finding in report.findings:
        found[Path(finding.evidence["location"]["file"]).name].add(finding.rule_id)
    return dict(found)


def test_corpus_has_twenty_inputs() -> None:
    inputs = [p for p in CORPUS.iterdir() if p.is_file()]
    assert len(inputs) >= 20


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_finds_planted_problems(report: AuditReport, name: str) -> None:
    assert _ids_by_file(report).get(name, set()) == EXPECTED[name]


@pytest.mark.parametrize(
    "name",
    [
        "pod-restricted.yaml",
        "job-localhost-present.yaml",
        "namespace-payments-default-deny.yaml",
        "Dockerfile.hardened",
        "Dockerfile.stage-inherits-user",
    ],
)
def test_corpus_clean_files_have_no_findings(report: AuditReport, name: str) -> None:
    assert name not in _ids_by_file(report)


def test_corpus_reads_every_file(report: AuditReport) -> None:
    kinds = {Path(f.path).name: f.kind for f in report.files}
    assert kinds["compose.yaml"] == "compose"
    assert kinds["Containerfile"] == "dockerfile"
    assert kinds["deployment-json.json"] == "kubernetes"
    assert "reindex.json" not in kinds


@pytest.mark.parametrize("workload", sorted(PSS_LEVELS))
def test_corpus_pss_level(report: AuditReport, workload: str) -> None:
    levels = {verdict.workload: verdict.pss.level for verdict in report.workloads}
    assert levels[workload] == PSS_LEVELS[workload]


def test_corpus_pss_lists_every_workload(report: AuditReport) -> None:
    assert sorted(v.workload for v in report.workloads) == sorted(PSS_LEVELS)


def test_privileged_finding_location(report: AuditReport) -> None:
    finding = next(
        f for f in report.findings if f.rule_id == "HB-RUN-001" and "node-debugger" in f.title
    )
    location = finding.evidence["location"]

    assert location["path"] == "spec.template.spec.containers[0].securityContext.privileged"
    assert location["line"] == 22
    assert location["document"] == 0
    assert location["container"] == "debugger"


def test_cronjob_path_goes_through_job_template(report: AuditReport) -> None:
    finding = next(f for f in report.findings if f.rule_id == "HB-RUN-003" and "nightly" in f.title)

    assert finding.evidence["location"]["path"] == (
        "spec.jobTemplate.spec.template.spec.containers[0].securityContext.runAsUser"
    )
    assert finding.evidence["location"]["line"] == 22


def test_network_policy_names_unselected_worker(report: AuditReport) -> None:
    titles = [f.title for f in report.findings if f.rule_id == "HB-RUN-014"]
    assert titles == ["Deployment/shop/worker: no NetworkPolicy in namespace shop selects its pods"]


def test_pss_names_blocking_fields(report: AuditReport) -> None:
    verdict = next(v for v in report.workloads if v.workload == "Deployment/web/storefront")
    controls = {violation.control for violation in verdict.pss.blocking}

    assert controls == {"Privilege Escalation", "Running as Non-root", "Seccomp", "Capabilities"}


def test_localhost_invalid_profile_names_validator_rule(report: AuditReport) -> None:
    finding = next(
        f for f in report.findings if f.rule_id == "HB-RUN-007" and "thumbnailer" in f.title
    )
    assert "HB-SECCOMP-007" in finding.title


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hardbase", "audit", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_json_and_fail_on() -> None:
    result = _cli(
        str(CORPUS), "--seccomp-root", str(SECCOMP_ROOT), "-f", "json", "--fail-on", "critical"
    )

    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["findings"] == len(document["findings"])
    assert {w["level"] for w in document["workloads"]} == {"privileged", "baseline", "restricted"}


def test_cli_clean_file_exits_zero() -> None:
    result = _cli(str(CORPUS / "pod-restricted.yaml"), "--fail-on", "low")
    assert result.returncode == 0, result.stderr


def test_cli_sarif_points_at_lines() -> None:
    result = _cli(str(CORPUS / "deployment-privileged.yaml"), "-f", "sarif")

    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert "HB-RUN-001" in rule_ids
    privileged = next(r for r in run["results"] if r["ruleId"] == "HB-RUN-001")
    assert privileged["level"] == "error"
    assert privileged["locations"][0]["physicalLocation"]["region"]["startLine"] == 22


def test_cli_table_shows_pss() -> None:
    result = _cli(str(CORPUS / "pod-restricted.yaml"))
    assert result.returncode == 0, result.stderr
    assert "restricted" in result.stdout
