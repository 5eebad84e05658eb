"""skopeo: copy and inspect images between transports and registries."""

from __future__ import annotations

import json
from typing import Any

from hardbase.errors import ToolError
from hardbase.tools._run import run


def _platform_arguments(platform: str | None) -> list[str]:
    if not platform:
        return []
    parts = platform.split("/")
    arguments = ["--override-os", parts[0]]
    if len(parts) > 1:
        arguments += ["--override-arch", parts[1]]
    if len(parts) > 2:
        arguments += ["--override-variant", parts[2]]
    return arguments


def copy(
    source: str,
    destination: str,
    *,
    platform: str | None = None,
    tls_verify: bool = True,
    preserve_digests: bool = False,
) -> None:
    """Copy an image from ``source`` to ``destination`` (skopeo transport names)."""
    arguments = [*_platform_arguments(platform), "copy", "--quiet"]
    if preserve_digests:
        arguments.append("--preserve-digests")
    if source.startswith("docker://"):
        arguments.append(f"--src-tls-verify={'true' if tls_verify else 'false'}")
    if destination.startswith("docker://"):
        arguments.append(f"--dest-tls-verify={'true' if tls_verify else 'false'}")
    run("skopeo", [*arguments, source, destination])


def inspect(reference: str, *, raw: bool = False, tls_verify: bool = True) -> dict[str, Any]:
    """Return ``skopeo inspect`` output for ``reference`` as a dictionary."""
    arguments = ["inspect"]
    if raw:
        arguments.append("--raw")
    if reference.startswith("docker://"):
        arguments.append(f"--tls-verify={'true' if tls_verify else 'false'}")
    completed = run("skopeo", [*arguments, reference])
    try:
        document = json.loads(completed.stdout)
    except ValueError as error:
        raise ToolError(f"skopeo inspect {reference} printed invalid JSON") from error
    if not isinstance(document, dict):
        raise ToolError(f"skopeo inspect {reference} printed no JSON object")
    return document
