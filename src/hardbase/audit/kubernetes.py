"""Kubernetes manifests: workloads and their pod templates, namespaces and NetworkPolicies.

Reads multi-document YAML (and JSON), ``kind: List`` and every ``*List``
kind, and finds the pod spec of a Pod, Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Job and CronJob. Values of the wrong type
are left out with a warning, the way the API server would reject them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hardbase.audit.locate import Document, YamlPath
from hardbase.audit.runconfig import (
    Container,
    Location,
    PodSource,
    Runtime,
    Seccomp,
    Setting,
    Volume,
    Workload,
    document_location,
)

logger = logging.getLogger(__name__)

#: Path from the object to its pod template (metadata and spec), per kind.
TEMPLATE_PATHS: dict[str, YamlPath] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}

#: Pod annotation of the legacy seccomp field, replaced by ``securityContext.seccompProfile``.
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

CONTAINER_LISTS = (
    ("initContainers", "initContainer"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeralContainer"),
)


@dataclass(frozen=True)
class LabelSelector:
    """A ``metav1.LabelSelector``: ``matchLabels`` and ``matchExpressions``."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    """(key, operator, values) triples."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Return True when ``labels`` satisfy every term; an empty selector selects all."""
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        for key, operator, values in self.match_expressions:
            if operator == "In" and labels.get(key) not in values:
                return False
            if operator == "NotIn" and key in labels and labels[key] in values:
                return False
            if operator == "Exists" and key not in labels:
                return False
            if operator == "DoesNotExist" and key in labels:
                return False
        return True


@dataclass(frozen=True)
class NetworkPolicy:
    """A NetworkPolicy: the namespace it lives in and the pods it selects."""

    name: str
    namespace: str
    pod_selector: LabelSelector
    location: Location


@dataclass
class Manifests:
    """The workloads, policies and namespaces of a set of Kubernetes documents."""

    workloads: list[Workload] = field(default_factory=list)
    network_policies: list[NetworkPolicy] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)
    """Namespaces declared by a ``Namespace`` object."""
    warnings: list[str] = field(default_factory=list)


