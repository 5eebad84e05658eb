"""skopeo: copy and inspect images between transports and registries."""

from __future__ import annotations

import json
import re
from pathlib import Path
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
    digest_file: Path | None = None,
) -> None:
    """Copy an image from ``source`` to ``destination`` (skopeo transport names).

    With ``digest_file``, skopeo writes the digest of the manifest it wrote there.
    """
    arguments = [*_platform_arguments(platform), "copy", "--quiet"]
    if preserve_digests:
        arguments.append("--preserve-digests")
    if digest_file is not None:
        arguments.append(f"--digestfile={digest_file}")
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


def manifest_digest(reference: str, *, tls_verify: bool = True) -> str | None:
    """Return the digest of the top-level manifest at ``reference``, or None when it is absent.

    Only a registry's "manifest unknown" or "name unknown" answer means absent;
    every other failure (unreachable registry, refused login) raises ToolError.
    """
    arguments = ["inspect", "--format", "{{.Digest}}"]
    if reference.startswith("docker://"):
        arguments.append(f"--tls-verify={'true' if tls_verify else 'false'}")
    completed = run("skopeo", [*arguments, reference], check=False)
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace")
        if re.search(r"manifest unknown|name unknown|not found", message, re.IGNORECASE):
            return None
        last = message.strip().splitlines()[-1] if message.strip() else "no message"
        raise ToolError(f"skopeo inspect {reference} failed: {last}")
    digest = completed.stdout.decode("ascii", "replace").strip()
    if not re.fullmatch(r"sha256:[a-f0-9]{64}", digest):
        raise ToolError(f"skopeo inspect {reference} printed {digest[:80]!r}, not a digest")
    return digest
