"""buildah: build a Dockerfile without a container engine, into a private vfs store.

Where a Docker engine answers, ``docker buildx build`` can be used instead;
its two calls live here too so that both Dockerfile builders sit together.

Every call names its own ``--root`` and ``--runroot`` so that a rebuild never
touches the host's image store, and uses the vfs driver with chroot
isolation, which need no kernel overlay or user namespaces when run as root.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hardbase.errors import ToolError
from hardbase.tools._run import require, run

logger = logging.getLogger(__name__)

#: Timeout of one build, in seconds.
TIMEOUT = 3600


@dataclass(frozen=True)
class Storage:
    """A private buildah image store."""

    root: Path
    runroot: Path

    def global_arguments(self) -> list[str]:
        return ["--root", str(self.root), "--runroot", str(self.runroot), "--storage-driver", "vfs"]

    def transport(self, image: str) -> str:
        """Return the skopeo ``containers-storage:`` name of ``image`` in this store."""
        return f"containers-storage:[vfs@{self.root}+{self.runroot}]{image}"


@dataclass(frozen=True)
class BudRun:
    """The options of one ``buildah bud``."""

    dockerfile: Path
    context: Path
    tag: str
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    tls_verify: bool = True
    """Verify TLS when pulling bases; off only for a registry on 127.0.0.1."""

    def arguments(self, storage: Storage) -> list[str]:
        arguments = [
            *storage.global_arguments(),
            "bud",
            "--isolation",
            "chroot",
            "--pull",
            f"--tls-verify={'true' if self.tls_verify else 'false'}",
            "-f",
            str(self.dockerfile),
            "-t",
            self.tag,
        ]
        for name in sorted(self.build_args):
            arguments += ["--build-arg", f"{name}={self.build_args[name]}"]
        if self.platform:
            arguments += ["--platform", self.platform]
        return [*arguments, str(self.context)]


def bud(options: BudRun, storage: Storage) -> str:
    """Build the Dockerfile into ``storage`` and return buildah's output (the build log).

    Raises ToolError with the last lines of the log when the build fails.
    """
    completed = run("buildah", options.arguments(storage), timeout=TIMEOUT, check=False)
    log = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    if completed.returncode != 0:
        lines = [line.strip() for line in log.splitlines() if line.strip()]
        tail = list(dict.fromkeys(lines[-4:]))[-2:]
        raise ToolError(
            f"buildah bud {options.dockerfile} failed: {' | '.join(tail) or 'no output'}"
        )
    logger.debug("buildah built %s", options.tag)
    return log


def remove_storage(storage: Storage) -> None:
    """Unmount and delete everything in ``storage`` (``buildah rm --all``, ``rmi --all``)."""
    for arguments in (["rm", "--all"], ["rmi", "--all", "--force"]):
        try:
            run("buildah", [*storage.global_arguments(), *arguments], check=True)
        except ToolError as error:
            logger.warning("cleaning buildah storage %s: %s", storage.root, error)


def docker_engine() -> bool:
    """Return True when `docker` is on PATH and its engine responds to ``docker info``."""
    if shutil.which("docker") is None:
        return False
    try:
        return (
            run("docker", ["info", "--format", "{{.ID}}"], timeout=20, check=False).returncode == 0
        )
    except ToolError:
        return False


def buildx_build(
    *,
    dockerfile: Path,
    context: Path,
    reference: str,
    build_args: Mapping[str, str],
    platform: str | None,
    metadata_file: Path,
) -> None:
    """Build with ``docker buildx build --push``, writing buildx's metadata file."""
    require("docker")
    arguments = ["buildx", "build", "--push", "-f", str(dockerfile), "-t", reference]
    arguments += ["--metadata-file", str(metadata_file)]
    for name in sorted(build_args):
        arguments += ["--build-arg", f"{name}={build_args[name]}"]
    if platform:
        arguments += ["--platform", platform]
    run("docker", [*arguments, str(context)], timeout=TIMEOUT)


def buildx_digest(metadata_file: Path) -> str:
    """Return the pushed digest (``containerimage.digest``) from a buildx metadata file."""
    try:
        document = json.loads(metadata_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ToolError(f"docker buildx wrote no readable metadata file {metadata_file}") from error
    digest = document.get("containerimage.digest") if isinstance(document, dict) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise ToolError(f"{metadata_file} has no containerimage.digest")
    return digest
