"""Pod Security Standards levels on small pod specs, one control at a time."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from hardbase.audit.kubernetes import Manifests, read_manifests
from hardbase.audit.locate import load_documents
from hardbase.audit.pss import Level, PssVerdict, evaluate_pss

RESTRICTED_CONTAINER: dict[str, Any] = {
    "name": "c",
    "image": "x",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
}


def _verdict(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> PssVerdict:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "annotations": annotations or {}},
        "spec": spec,
    }
    manifests = Manifests()
    read_manifests(load_documents(yaml.safe_dump(pod), "pod.yaml"), manifests)
    return evaluate_pss(manifests.workloads[0])


def _restricted_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [RESTRICTED_CONTAINER],
    }
    spec.update(changes)
    return spec


def test_restricted_spec_is_restricted() -> None:
    verdict = _verdict(_restricted_spec())
    assert verdict.level is Level.RESTRICTED
    assert verdict.blocking == ()


def test_empty_spec_is_baseline() -> None:
    assert _verdict({"containers": [{"name": "c", "image": "x"}]}).level is Level.BASELINE


@pytest.mark.parametrize(
    ("changes", "control"),
    [
        ({"hostNetwork": True}, "Host Namespaces"),
        ({"volumes": [{"name": "v", "hostPath": {"path": "/"}}]}, "HostPath Volumes"),
        (
            {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
            "Sysctls",
        ),
        (
            {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}},
            "SELinux",
        ),
        (
            {"securityContext": {"seccompProfile": {"type": "Unconfined"}}},
            "Seccomp",
        ),
        (
            {"securityContext": {"windowsOptions": {"hostProcess": True}}},
            "HostProcess",
        ),
    ],
)
def test_baseline_controls(changes: dict[str, Any], control: str) -> None:
    verdict = _verdict(_restricted_spec(**changes))
    assert verdict.level is Level.PRIVILEGED
    assert control in {v.control for v in verdict.blocking}


@pytest.mark.parametrize(
    ("context", "control"),
    [
        ({"procMount": "Unmasked"}, "/proc Mount Type"),
        ({"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}}, "Capabilities"),
        ({"privileged": True}, "Privileged Containers"),
        ({"appArmorProfile": {"type": "Unconfined"}}, "AppArmor"),
    ],
)
def test_baseline_container_controls(context: dict[str, Any], control: str) -> None:
    container = {
        **RESTRICTED_CONTAINER,
        "securityContext": {"allowPrivilegeEscalation": False, **context},
    }
    verdict = _verdict(_restricted_spec(containers=[container]))
    assert verdict.level is Level.PRIVILEGED
    assert control in {v.control for v in verdict.blocking}


def test_default_capability_added_stays_baseline() -> None:
    container = {
        **RESTRICTED_CONTAINER,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": ["CHOWN"]}},
    }
    verdict = _verdict(_restricted_spec(containers=[container]))
    assert verdict.level is Level.BASELINE


def test_net_bind_service_allowed_in_restricted() -> None:
    container = {
        **RESTRICTED_CONTAINER,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        },
    }
    assert _verdict(_restricted_spec(containers=[container])).level is Level.RESTRICTED


def test_localhost_seccomp_allowed_in_restricted() -> None:
    context = {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"},
    }
    assert _verdict(_restricted_spec(securityContext=context)).level is Level.RESTRICTED


def test_restricted_volume_types() -> None:
    verdict = _verdict(
        _restricted_spec(volumes=[{"name": "n", "nfs": {"server": "s", "path": "/"}}])
    )
    assert verdict.level is Level.BASELINE
    assert [v.control for v in verdict.blocking] == ["Volume Types"]


def test_unconfined_apparmor_annotation() -> None:
    annotations = {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}
    assert _verdict(_restricted_spec(), annotations).level is Level.PRIVILEGED


def test_blocking_fields_carry_lines() -> None:
    verdict = _verdict(_restricted_spec(hostPID=True))
    violation = verdict.blocking[0]
    assert violation.path == "spec.hostPID"
    assert violation.line is not None
