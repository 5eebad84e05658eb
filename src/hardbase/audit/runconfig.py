"""The run configuration of a container, shared by Kubernetes, compose and ``docker run``.

Each input maps onto :class:`Workload` (the pod, compose service or ``docker
run`` command) and its :class:`Container` entries. Every setting carries the
:class:`Location` it was read from, so a finding points at the line to edit.
A setting the input leaves out is ``None``, and the checks decide what that
means for each runtime. An unset seccomp profile, for one, is ``Unconfined``
under Kubernetes but Docker's default profile under Docker.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hardbase.audit.locate import Document, YamlPath, format_path

T = TypeVar("T")


class Runtime(enum.Enum):
    """Where the configuration comes from, which decides the defaults of unset settings."""

    KUBERNETES = "kubernetes"
    COMPOSE = "compose"
    DOCKER_RUN = "docker-run"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Location:
    """Location of a setting in its input, or where it would be written."""

    file: str
    """Path of the input file, or ``<docker run>`` for a command line."""
    path: str = ""
    """YAML path (``spec.template.spec.containers[0].securityContext.privileged``) or flag."""
    document: int | None = None
    """Index of the YAML document in its file, counted from 0."""
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "document": self.document,
            "path": self.path,
            "line": self.line,
            "column": self.column,
        }

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
        return f"{place} {self.path}" if self.path else place


def document_location(document: Document, path: YamlPath) -> Location:
    """Return the location of ``path`` in ``document``, with the line of its nearest ancestor."""
    position = document.position(path)
    return Location(
        file=document.file,
        path=format_path(path),
        document=document.index,
        line=position.line if position else None,
        column=position.column if position else None,
    )


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A value as written in the input, and where."""

    value: T
    location: Location


@dataclass(frozen=True)
class Seccomp:
    """A seccomp profile choice: ``RuntimeDefault``, ``Unconfined`` or ``Localhost``."""

    type: str
    localhost_profile: str | None = None
    """Profile path: relative to the kubelet's seccomp root, or a file for Docker."""


@dataclass(frozen=True)
class Volume:
    """A volume of a pod, or a bind mount of a compose service or ``docker run``."""

    name: str
    type: str
    """Kubernetes volume type (``hostPath``, ``emptyDir``, ...) or ``bind`` / ``volume``."""
    location: Location
    host_path: str | None = None
    """Folder or file of the host that the volume exposes; None for other types."""


@dataclass(frozen=True)
class Container:
    """The settings of one container; None where the input leaves a setting out."""

    name: str
    location: Location
    """The container entry itself."""
    security_context: Location
    """Location of its security settings, present or to be added (``...securityContext``)."""
    role: str = "container"
    """``container``, ``initContainer`` or ``ephemeralContainer``."""
    image: str | None = None
    privileged: Setting[bool] | None = None
    allow_privilege_escalation: Setting[bool] | None = None
    run_as_non_root: Setting[bool] | None = None
    run_as_user: Setting[int] | None = None
    user_name: Setting[str] | None = None
    """A user given by name (compose ``user: app``); Kubernetes takes numbers only."""
    capabilities_add: tuple[Setting[str], ...] = ()
    capabilities_drop: tuple[Setting[str], ...] = ()
    capabilities: Location | None = None
    """Location of the capabilities, present or to be added."""
    seccomp: Setting[Seccomp] | None = None
    read_only_root_filesystem: Setting[bool] | None = None
    cpu_limit: Setting[str] | None = None
    memory_limit: Setting[str] | None = None
    limits: Location | None = None
    """Location of the resource limits, present or to be added."""
    host_ports: tuple[Setting[int], ...] = ()
    mounts: tuple[Volume, ...] = ()
    """Bind mounts written on the container (compose, ``docker run``)."""
    volume_mounts: tuple[str, ...] = ()
    """Names of the pod volumes the container mounts."""
    apparmor: Setting[str] | None = None
    """AppArmor profile: ``runtime/default``, ``unconfined``, ``localhost/NAME``."""


@dataclass(frozen=True)
class PodSource:
    """The Kubernetes pod spec behind a workload, for checks that follow its fields."""

    document: Document
    """The YAML document the pod spec is in, for line numbers."""
    spec: Mapping[str, Any]
    path: tuple[str | int, ...]
    """Path of the pod spec in its document (``spec.template.spec``)."""
    annotations: Mapping[str, Any]
    annotations_path: tuple[str | int, ...]


@dataclass(frozen=True)
class Workload:
    """A pod template, compose service or ``docker run`` command and its containers."""

    runtime: Runtime
    kind: str
    """Kubernetes kind, ``service`` for compose, ``run`` for ``docker run``."""
    name: str
    location: Location
    """The object itself: a document root, a service entry or the command line."""
    pod: Location
    """Location of the pod-wide settings, present or to be added (``spec.template.spec``)."""
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the pods it creates, the ones NetworkPolicy selectors match."""
    containers: tuple[Container, ...] = ()
    host_network: Setting[bool] | None = None
    host_pid: Setting[bool] | None = None
    host_ipc: Setting[bool] | None = None
    automount_service_account_token: Setting[bool] | None = None
    run_as_non_root: Setting[bool] | None = None
    run_as_user: Setting[int] | None = None
    seccomp: Setting[Seccomp] | None = None
    volumes: tuple[Volume, ...] = ()
    source: PodSource | None = None
    """The raw pod spec, for Kubernetes workloads only."""
    base: str | None = None
    """Folder that relative paths of the input (seccomp profiles, bind sources) start from."""

    @property
    def title(self) -> str:
        """Name to show: ``Deployment/web`` or ``service web``."""
        if self.runtime is Runtime.KUBERNETES:
            prefix = f"{self.namespace}/" if self.namespace else ""
            return f"{self.kind}/{prefix}{self.name}"
        return f"{self.kind} {self.name}"

    def effective_run_as_non_root(self, container: Container) -> Setting[bool] | None:
        """Return the container's ``runAsNonRoot``, else the pod's: the container's overrides."""
        return container.run_as_non_root or self.run_as_non_root

    def effective_run_as_user(self, container: Container) -> Setting[int] | None:
        """Return the container's ``runAsUser``, else the pod's."""
        return container.run_as_user or self.run_as_user

    def effective_seccomp(self, container: Container) -> Setting[Seccomp] | None:
        """Return the container's seccomp profile, else the pod's."""
        return container.seccomp or self.seccomp
