"""Pod Security Standards: the strictest level a pod spec meets and what keeps it from the next.

The controls and allowed values follow the Kubernetes documentation page
"Pod Security Standards" (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
as enforced by Pod Security Admission at its latest version. Each control
reads the pod spec fields the page lists, over ``containers``,
``initContainers`` and ``ephemeralContainers``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hardbase.audit.kubernetes import (
    APPARMOR_CONTAINER_ANNOTATION,
    CONTAINER_LISTS,
    SECCOMP_CONTAINER_ANNOTATION,
    SECCOMP_POD_ANNOTATION,
)
from hardbase.audit.locate import YamlPath, format_path
from hardbase.audit.runconfig import Workload


class Level(enum.IntEnum):
    """A Pod Security Standards level, ordered from open to strict."""

    PRIVILEGED = 0
    BASELINE = 1
    RESTRICTED = 2

    def __str__(self) -> str:
        return self.name.lower()


#: Capabilities Baseline allows in ``capabilities.add``: the container runtimes' default set.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)

#: Sysctls Baseline allows: namespaced and isolated from other pods on the node.
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)

#: SELinux types Baseline allows; ``user`` and ``role`` must stay unset.
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)

#: Volume types Restricted allows.
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


@dataclass(frozen=True)
class Violation:
    """One field that breaks a control of a level."""

    level: Level
    """The level whose control the field breaks."""
    control: str
    """Control name as the standard writes it: ``Host Namespaces``, ``Seccomp``."""
    path: str
    """YAML path of the field in its document."""
    line: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": str(self.level),
            "control": self.control,
            "path": self.path,
            "line": self.line,
            "message": self.message,
        }


@dataclass(frozen=True)
class PssVerdict:
    """The strictest level a workload meets, and the fields that keep it from the next one."""

    level: Level
    blocking: tuple[Violation, ...]
    """Violations of the next level up; empty at Restricted."""

    def to_dict(self) -> dict[str, Any]:
        return {"level": str(self.level), "blocking": [v.to_dict() for v in self.blocking]}


class _Pod:
    """The pod spec of one workload with helpers that yield violations at their paths."""

    def __init__(self, workload: Workload) -> None:
        assert workload.source is not None
        self.workload = workload
        self.spec = workload.source.spec
        self.path = workload.source.path
        self.annotations = workload.source.annotations
        self.annotations_path = workload.source.annotations_path
        os_name = (
            self.spec.get("os", {}).get("name") if isinstance(self.spec.get("os"), dict) else None
        )
        self.windows = os_name == "windows"

    def violation(self, level: Level, control: str, path: YamlPath, message: str) -> Violation:
        assert self.workload.source is not None
        position = self.workload.source.document.position(path)
        return Violation(
            level, control, format_path(path), position.line if position else None, message
        )

    def pod_context(self) -> Mapping[str, Any]:
        value = self.spec.get("securityContext")
        return value if isinstance(value, dict) else {}

    def containers(self) -> Iterator[tuple[YamlPath, Mapping[str, Any]]]:
        for key, _role in CONTAINER_LISTS:
            items = self.spec.get(key)
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    yield (*self.path, key, index), item


def _context(container: Mapping[str, Any]) -> Mapping[str, Any]:
    value = container.get("securityContext")
    return value if isinstance(value, dict) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _baseline(pod: _Pod) -> Iterator[Violation]:
    level = Level.BASELINE
    spec_context = pod.pod_context()
    context_path = (*pod.path, "securityContext")

    if _mapping(spec_context.get("windowsOptions")).get("hostProcess") is True:
        yield pod.violation(
            level,
            "HostProcess",
            (*context_path, "windowsOptions", "hostProcess"),
            "hostProcess: true",
        )
    for field_name in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.spec.get(field_name) is True:
            yield pod.violation(
                level, "Host Namespaces", (*pod.path, field_name), f"{field_name}: true"
            )
    for index, volume in enumerate(pod.spec.get("volumes") or []):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield pod.violation(
                level,
                "HostPath Volumes",
                (*pod.path, "volumes", index, "hostPath"),
                f"volume {volume.get('name')} is hostPath",
            )
    yield from _baseline_selinux(
        pod, _mapping(spec_context.get("seLinuxOptions")), (*context_path, "seLinuxOptions")
    )
    yield from _baseline_seccomp(
        pod, _mapping(spec_context.get("seccompProfile")), (*context_path, "seccompProfile")
    )
    for index, sysctl in enumerate(spec_context.get("sysctls") or []):
        name = sysctl.get("name") if isinstance(sysctl, dict) else None
        if name not in SAFE_SYSCTLS:
            yield pod.violation(
                level,
                "Sysctls",
                (*context_path, "sysctls", index, "name"),
                f"sysctl {name} is not in the safe set",
            )
    yield from _baseline_apparmor(
        pod, _mapping(spec_context.get("appArmorProfile")), (*context_path, "appArmorProfile")
    )
    yield from _baseline_annotations(pod)

    for path, container in pod.containers():
        context = _context(container)
        here = (*path, "securityContext")
        if _mapping(context.get("windowsOptions")).get("hostProcess") is True:
            yield pod.violation(
                level, "HostProcess", (*here, "windowsOptions", "hostProcess"), "hostProcess: true"
            )
        if context.get("privileged") is True:
            yield pod.violation(
                level, "Privileged Containers", (*here, "privileged"), "privileged: true"
            )
        added = _mapping(context.get("capabilities")).get("add") or []
        for index, capability in enumerate(added if isinstance(added, list) else []):
            if str(capability) not in BASELINE_CAPABILITIES:
                yield pod.violation(
                    level,
                    "Capabilities",
                    (*here, "capabilities", "add", index),
                    f"adds {capability}, beyond the default set",
                )
        for index, port in enumerate(container.get("ports") or []):
            if isinstance(port, dict) and port.get("hostPort") not in (None, 0):
                yield pod.violation(
                    level,
                    "Host Ports",
                    (*path, "ports", index, "hostPort"),
                    f"hostPort {port.get('hostPort')}",
                )
        yield from _baseline_selinux(
            pod, _mapping(context.get("seLinuxOptions")), (*here, "seLinuxOptions")
        )
        if context.get("procMount") not in (None, "Default"):
            yield pod.violation(
                level,
                "/proc Mount Type",
                (*here, "procMount"),
                f"procMount: {context.get('procMount')}",
            )
        yield from _baseline_seccomp(
            pod, _mapping(context.get("seccompProfile")), (*here, "seccompProfile")
        )
        yield from _baseline_apparmor(
            pod, _mapping(context.get("appArmorProfile")), (*here, "appArmorProfile")
        )


def _baseline_selinux(pod: _Pod, options: Mapping[str, Any], path: YamlPath) -> Iterator[Violation]:
    if str(options.get("type", "")) not in SELINUX_TYPES:
        yield pod.violation(
            Level.BASELINE, "SELinux", (*path, "type"), f"SELinux type {options.get('type')}"
        )
    for key in ("user", "role"):
        if options.get(key):
            yield pod.violation(Level.BASELINE, "SELinux", (*path, key), f"SELinux {key} is set")


def _baseline_seccomp(pod: _Pod, profile: Mapping[str, Any], path: YamlPath) -> Iterator[Violation]:
    if profile.get("type") == "Unconfined":
        yield pod.violation(Level.BASELINE, "Seccomp", (*path, "type"), "seccomp Unconfined")


def _baseline_apparmor(
    pod: _Pod, profile: Mapping[str, Any], path: YamlPath
) -> Iterator[Violation]:
    if profile.get("type") not in (None, "RuntimeDefault", "Localhost"):
        yield pod.violation(
            Level.BASELINE, "AppArmor", (*path, "type"), f"AppArmor {profile.get('type')}"
        )


def _baseline_annotations(pod: _Pod) -> Iterator[Violation]:
    for key, value in pod.annotations.items():
        path = (*pod.annotations_path, key)
        if str(key).startswith(APPARMOR_CONTAINER_ANNOTATION):
            if not (value == "runtime/default" or str(value).startswith("localhost/")):
                yield pod.violation(
                    Level.BASELINE, "AppArmor", path, f"AppArmor annotation {value}"
                )
        elif (
            key == SECCOMP_POD_ANNOTATION or str(key).startswith(SECCOMP_CONTAINER_ANNOTATION)
        ) and value == "unconfined":
            yield pod.violation(Level.BASELINE, "Seccomp", path, "seccomp annotation unconfined")


def _restricted(pod: _Pod) -> Iterator[Violation]:
    level = Level.RESTRICTED
    spec_context = pod.pod_context()
    context_path = (*pod.path, "securityContext")

    for index, volume in enumerate(pod.spec.get("volumes") or []):
        if not isinstance(volume, dict):
            continue
        kinds = [key for key in volume if key != "name"]
        for kind in kinds:
            if kind not in RESTRICTED_VOLUMES:
                yield pod.violation(
                    level,
                    "Volume Types",
                    (*pod.path, "volumes", index, kind),
                    f"volume {volume.get('name')} is {kind}",
                )

    pod_non_root = spec_context.get("runAsNonRoot")
    pod_seccomp = _mapping(spec_context.get("seccompProfile")).get("type")
    if pod_non_root is False:
        yield pod.violation(
            level, "Running as Non-root", (*context_path, "runAsNonRoot"), "runAsNonRoot: false"
        )
    if spec_context.get("runAsUser") == 0:
        yield pod.violation(
            level, "Running as Non-root user", (*context_path, "runAsUser"), "runAsUser: 0"
        )
    if (
        not pod.windows
        and pod_seccomp is not None
        and pod_seccomp not in ("RuntimeDefault", "Localhost")
    ):
        yield pod.violation(
            level, "Seccomp", (*context_path, "seccompProfile", "type"), f"seccomp {pod_seccomp}"
        )

    for path, container in pod.containers():
        context = _context(container)
        here = (*path, "securityContext")
        name = container.get("name")
        if not pod.windows and context.get("allowPrivilegeEscalation") is not False:
            yield pod.violation(
                level,
                "Privilege Escalation",
                (*here, "allowPrivilegeEscalation"),
                f"container {name} does not set allowPrivilegeEscalation: false",
            )
        non_root = context.get("runAsNonRoot")
        if non_root is False or (non_root is None and pod_non_root is not True):
            yield pod.violation(
                level,
                "Running as Non-root",
                (*here, "runAsNonRoot"),
                f"container {name} does not set runAsNonRoot: true, nor does the pod",
            )
        if context.get("runAsUser") == 0:
            yield pod.violation(
                level,
                "Running as Non-root user",
                (*here, "runAsUser"),
                f"container {name} sets runAsUser: 0",
            )
        if not pod.windows:
            yield from _restricted_container_seccomp(pod, context, here, name, pod_seccomp)
            yield from _restricted_capabilities(pod, context, here, name)


def _restricted_container_seccomp(
    pod: _Pod, context: Mapping[str, Any], here: YamlPath, name: Any, pod_seccomp: Any
) -> Iterator[Violation]:
    own = _mapping(context.get("seccompProfile")).get("type")
    if own is None and pod_seccomp is None:
        yield pod.violation(
            Level.RESTRICTED,
            "Seccomp",
            (*here, "seccompProfile", "type"),
            f"container {name} has no seccomp profile, nor does the pod",
        )
    elif own is not None and own not in ("RuntimeDefault", "Localhost"):
        yield pod.violation(
            Level.RESTRICTED,
            "Seccomp",
            (*here, "seccompProfile", "type"),
            f"container {name} seccomp {own}",
        )


def _restricted_capabilities(
    pod: _Pod, context: Mapping[str, Any], here: YamlPath, name: Any
) -> Iterator[Violation]:
    capabilities = _mapping(context.get("capabilities"))
    dropped = capabilities.get("drop") or []
    if "ALL" not in (dropped if isinstance(dropped, list) else []):
        yield pod.violation(
            Level.RESTRICTED,
            "Capabilities",
            (*here, "capabilities", "drop"),
            f"container {name} does not drop ALL",
        )
    added = capabilities.get("add") or []
    for index, capability in enumerate(added if isinstance(added, list) else []):
        if capability != "NET_BIND_SERVICE":
            yield pod.violation(
                Level.RESTRICTED,
                "Capabilities",
                (*here, "capabilities", "add", index),
                f"container {name} adds {capability}",
            )


def evaluate_pss(workload: Workload) -> PssVerdict:
    """Return the strictest level ``workload`` meets and the violations of the next level.

    A workload without a Kubernetes pod spec (compose, ``docker run``) is
    graded Privileged with no violations listed: the standard does not apply.
    """
    if workload.source is None:
        return PssVerdict(Level.PRIVILEGED, ())
    pod = _Pod(workload)
    baseline = tuple(_baseline(pod))
    if baseline:
        return PssVerdict(Level.PRIVILEGED, baseline)
    restricted = tuple(_restricted(pod))
    if restricted:
        return PssVerdict(Level.BASELINE, restricted)
    return PssVerdict(Level.RESTRICTED, ())