def is_kubernetes(data: Any) -> bool:
    """Return True for a mapping with string ``apiVersion`` and ``kind``: a Kubernetes object."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
    )


def read_manifests(documents: list[Document], into: Manifests, base: str | None = None) -> None:
    """Add the workloads, NetworkPolicies and namespaces of ``documents`` to ``into``."""
    for document in documents:
        for path, obj in _objects(document.data, ()):
            _Reader(document, into.warnings, base).read_object(path, obj, into)


def _objects(data: Any, path: YamlPath) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    if not is_kubernetes(data):
        return
    if data["kind"].endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            yield from _objects(item, (*path, "items", index))
        return
    yield path, data


class _Reader:
    """Reads typed values out of one document, warning about values of the wrong type."""

    def __init__(self, document: Document, warnings: list[str], base: str | None) -> None:
        self.document = document
        self.warnings = warnings
        self.base = base

    def location(self, path: YamlPath) -> Location:
        return document_location(self.document, path)

    def typed(self, path: YamlPath, kind: type | tuple[type, ...], expected: str) -> Any:
        value = self.document.get(path)
        if value is None:
            return None
        # bool is an int in Python; an integer field must not take true/false.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            value_ok = False
        else:
            value_ok = isinstance(value, kind)
        if not value_ok:
            self.warnings.append(
                f"{self.location(path)}: expected {expected}, found {type(value).__name__}; ignored"
            )
            return None
        return value

    def setting_bool(self, path: YamlPath) -> Setting[bool] | None:
        value = self.typed(path, bool, "true or false")
        return None if value is None else Setting(value, self.location(path))

    def setting_int(self, path: YamlPath) -> Setting[int] | None:
        value = self.typed(path, int, "an integer")
        return None if value is None else Setting(value, self.location(path))

    def setting_quantity(self, path: YamlPath) -> Setting[str] | None:
        value = self.typed(path, (str, int, float), "a quantity")
        return None if value is None else Setting(str(value), self.location(path))

    def mapping(self, path: YamlPath) -> dict[str, Any]:
        value = self.typed(path, dict, "a mapping")
        return value if value is not None else {}

    def sequence(self, path: YamlPath) -> list[Any]:
        value = self.typed(path, list, "a list")
        return value if value is not None else []

    def read_object(self, path: YamlPath, obj: dict[str, Any], into: Manifests) -> None:
        kind = obj["kind"]
        metadata = self.mapping((*path, "metadata"))
        name = metadata.get("name") if isinstance(metadata.get("name"), str) else "(unnamed)"
        namespace = (
            metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
        )
        if kind == "Namespace":
            into.namespaces.add(str(name))
        elif kind == "NetworkPolicy":
            selector = self.selector((*path, "spec", "podSelector"))
            into.network_policies.append(
                NetworkPolicy(str(name), namespace or "default", selector, self.location(path))
            )
        elif kind in TEMPLATE_PATHS:
            template = (*path, *TEMPLATE_PATHS[kind])
            if self.document.get((*template, "spec")) is None:
                self.warnings.append(f"{self.location(template)}: {kind} {name} has no pod spec")
                return
            into.workloads.append(self.workload(path, template, kind, str(name), namespace))

    def selector(self, path: YamlPath) -> LabelSelector:
        labels = {
            str(key): str(value) for key, value in self.mapping((*path, "matchLabels")).items()
        }
        expressions: list[tuple[str, str, tuple[str, ...]]] = []
        for index, item in enumerate(self.sequence((*path, "matchExpressions"))):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                self.warnings.append(
                    f"{self.location((*path, 'matchExpressions', index))}: invalid"
                )
                continue
            values = item.get("values") or []
            operator = item.get("operator")
            if operator not in ("In", "NotIn", "Exists", "DoesNotExist") or not isinstance(
                values, list
            ):
                # The API server rejects an unknown operator; a selector that
                # matches nothing keeps the workload reported as unselected.
                self.warnings.append(
                    f"{self.location((*path, 'matchExpressions', index))}: "
                    f"unknown operator {operator!r}"
                )
                operator, values = "In", []
            expressions.append((item["key"], str(operator), tuple(str(v) for v in values)))
        return LabelSelector(labels, tuple(expressions))

    def workload(
        self, path: YamlPath, template: YamlPath, kind: str, name: str, namespace: str | None
    ) -> Workload:
        spec_path = (*template, "spec")
        context = (*spec_path, "securityContext")
        annotations_path = (*template, "metadata", "annotations")
        annotations = self.mapping(annotations_path)
        labels = {
            str(key): str(value)
            for key, value in self.mapping((*template, "metadata", "labels")).items()
        }
        pod_seccomp = self.seccomp((*context, "seccompProfile")) or self.seccomp_annotation(
            annotations, annotations_path, SECCOMP_POD_ANNOTATION
        )
        containers = tuple(
            container
            for key, role in CONTAINER_LISTS
            for container in self.containers(spec_path, key, role, annotations, annotations_path)
        )
        return Workload(
            runtime=Runtime.KUBERNETES,
            kind=kind,
            name=name,
            namespace=namespace,
            labels=labels,
            location=self.location(path),
            pod=self.location(spec_path),
            containers=containers,
            host_network=self.setting_bool((*spec_path, "hostNetwork")),
            host_pid=self.setting_bool((*spec_path, "hostPID")),
            host_ipc=self.setting_bool((*spec_path, "hostIPC")),
            automount_service_account_token=self.setting_bool(
                (*spec_path, "automountServiceAccountToken")
            ),
            run_as_non_root=self.setting_bool((*context, "runAsNonRoot")),
            run_as_user=self.setting_int((*context, "runAsUser")),
            seccomp=pod_seccomp,
            volumes=tuple(self.volumes(spec_path)),
            source=PodSource(
                document=self.document,
                spec=self.mapping(spec_path),
                path=spec_path,
                annotations=annotations,
                annotations_path=annotations_path,
            ),
            base=self.base,
        )

    def seccomp(self, path: YamlPath) -> Setting[Seccomp] | None:
        profile = self.typed(path, dict, "a seccompProfile mapping")
        if profile is None:
            return None
        kind = profile.get("type")
        if not isinstance(kind, str):
            self.warnings.append(f"{self.location(path)}: seccompProfile without a type; ignored")
            return None
        localhost = profile.get("localhostProfile")
        return Setting(
            Seccomp(kind, localhost if isinstance(localhost, str) else None),
            self.location((*path, "type")),
        )

    def seccomp_annotation(
        self, annotations: Mapping[str, Any], path: YamlPath, key: str
    ) -> Setting[Seccomp] | None:
        value = annotations.get(key)
        if not isinstance(value, str):
            return None
        location = self.location((*path, key))
        if value in ("runtime/default", "docker/default"):
            return Setting(Seccomp("RuntimeDefault"), location)
        if value == "unconfined":
            return Setting(Seccomp("Unconfined"), location)
        if value.startswith("localhost/"):
            return Setting(Seccomp("Localhost", value.removeprefix("localhost/")), location)
        self.warnings.append(f"{location}: unknown seccomp annotation value {value!r}; ignored")
        return None

    def containers(
        self,
        spec_path: YamlPath,
        key: str,
        role: str,
        annotations: Mapping[str, Any],
        annotations_path: YamlPath,
    ) -> Iterator[Container]:
        for index, item in enumerate(self.sequence((*spec_path, key))):
            path = (*spec_path, key, index)
            if not isinstance(item, dict):
                self.warnings.append(f"{self.location(path)}: container is not a mapping; ignored")
                continue
            yield self.container(path, item, role, annotations, annotations_path)

    def container(
        self,
        path: YamlPath,
        item: dict[str, Any],
        role: str,
        annotations: Mapping[str, Any],
        annotations_path: YamlPath,
    ) -> Container:
        name = item.get("name") if isinstance(item.get("name"), str) else f"#{path[-1]}"
        context = (*path, "securityContext")
        capabilities = (*context, "capabilities")
        limits = (*path, "resources", "limits")
        seccomp = self.seccomp((*context, "seccompProfile")) or self.seccomp_annotation(
            annotations, annotations_path, SECCOMP_CONTAINER_ANNOTATION + str(name)
        )
        apparmor_key = APPARMOR_CONTAINER_ANNOTATION + str(name)
        apparmor = annotations.get(apparmor_key)
        ports = [
            Setting(port["hostPort"], self.location((*path, "ports", index, "hostPort")))
            for index, port in enumerate(self.sequence((*path, "ports")))
            if isinstance(port, dict)
            and isinstance(port.get("hostPort"), int)
            and port["hostPort"] != 0
        ]
        mounts = tuple(
            str(mount["name"])
            for mount in self.sequence((*path, "volumeMounts"))
            if isinstance(mount, dict) and isinstance(mount.get("name"), str)
        )
        return Container(
            name=str(name),
            location=self.location(path),
            security_context=self.location(context),
            role=role,
            image=item.get("image") if isinstance(item.get("image"), str) else None,
            privileged=self.setting_bool((*context, "privileged")),
            allow_privilege_escalation=self.setting_bool((*context, "allowPrivilegeEscalation")),
            run_as_non_root=self.setting_bool((*context, "runAsNonRoot")),
            run_as_user=self.setting_int((*context, "runAsUser")),
            capabilities_add=self.capability_list((*capabilities, "add")),
            capabilities_drop=self.capability_list((*capabilities, "drop")),
            capabilities=self.location(capabilities),
            seccomp=seccomp,
            read_only_root_filesystem=self.setting_bool((*context, "readOnlyRootFilesystem")),
            cpu_limit=self.setting_quantity((*limits, "cpu")),
            memory_limit=self.setting_quantity((*limits, "memory")),
            limits=self.location(limits),
            host_ports=tuple(ports),
            volume_mounts=mounts,
            apparmor=(
                Setting(apparmor, self.location((*annotations_path, apparmor_key)))
                if isinstance(apparmor, str)
                else None
            ),
        )

    def capability_list(self, path: YamlPath) -> tuple[Setting[str], ...]:
        return tuple(
            Setting(value.upper().removeprefix("CAP_"), self.location((*path, index)))
            for index, value in enumerate(self.sequence(path))
            if isinstance(value, str)
        )

    def volumes(self, spec_path: YamlPath) -> Iterator[Volume]:
        for index, item in enumerate(self.sequence((*spec_path, "volumes"))):
            path = (*spec_path, "volumes", index)
            if not isinstance(item, dict):
                continue
            name = str(item.get("name", f"#{index}"))
            kinds = [key for key in item if key != "name"]
            kind = kinds[0] if kinds else "emptyDir"
            host_path = None
            location = self.location(path)
            if "hostPath" in item:
                kind = "hostPath"
                source = item["hostPath"]
                if isinstance(source, dict) and isinstance(source.get("path"), str):
                    host_path = source["path"]
                    location = self.location((*path, "hostPath", "path"))
            yield Volume(name, kind, location, host_path)
