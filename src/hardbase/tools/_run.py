"""Run an outside tool and turn its failures into ToolError messages."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from hardbase.errors import ToolError

logger = logging.getLogger(__name__)

#: Debian package that provides each tool, for the install hint.
PACKAGES = {
    "gpgv": "gpgv",
    "skopeo": "skopeo",
    "mmdebstrap": "mmdebstrap",
    "umoci": "umoci",
    "buildah": "buildah",
    "strace": "strace",
    "dpkg-query": "dpkg",
}


def require(tool: str) -> str:
    """Return the path of ``tool`` or raise a ToolError that says how to install it."""
    found = shutil.which(tool)
    if found is None:
        package = PACKAGES.get(tool, tool)
        raise ToolError(
            f"{tool} not found on PATH", hint=f"install it with: apt-get install {package}"
        )
    return found


def run(
    tool: str,
    arguments: Sequence[str],
    *,
    input_bytes: bytes | None = None,
    timeout: float | None = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``tool`` with ``arguments`` and return the completed process.

    With ``check``, a non-zero exit raises ToolError carrying the tool's last
    line of standard error.
    """
    executable = require(tool)
    logger.debug("running %s %s", tool, " ".join(arguments))
    try:
        completed = subprocess.run(
            [executable, *arguments],
            input=input_bytes,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ToolError(
            f"{tool} timed out after {timeout} s", hint="retry, or check the network"
        ) from error
    if check and completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        last = message[-1] if message else f"exit status {completed.returncode}"
        raise ToolError(f"{tool} failed: {last}")
    return completed
