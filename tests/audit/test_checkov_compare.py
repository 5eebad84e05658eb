"""Cross-check of `hardbase audit` against checkov on the corpus, check by overlapping check.

checkov runs from its own virtual environment so that its many dependencies
stay out of hardbase's: `python3 -m venv ~/.cache/hardbase-tests/checkov-venv
&& ~/.cache/hardbase-tests/checkov-venv/bin/pip install checkov`, or any
`checkov` on PATH, or the path in HARDBASE_CHECKOV.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import CACHE, REPO
from hardbase.audit.run import AuditOptions, audit_paths

CORPUS = REPO / "tests" / "assets" / "audit" / "corpus"

#: hardbase rule id -> the checkov checks that test the same thing.
CHECK_MAP: dict[str, tuple[str, ...]] = {
    "HB-RUN-001": ("CKV_K8S_16",),
    "HB-RUN-002": ("CKV_K8S_20",),
    "HB-RUN-003": ("CKV_K8S_23",),
    "HB-RUN-004": ("CKV_K8S_37",),
    "HB-RUN-006": ("CKV_K8S_31",),
    "HB-RUN-008": ("CKV_K8S_22",),
    "HB-RUN-009": ("CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"),
    "HB-RUN-011": ("CKV_K8S_27",),
    "HB-RUN-012": ("CKV_K8S_38",),
    "HB-RUN-013": ("CKV_K8S_11", "CKV_K8S_13"),
    "HB-RUN-015": ("CKV_K8S_26",),
    "HB-DOCKERFILE-001": ("CKV_DOCKER_3", "CKV_DOCKER_8"),
    "HB-DOCKERFILE-007": ("CKV_DOCKER_7",),
}

#: Files where the verdicts differ on purpose; docs/audit.md explains each one.
#: (hardbase id, file) -> which tool reports it.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    # The init container sets runAsUser: 0 over a pod-level runAsNonRoot.
    ("HB-RUN-003", "statefulset-override.yaml"): "hardbase",
    # checkov accepts only RuntimeDefault; the standard allows Localhost.
    ("HB-RUN-006", "job-localhost-missing.yaml"): "checkov",
    ("HB-RUN-006", "job-localhost-present.yaml"): "checkov",
    ("HB-RUN-006", "job-localhost-invalid.yaml"): "checkov",
    # The ServiceAccount in the same file turns the token off.
    ("HB-RUN-012", "namespace-payments-default-deny.yaml"): "checkov",
    # checkov's CKV_DOCKER_8 matches the name root, not uid 0.
    ("HB-DOCKERFILE-001", "Dockerfile.root-by-uid"): "hardbase",
}


def _checkov() -> str | None:
    candidates = [
        os.environ.get("HARDBASE_CHECKOV"),
        str(CACHE / "checkov-venv" / "bin" / "checkov"),
        shutil.which("checkov"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def checkov_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    checkov = _checkov()
    if checkov is None:
        pytest.skip("checkov not installed: see this module's docstring")
    result = subprocess.run(
        [
            *(checkov, "-d", str(CORPUS), "--framework", "kubernetes", "dockerfile"),
            *("-o", "json", "--compact", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=tmp_path_factory.mktemp("checkov"),
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    runs = json.loads(result.stdout)
    failures: dict[str, set[str]] = defaultdict(set)
    scanned: set[str] = set()
    for run in runs if isinstance(runs, list) else [runs]:
        for key in ("failed_checks", "passed_checks"):
            for check in run["results"].get(key, []):
                scanned.add(Path(check["file_path"]).name)
        for check in run["results"].get("failed_checks", []):
            failures[check["check_id"]].add(Path(check["file_path"]).name)
    failures["__scanned__"] = scanned
    return failures


@pytest.fixture(scope="module")
def hardbase_findings() -> dict[str, set[str]]:
    report = audit_paths([CORPUS], options=AuditOptions(seccomp_root=CORPUS / "seccomp-root"))
    found: dict[str, set[str]] = defaultdict(set)
    for finding in report.findings:
        found[finding.rule_id].add(Path(finding.evidence["location"]["file"]).name)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("rule_id", sorted(CHECK_MAP))
def test_same_verdicts_as_checkov(
    rule_id: str, checkov_failures: dict[str, set[str]], hardbase_findings: dict[str, set[str]]
) -> None:
    scanned = checkov_failures["__scanned__"]
    theirs = set().union(*(checkov_failures.get(c, set()) for c in CHECK_MAP[rule_id]))
    ours = hardbase_findings.get(rule_id, set()) & scanned
    for (known_rule, name), tool in KNOWN_DIFFERENCES.items():
        if known_rule == rule_id:
            (ours if tool == "hardbase" else theirs).discard(name)

    assert ours == theirs


@pytest.mark.slow
def test_sys_admin_matches_checkov(
    checkov_failures: dict[str, set[str]],
) -> None:
    report = audit_paths([CORPUS], options=AuditOptions(seccomp_root=CORPUS / "seccomp-root"))
    ours = {
        Path(f.evidence["location"]["file"]).name
        for f in report.findings
        if f.rule_id == "HB-RUN-005" and f.evidence.get("capability") == "SYS_ADMIN"
    }
    assert ours == checkov_failures["CKV_K8S_39"]


@pytest.mark.slow
def test_known_differences_still_differ(
    checkov_failures: dict[str, set[str]], hardbase_findings: dict[str, set[str]]
) -> None:
    # A difference that disappears should leave the table, so it stays true.
    for (rule_id, name), tool in KNOWN_DIFFERENCES.items():
        theirs = any(name in checkov_failures.get(c, set()) for c in CHECK_MAP[rule_id])
        ours = name in hardbase_findings.get(rule_id, set())
        assert (ours, theirs) == ((True, False) if tool == "hardbase" else (False, True)), name
