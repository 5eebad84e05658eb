"""Least-privilege checks of how containers run, and the ``hardbase audit`` pipeline.

:func:`check_workload` checks one :class:`Workload`: a pod template,
compose service or ``docker run`` command. :func:`audit_paths` finds the
inputs under the given paths and reads each with the reader for its kind.
It then runs the checks, grades Kubernetes workloads against the Pod
Security Standards and returns an :class:`AuditReport`. Rule ids,
severities and fixes are in :data:`RULES` and ``docs/audit.md``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardbase.audit import dockerfile
from hardbase.audit.compose import COMPOSE_NAMES, is_compose, read_compose
from hardbase.audit.dockerrun import exposes_runtime_socket, read_docker_run
from hardbase.audit.image_checks.rules import Rule
from hardbase.audit.kubernetes import Manifests, is_kubernetes, read_manifests
from hardbase.audit.locate import Document, load_documents, load_json, read_text
from hardbase.audit.pss import PssVerdict, evaluate_pss
from hardbase.audit.runconfig import Container, Location, Runtime, Workload
from hardbase.errors import InputError
from hardbase.scan.findings import Finding, Severity
from hardbase.seccomp.model import load_profile
from hardbase.seccomp.validate import validate_profile

logger = logging.getLogger(__name__)

#: Default folder of the kubelet's ``Localhost`` seccomp profiles (``--seccomp-profile-root``).
DEFAULT_SECCOMP_ROOT = Path("/var/lib/kubelet/seccomp")

PSS_REFERENCE = "Kubernetes Pod Security Standards: https://kubernetes.io/docs/concepts/security/pod-security-standards/"

PRIVILEGED = Rule(
    "HB-RUN-001",
    Severity.CRITICAL,
    "Privileged container",
    "Remove privileged: true and add only the capabilities the process needs",
    (PSS_REFERENCE,),
)
PRIVILEGE_ESCALATION = Rule(
    "HB-RUN-002",
    Severity.MEDIUM,
    "Privilege escalation allowed",
    "Set securityContext.allowPrivilegeEscalation: false",
    (PSS_REFERENCE,),
)
RUNS_AS_ROOT = Rule(
    "HB-RUN-003",
    Severity.MEDIUM,
    "Container may run as root",
    "Set securityContext.runAsNonRoot: true and a non-zero runAsUser",
    (PSS_REFERENCE,),
)
CAPABILITIES_NOT_DROPPED = Rule(
    "HB-RUN-004",
    Severity.MEDIUM,
    "Capabilities not dropped",
    "Drop ALL capabilities and add back only the ones the process needs",
    (PSS_REFERENCE,),
)
DANGEROUS_CAPABILITY = Rule(
    "HB-RUN-005",
    Severity.HIGH,
    "Dangerous capability added",
    "Remove the capability from capabilities.add; find a way to work without it",
    (PSS_REFERENCE,),
)
SECCOMP_UNCONFINED = Rule(
    "HB-RUN-006",
    Severity.MEDIUM,
    "No seccomp profile",
    "Set securityContext.seccompProfile.type: RuntimeDefault on the pod",
    (PSS_REFERENCE,),
)
SECCOMP_LOCALHOST_BROKEN = Rule(
    "HB-RUN-007",
    Severity.HIGH,
    "Localhost seccomp profile missing or invalid",
    "Install a valid profile at the given path on every node, or use RuntimeDefault",
)
WRITABLE_ROOT = Rule(
    "HB-RUN-008",
    Severity.LOW,
    "Writable root filesystem",
    "Set securityContext.readOnlyRootFilesystem: true and mount emptyDir where writes are needed",
)
HOST_NAMESPACE = Rule(
    "HB-RUN-009",
    Severity.HIGH,
    "Host namespace shared",
    "Remove the host namespace setting; publish ports through a Service instead",
    (PSS_REFERENCE,),
)
HOST_PATH = Rule(
    "HB-RUN-010",
    Severity.MEDIUM,
    "hostPath volume",
    "Use a PersistentVolumeClaim, ConfigMap, Secret or emptyDir instead of hostPath",
    (PSS_REFERENCE,),
)
RUNTIME_SOCKET = Rule(
    "HB-RUN-011",
    Severity.CRITICAL,
    "Container runtime socket mounted",
    "Remove the socket mount; whoever reaches the socket controls the host",
)
SERVICE_ACCOUNT_TOKEN = Rule(
    "HB-RUN-012",
    Severity.LOW,
    "Service account token mounted",
    "Set automountServiceAccountToken: false unless the workload calls the Kubernetes API",
)
NO_LIMITS = Rule(
    "HB-RUN-013",
    Severity.LOW,
    "Missing resource limits",
    "Set resources.limits.cpu and resources.limits.memory",
)
NO_NETWORK_POLICY = Rule(
    "HB-RUN-014",
    Severity.MEDIUM,
    "No NetworkPolicy selects the workload",
    "Add a NetworkPolicy whose podSelector matches the pod labels, or a default-deny policy",
)
HOST_PORT = Rule(
    "HB-RUN-015",
    Severity.LOW,
    "hostPort used",
    "Remove hostPort and publish the port through a Service",
    (PSS_REFERENCE,),
)

RULES: tuple[Rule, ...] = (
    PRIVILEGED,
    PRIVILEGE_ESCALATION,
    RUNS_AS_ROOT,
    CAPABILITIES_NOT_DROPPED,
    DANGEROUS_CAPABILITY,
    SECCOMP_UNCONFINED,
    SECCOMP_LOCALHOST_BROKEN,
    WRITABLE_ROOT,
    HOST_NAMESPACE,
    HOST_PATH,
    RUNTIME_SOCKET,
    SERVICE_ACCOUNT_TOKEN,
    NO_LIMITS,
    NO_NETWORK_POLICY,
    HOST_PORT,
    *dockerfile.RULES,
)

#: Capabilities whose grant is a known way out of the container, and why.
DANGEROUS_CAPABILITIES: dict[str, str] = {
    "ALL": "every capability, as good as privileged",
    "SYS_ADMIN": "mount, namespaces, BPF and most of root's power",
    "SYS_MODULE": "loads kernel modules",
    "SYS_PTRACE": "traces and injects into other processes",
    "SYS_RAWIO": "raw I/O ports and /dev/mem",
    "SYS_BOOT": "reboots the host",
    "SYS_TIME": "sets the host clock",
    "NET_ADMIN": "reconfigures interfaces, routes and firewall rules",
    "NET_RAW": "raw sockets: spoofing and ARP poisoning on the node network",
    "DAC_READ_SEARCH": "opens any file by handle, the shocker escape",
    "BPF": "loads BPF programs",
    "PERFMON": "reads kernel memory through perf events",
    "MAC_ADMIN": "changes the AppArmor or SELinux policy",
    "MAC_OVERRIDE": "bypasses the AppArmor or SELinux policy",
    "SYSLOG": "reads kernel addresses from the kernel log",
    "LINUX_IMMUTABLE": "changes immutable and append-only files",
    "CHECKPOINT_RESTORE": "checkpoints and restores other processes",
    "AUDIT_CONTROL": "changes the kernel audit rules",
    "IPC_OWNER": "bypasses System V IPC permissions",
    "WAKE_ALARM": "wakes the host from suspend",
    "BLOCK_SUSPEND": "blocks the host from suspending",
}
CRITICAL_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "DAC_READ_SEARCH"})


@dataclass(frozen=True)
class AuditOptions:
    """Settings of one audit run."""

    seccomp_root: Path = DEFAULT_SECCOMP_ROOT
    """Folder that ``Localhost`` seccomp profiles of Kubernetes are relative to."""


@dataclass(frozen=True)
class WorkloadVerdict:
    """A Kubernetes workload and the strictest Pod Security Standards level it meets."""

    workload: str
    location: Location
    pss: PssVerdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "location": self.location.to_dict(),
            **self.pss.to_dict(),
        }


@dataclass(frozen=True)
class AuditedFile:
    """A file that the audit read, and how it read it."""

    path: str
    kind: str
    """``kubernetes``, ``compose``, ``dockerfile`` or ``docker-run``."""


@dataclass(frozen=True)
class AuditReport:
    """Findings and Pod Security Standards verdicts of one ``hardbase audit`` run."""

    findings: tuple[Finding, ...]
    workloads: tuple[WorkloadVerdict, ...]
    files: tuple[AuditedFile, ...]
    warnings: tuple[str, ...] = ()


# -- checks of one workload ---------------------------------------------------


def _finding(
    rule: Rule,
    title: str,
    workload: Workload,
    location: Location,
    container: Container | None = None,
    *,
    severity: Severity | None = None,
    fix: str | None = None,
    **facts: Any,
) -> Finding:
    evidence: dict[str, Any] = {
        "location": {**location.to_dict(), "container": container.name if container else None},
        "workload": workload.title,
        "runtime": str(workload.runtime),
        **facts,
    }
    return rule.finding(f"{workload.title}: {title}", evidence, severity=severity, fix=fix)


def _is_kubernetes(workload: Workload) -> bool:
    return workload.runtime is Runtime.KUBERNETES


def _check_privileged(workload: Workload, container: Container) -> Iterator[Finding]:
    if container.privileged is not None and container.privileged.value:
        yield _finding(
            PRIVILEGED,
            f"container {container.name} is privileged",
            workload,
            container.privileged.location,
            container,
        )


def _check_escalation(workload: Workload, container: Container) -> Iterator[Finding]:
    setting = container.allow_privilege_escalation
    if setting is not None and setting.value is False:
        return
    fix = (
        None
        if _is_kubernetes(workload)
        else "Add security_opt / --security-opt no-new-privileges:true"
    )
    if setting is None:
        yield _finding(
            PRIVILEGE_ESCALATION,
            f"container {container.name} does not set allowPrivilegeEscalation: false"
            if _is_kubernetes(workload)
            else f"container {container.name} runs without no-new-privileges",
            workload,
            container.security_context,
            container,
            fix=fix,
        )
    else:
        yield _finding(
            PRIVILEGE_ESCALATION,
            f"container {container.name} sets allowPrivilegeEscalation: true",
            workload,
            setting.location,
            container,
            fix=fix,
        )


def _check_user(workload: Workload, container: Container) -> Iterator[Finding]:
    user = workload.effective_run_as_user(container)
    if user is not None and user.value == 0:
        yield _finding(
            RUNS_AS_ROOT,
            f"container {container.name} runs as uid 0",
            workload,
            user.location,
            container,
            severity=Severity.HIGH,
            fix=None if _is_kubernetes(workload) else "Set user to a non-zero uid such as 1000",
        )
        return
    if user is not None or container.user_name is not None:
        return
    if _is_kubernetes(workload):
        non_root = workload.effective_run_as_non_root(container)
        if non_root is not None and non_root.value:
            return
        yield _finding(
            RUNS_AS_ROOT,
            f"container {container.name} sets neither runAsNonRoot: true nor a non-zero runAsUser",
            workload,
            non_root.location if non_root else container.security_context,
            container,
        )
    else:
        yield _finding(
            RUNS_AS_ROOT,
            f"container {container.name} runs as the image's USER, root unless the image sets one",
            workload,
            container.security_context,
            container,
            fix="Set user (compose) or --user (docker run) to a non-zero uid",
        )


def _check_capabilities(workload: Workload, container: Container) -> Iterator[Finding]:
    where = container.capabilities or container.security_context
    if not any(setting.value == "ALL" for setting in container.capabilities_drop):
        yield _finding(
            CAPABILITIES_NOT_DROPPED,
            f"container {container.name} does not drop ALL capabilities",
            workload,
            container.capabilities_drop[0].location if container.capabilities_drop else where,
            container,
            fix=None
            if _is_kubernetes(workload)
            else "Add cap_drop: [ALL] (compose) or --cap-drop ALL (docker run)",
            dropped=[setting.value for setting in container.capabilities_drop],
        )
    for setting in container.capabilities_add:
        reason = DANGEROUS_CAPABILITIES.get(setting.value)
        if reason is None:
            continue
        yield _finding(
            DANGEROUS_CAPABILITY,
            f"container {container.name} adds {setting.value}: {reason}",
            workload,
            setting.location,
            container,
            severity=Severity.CRITICAL if setting.value in CRITICAL_CAPABILITIES else None,
            capability=setting.value,
        )


def _check_seccomp(
    workload: Workload, container: Container, options: AuditOptions
) -> Iterator[Finding]:
    setting = workload.effective_seccomp(container)
    if setting is None:
        # Docker and Podman apply their default profile when none is given;
        # the kubelet runs pods Unconfined unless its SeccompDefault is on.
        if _is_kubernetes(workload):
            yield _finding(
                SECCOMP_UNCONFINED,
                f"container {container.name} has no seccomp profile, so it runs "
                "Unconfined unless the kubelet enables SeccompDefault",
                workload,
                container.security_context,
                container,
            )
        return
    profile = setting.value
    if profile.type == "Unconfined":
        yield _finding(
            SECCOMP_UNCONFINED,
            f"container {container.name} runs with seccomp Unconfined",
            workload,
            setting.location,
            container,
            severity=Severity.HIGH,
            fix=None
            if _is_kubernetes(workload)
            else "Remove seccomp=unconfined; Docker's default profile then applies",
        )
    elif profile.type == "Localhost":
        problem = _localhost_problem(workload, profile.localhost_profile, options)
        if problem is not None:
            yield _finding(
                SECCOMP_LOCALHOST_BROKEN,
                f"container {container.name}: seccomp profile {problem}",
                workload,
                setting.location,
                container,
                profile=profile.localhost_profile,
            )


def _localhost_problem(
    workload: Workload, profile: str | None, options: AuditOptions
) -> str | None:
    if not profile:
        return "type Localhost without localhostProfile"
    if _is_kubernetes(workload):
        if Path(profile).is_absolute() or ".." in Path(profile).parts:
            return f"{profile} is not a path inside the seccomp root {options.seccomp_root}"
        path = options.seccomp_root / profile
    else:
        path = Path(profile)
        if not path.is_absolute() and workload.base is not None:
            path = Path(workload.base) / path
    return validate_seccomp_file(path)


def validate_seccomp_file(path: Path) -> str | None:
    """Return what is wrong with the seccomp profile at ``path``, or None when it is usable.

    A profile is unusable when it is missing or does not parse. It is also
    unusable when :mod:`hardbase.seccomp.validate` finds a high or critical
    problem, because the runtime then rejects it or it fails to protect.
    """
    if not path.is_file():
        return f"{path} not found"
    try:
        profile = load_profile(path)
    except InputError as error:
        return f"{path} is invalid: {error.message}"
    problems = [f for f in validate_profile(profile) if f.severity >= Severity.HIGH]
    if not problems:
        return None
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    where = first.path or "top level"
    return f"{path} fails validation: {first.rule_id} at {where}: {first.title}{more}"


def _check_read_only(workload: Workload, container: Container) -> Iterator[Finding]:
    setting = container.read_only_root_filesystem
    if setting is not None and setting.value:
        return
    yield _finding(
        WRITABLE_ROOT,
        f"container {container.name} has a writable root filesystem",
        workload,
        setting.location if setting else container.security_context,
        container,
        fix=None if _is_kubernetes(workload) else "Set read_only: true (compose) or --read-only",
    )


def _check_limits(workload: Workload, container: Container) -> Iterator[Finding]:
    if container.role == "ephemeralContainer":
        return
    missing = [
        name
        for name, setting in (("cpu", container.cpu_limit), ("memory", container.memory_limit))
        if setting is None
    ]
    if missing:
        yield _finding(
            NO_LIMITS,
            f"container {container.name} has no {' or '.join(missing)} limit",
            workload,
            container.limits or container.location,
            container,
            fix=None
            if _is_kubernetes(workload)
            else "Set deploy.resources.limits (compose) or --cpus and --memory (docker run)",
            missing=missing,
        )


def _check_host_ports(workload: Workload, container: Container) -> Iterator[Finding]:
    for setting in container.host_ports:
        yield _finding(
            HOST_PORT,
            f"container {container.name} binds host port {setting.value}",
            workload,
            setting.location,
            container,
        )


def _check_mounts(workload: Workload, container: Container) -> Iterator[Finding]:
    for mount in container.mounts:
        if mount.host_path and exposes_runtime_socket(mount.host_path):
            yield _finding(
                RUNTIME_SOCKET,
                f"container {container.name} mounts {mount.host_path}",
                workload,
                mount.location,
                container,
                host_path=mount.host_path,
            )


CONTAINER_CHECKS: tuple[Callable[[Workload, Container], Iterator[Finding]], ...] = (
    _check_privileged,
    _check_escalation,
    _check_user,
    _check_capabilities,
    _check_read_only,
    _check_limits,
    _check_host_ports,
    _check_mounts,
)


def _check_pod(
    workload: Workload, service_accounts_without_token: set[tuple[str, str]]
) -> Iterator[Finding]:
    for name, setting in (
        ("hostNetwork", workload.host_network),
        ("hostPID", workload.host_pid),
        ("hostIPC", workload.host_ipc),
    ):
        if setting is not None and setting.value:
            label = name if _is_kubernetes(workload) else f"host {name[4:].lower()} namespace"
            yield _finding(HOST_NAMESPACE, f"shares the {label}", workload, setting.location)
    for volume in workload.volumes:
        if volume.type != "hostPath":
            continue
        yield _finding(
            HOST_PATH,
            f"volume {volume.name} is hostPath {volume.host_path}",
            workload,
            volume.location,
            host_path=volume.host_path,
        )
        if volume.host_path and exposes_runtime_socket(volume.host_path):
            yield _finding(
                RUNTIME_SOCKET,
                f"volume {volume.name} mounts {volume.host_path}",
                workload,
                volume.location,
                host_path=volume.host_path,
            )
    if _is_kubernetes(workload):
        yield from _check_token(workload, service_accounts_without_token)


def _check_token(
    workload: Workload, service_accounts_without_token: set[tuple[str, str]]
) -> Iterator[Finding]:
    setting = workload.automount_service_account_token
    if setting is not None:
        if setting.value:
            yield _finding(
                SERVICE_ACCOUNT_TOKEN,
                "sets automountServiceAccountToken: true",
                workload,
                setting.location,
            )
        return
    account = "default"
    if workload.source is not None:
        name = workload.source.spec.get("serviceAccountName")
        account = name if isinstance(name, str) and name else "default"
    # A ServiceAccount with automountServiceAccountToken: false covers its pods.
    if (workload.namespace or "default", account) in service_accounts_without_token:
        return
    yield _finding(
        SERVICE_ACCOUNT_TOKEN,
        f"mounts the token of service account {account}",
        workload,
        workload.pod,
        service_account=account,
    )


def check_workload(
    workload: Workload,
    options: AuditOptions | None = None,
    service_accounts_without_token: set[tuple[str, str]] | None = None,
) -> list[Finding]:
    """Run every run-configuration check on ``workload`` and return its findings.

    A setting given at pod level and inherited by several containers is
    reported once, at the pod.
    """
    options = options or AuditOptions()
    findings = list(_check_pod(workload, service_accounts_without_token or set()))
    for container in workload.containers:
        for check in CONTAINER_CHECKS:
            findings.extend(check(workload, container))
        findings.extend(_check_seccomp(workload, container, options))
    return _deduplicate(findings)


def _deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    kept: list[Finding] = []
    for finding in findings:
        location = finding.evidence.get("location", {})
        key = (finding.rule_id, str(location.get("path")), str(location.get("line")))
        if key in seen and finding.rule_id in ("HB-RUN-006", "HB-RUN-007", "HB-RUN-003"):
            continue
        seen.add(key)
        kept.append(finding)
    return kept


def check_network_policies(manifests: Manifests) -> list[Finding]:
    """Report workloads that no NetworkPolicy selects, in namespaces whose manifests are given.

    A namespace counts as given when the input declares it with a Namespace
    object or contains a NetworkPolicy in it. Elsewhere policies may exist
    that the audit cannot see. Manifests without a namespace are in ``default``.
    """
    given = set(manifests.namespaces) | {p.namespace for p in manifests.network_policies}
    findings: list[Finding] = []
    for workload in manifests.workloads:
        namespace = workload.namespace or "default"
        if namespace not in given:
            continue
        selected = any(
            policy.namespace == namespace and policy.pod_selector.matches(workload.labels)
            for policy in manifests.network_policies
        )
        if not selected:
            findings.append(
                _finding(
                    NO_NETWORK_POLICY,
                    f"no NetworkPolicy in namespace {namespace} selects its pods",
                    workload,
                    workload.location,
                    namespace=namespace,
                    labels=dict(workload.labels),
                )
            )
    return findings


# -- finding and reading the inputs ----------------------------------------------------


#: Folders never walked: version control, dependencies and caches.
SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__", ".tox"})


def _walk(folder: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            path = Path(root) / name
            # Symbolic links may leave the folder; FIFOs and devices never end.
            if not path.is_symlink() and path.is_file() and _candidate_name(path):
                yield path


def _candidate_name(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml", ".json") or dockerfile.is_dockerfile_name(
        path.name
    )


@dataclass
class _Collector:
    options: AuditOptions
    manifests: Manifests = field(default_factory=Manifests)
    other_workloads: list[Workload] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[AuditedFile] = field(default_factory=list)
    service_accounts_without_token: set[tuple[str, str]] = field(default_factory=set)

    def read(self, path: Path, explicit: bool) -> None:
        text = read_text(path)
        source = str(path)
        suffix = path.suffix.lower()
        if dockerfile.is_dockerfile_name(path.name) or (
            suffix not in (".yaml", ".yml", ".json") and dockerfile.looks_like_dockerfile(text)
        ):
            self.findings.extend(dockerfile.check_dockerfile(text, source))
            self.files.append(AuditedFile(source, "dockerfile"))
            return
        documents = load_json(text, source) if suffix == ".json" else load_documents(text, source)
        self.read_documents(path, documents, explicit)

    def read_documents(self, path: Path, documents: list[Document], explicit: bool) -> None:
        source = str(path)
        base = str(path.parent)
        kubernetes = [d for d in documents if is_kubernetes(d.data)]
        compose = [d for d in documents if is_compose(d.data)]
        if kubernetes:
            before = len(self.manifests.workloads)
            read_manifests(kubernetes, self.manifests, base)
            self._service_accounts(kubernetes)
            self.files.append(AuditedFile(source, "kubernetes"))
            logger.debug("%s: %d workloads", source, len(self.manifests.workloads) - before)
        elif compose or path.name in COMPOSE_NAMES:
            if not compose:
                self._not_compose(source, documents, explicit)
            for document in compose:
                self.other_workloads.extend(read_compose(document, self.manifests.warnings, base))
            self.files.append(AuditedFile(source, "compose"))
        elif explicit:
            raise InputError(
                f"{source}: not a Kubernetes manifest, compose file or Dockerfile",
                hint="pass manifests with apiVersion and kind, a compose file with services, "
                "or a Dockerfile",
            )
        else:
            logger.debug("%s: neither Kubernetes nor compose; skipped", source)

    def _not_compose(self, source: str, documents: list[Document], explicit: bool) -> None:
        # A file with a compose name but no services mapping would otherwise
        # pass as a compose file with nothing in it.
        mappings = [d.data for d in documents if isinstance(d.data, dict)]
        if mappings:
            services = mappings[0].get("services")
            found = "nothing" if services is None else type(services).__name__
            self.manifests.warnings.append(
                f"{source}: services: expected a mapping, found {found}; nothing audited"
            )
        elif explicit:
            raise InputError(
                f"{source}: not a compose file: the top level is not a mapping",
                hint="give a compose file with a services mapping",
            )
        else:
            self.manifests.warnings.append(f"{source}: top level is not a mapping; skipped")

    def _service_accounts(self, documents: list[Document]) -> None:
        for document in documents:
            data = document.data
            if data.get("kind") != "ServiceAccount":
                continue
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            if data.get("automountServiceAccountToken") is False:
                self.service_accounts_without_token.add(
                    (str(metadata.get("namespace") or "default"), str(metadata.get("name")))
                )


def audit_paths(
    paths: Iterable[Path],
    docker_runs: Iterable[str] = (),
    options: AuditOptions | None = None,
) -> AuditReport:
    """Audit the files and folders in ``paths`` and the ``docker run`` command lines.

    Folders are walked for ``*.yaml``, ``*.yml``, ``*.json`` and Dockerfiles;
    files named on their own must be one of the supported kinds. Raises
    InputError (a ManifestSyntaxError with the line and column for YAML and
    JSON) for a path that is missing, unreadable or does not parse.
    """
    collector = _Collector(options or AuditOptions())
    for path in paths:
        if path.is_dir():
            for found in _walk(path):
                collector.read(found, explicit=False)
        elif path.exists():
            collector.read(path, explicit=True)
        else:
            raise InputError(f"{path}: no such file or folder", hint="check the path")
    for command in docker_runs:
        collector.other_workloads.append(read_docker_run(command))
        collector.files.append(AuditedFile(command, "docker-run"))

    findings = list(collector.findings)
    verdicts: list[WorkloadVerdict] = []
    for workload in collector.manifests.workloads:
        findings.extend(
            check_workload(workload, collector.options, collector.service_accounts_without_token)
        )
        verdicts.append(WorkloadVerdict(workload.title, workload.location, evaluate_pss(workload)))
    findings.extend(check_network_policies(collector.manifests))
    for workload in collector.other_workloads:
        findings.extend(check_workload(workload, collector.options))
    return AuditReport(
        findings=tuple(findings),
        workloads=tuple(verdicts),
        files=tuple(collector.files),
        warnings=tuple(collector.manifests.warnings),
    )


def rule_table() -> dict[str, Rule]:
    """Return every audit rule by id."""
    return {rule.id: rule for rule in RULES}
