"""Compose files: each entry of ``services`` becomes a workload with one container.

Fields follow the Compose Specification: ``privileged``, ``cap_add``,
``cap_drop``, ``security_opt``, ``user``, ``read_only``, ``network_mode``,
``pid``, ``ipc``, ``volumes`` (short and long syntax) and resource limits
from ``deploy.resources.limits`` or the older ``cpus`` / ``mem_limit``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from hardbase.audit.dockerrun import is_host_path, parse_volume_short, security_fields
from hardbase.audit.locate import Document, YamlPath
from hardbase.audit.runconfig import (
    Container,
    Location,
    Runtime,
    Setting,
    Volume,
    Workload,
    document_location,
)

logger = logging.getLogger(__name__)

#: File names that ``docker compose`` looks for, and their override files.
COMPOSE_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)


def is_compose(data: Any) -> bool:
    """Return True for a mapping with a ``services`` mapping and no Kubernetes ``kind``."""
    return isinstance(data, dict) and isinstance(data.get("services"), dict) and "kind" not in data


def read_compose(
    document: Document, warnings: list[str], base: str | None = None
) -> list[Workload]:
    """Map every service of a compose document onto a workload."""
    reader = _Reader(document, warnings, base)
    return [
        reader.service(str(name), service)
        for name, service in document.data["services"].items()
        if isinstance(service, dict)
    ]


class _Reader:
    def __init__(self, document: Document, warnings: list[str], base: str | None) -> None:
        self.document = document
        self.warnings = warnings
        self.base = base

    def location(self, path: YamlPath) -> Location:
        return document_location(self.document, path)

    def setting_bool(self, path: YamlPath) -> Setting[bool] | None:
        value = self.document.get(path)
        if value is None:
            return None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            self.warnings.append(f"{self.location(path)}: expected true or false; ignored")
            return None
        return Setting(value, self.location(path))

    def setting_text(self, path: YamlPath) -> Setting[str] | None:
        value = self.document.get(path)
        if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        return Setting(str(value), self.location(path))

    def strings(self, path: YamlPath) -> list[Setting[str]]:
        value = self.document.get(path)
        if value is None:
            return []
        if not isinstance(value, list):
            self.warnings.append(f"{self.location(path)}: expected a list; ignored")
            return []
        return [
            Setting(str(item), self.location((*path, index)))
            for index, item in enumerate(value)
            if isinstance(item, str | int)
        ]

    def service(self, name: str, service: dict[str, Any]) -> Workload:
        path: YamlPath = ("services", name)
        here = self.location(path)
        security = security_fields(
            self.strings((*path, "security_opt")), self.setting_text((*path, "user")), here
        )
        limits: YamlPath = (*path, "deploy", "resources", "limits")
        cpu = self.setting_text((*limits, "cpus")) or self.setting_text((*path, "cpus"))
        memory = self.setting_text((*limits, "memory")) or self.setting_text((*path, "mem_limit"))
        image = service.get("image") if isinstance(service.get("image"), str) else None
        container = Container(
            name=name,
            location=here,
            security_context=here,
            image=image,
            privileged=self.setting_bool((*path, "privileged")),
            capabilities_add=tuple(_capabilities(self.strings((*path, "cap_add")))),
            capabilities_drop=tuple(_capabilities(self.strings((*path, "cap_drop")))),
            capabilities=here,
            read_only_root_filesystem=self.setting_bool((*path, "read_only")),
            cpu_limit=cpu,
            memory_limit=memory,
            limits=self.location(limits) if self.document.get(limits) is not None else here,
            mounts=tuple(self.mounts(path)),
            **security,
        )
        return Workload(
            runtime=Runtime.COMPOSE,
            kind="service",
            name=name,
            location=here,
            pod=here,
            containers=(container,),
            host_network=self.host_mode((*path, "network_mode")),
            host_pid=self.host_mode((*path, "pid")),
            host_ipc=self.host_mode((*path, "ipc")),
            base=self.base,
        )

    def host_mode(self, path: YamlPath) -> Setting[bool] | None:
        value = self.setting_text(path)
        return None if value is None else Setting(value.value == "host", value.location)

    def mounts(self, service_path: YamlPath) -> Iterator[Volume]:
        value = self.document.get((*service_path, "volumes"))
        if not isinstance(value, list):
            return
        for index, item in enumerate(value):
            path = (*service_path, "volumes", index)
            if isinstance(item, str):
                source, target = parse_volume_short(item)
                if is_host_path(source):
                    yield Volume(target or source, "bind", self.location(path), source)
            elif isinstance(item, dict) and item.get("type") == "bind":
                bind_source = item.get("source")
                if isinstance(bind_source, str):
                    bind_target = item.get("target")
                    yield Volume(
                        str(bind_target) if bind_target else bind_source,
                        "bind",
                        self.location((*path, "source")),
                        bind_source,
                    )


def _capabilities(settings: list[Setting[str]]) -> Iterator[Setting[str]]:
    for setting in settings:
        yield Setting(setting.value.strip().upper().removeprefix("CAP_"), setting.location)
