"""mmdebstrap: install a Debian root filesystem into a folder.

Only mmdebstrap runs code from the packages, and only inside its chroot.
Its failures are turned into one line naming the cause: a package the
archive does not have, a mirror that cannot be reached, or the tool's own
last error.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hardbase.errors import InputError, NetworkError, ToolError
from hardbase.tools._run import require

logger = logging.getLogger(__name__)

#: mmdebstrap's hook folder that sets up merged /usr for suites that need it (bookworm and
#: later) with symbolic links, instead of installing usrmerge and with it perl.
MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"

#: Timeout of one mmdebstrap run, in seconds; a bookworm build takes 20 to 60 s.
TIMEOUT = 1800

_MISSING_PACKAGE = re.compile(r"E: Unable to locate package (?P<name>\S+)")
_NO_CANDIDATE = re.compile(r"E: Package '(?P<name>[^']+)' has no installation candidate")
_VERSION_NOT_FOUND = re.compile(
    r"E: Version '(?P<version>[^']+)' for '(?P<name>[^']+)' was not found"
)
_FETCH_FAILED = re.compile(
    r"Failed to fetch|Could not connect|Could not resolve|Connection refused"
    r"|Temporary failure resolving"
)


@dataclass(frozen=True)
class MmdebstrapRun:
    """The options of one mmdebstrap run."""

    suite: str
    target: Path
    """Folder to create; must not exist or be empty."""
    sources: tuple[str, ...]
    """Mirror arguments: one-line apt sources (``deb URL SUITE COMPONENTS``)."""
    variant: str = "essential"
    architecture: str | None = None
    include: tuple[str, ...] = ()
    keyring: str | None = None
    aptopts: tuple[str, ...] = ()
    dpkgopts: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    setup_hooks: tuple[str, ...] = ()
    customize_hooks: tuple[str, ...] = ()
    hook_dirs: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    """Extra environment variables, such as SOURCE_DATE_EPOCH."""

    def arguments(self) -> list[str]:
        """Return the command line after the program name."""
        arguments = [
            f"--variant={self.variant}",
            "--mode=root",
            "--format=directory",
        ]
        if self.architecture:
            arguments.append(f"--architectures={self.architecture}")
        if self.include:
            arguments.append("--include=" + ",".join(self.include))
        if self.keyring:
            arguments.append(f"--keyring={self.keyring}")
        arguments += [f"--aptopt={option}" for option in self.aptopts]
        arguments += [f"--dpkgopt={option}" for option in self.dpkgopts]
        if self.skip:
            arguments.append("--skip=" + ",".join(self.skip))
        arguments += [f"--setup-hook={hook}" for hook in self.setup_hooks]
        arguments += [f"--customize-hook={hook}" for hook in self.customize_hooks]
        arguments += [f"--hook-dir={folder}" for folder in self.hook_dirs]
        return [*arguments, self.suite, str(self.target), *self.sources]


def package_cache_hooks(cache: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return (setup hooks, customize hooks, skips) that reuse and refill a folder of .deb files.

    Packages found in ``cache`` are put into the chroot's apt archive before
    the download, so apt fetches only what is missing. Everything downloaded
    is copied back afterwards.
    """
    folder = shlex.quote(str(cache))
    setup = (
        'mkdir -p "$1/var/cache/apt/archives/partial"',
        f"sync-in {folder} /var/cache/apt/archives/",
    )
    customize = (f"sync-out /var/cache/apt/archives {folder}",)
    return setup, customize, ("download/empty", "essential/unlink")


def bootstrap(run: MmdebstrapRun, *, source: str) -> None:
    """Run mmdebstrap for ``run``; ``source`` names the spec in error messages.

    Raises InputError for packages the archive lacks, NetworkError when a
    mirror cannot be reached, and ToolError for any other failure.
    """
    executable = require("mmdebstrap")
    arguments = run.arguments()
    logger.info("running mmdebstrap %s", " ".join(shlex.quote(a) for a in arguments))
    environment = {**os.environ, **run.environment}
    try:
        completed = subprocess.run(
            [executable, *arguments],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            env=environment,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        raise ToolError(
            f"mmdebstrap timed out after {TIMEOUT} s", hint="check the mirror's speed"
        ) from error
    stderr = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        logger.debug("mmdebstrap standard error:\n%s", stderr)
        raise failure(stderr, run, source)


def failure(stderr: str, run: MmdebstrapRun, source: str) -> Exception:
    """Return the error that best explains a failed run from its standard error."""
    lines = stderr.splitlines()
    for line in lines:
        match = _VERSION_NOT_FOUND.search(line)
        if match:
            return InputError(
                f"{source}: version {match['version']} of package {match['name']} "
                f"is not in {run.suite}",
                hint="pin a version the archive has, or drop the pin",
            )
    for pattern in (_NO_CANDIDATE, _MISSING_PACKAGE):
        for line in lines:
            match = pattern.search(line)
            if match:
                return InputError(
                    f"{source}: package {match['name']} not found in {run.suite}",
                    hint="check the name with apt-cache search, or enable its component",
                )
    for line in lines:
        if _FETCH_FAILED.search(line):
            detail = line.split("Failed to fetch", 1)[-1].strip()
            return NetworkError(
                f"{source}: cannot reach the Debian mirror: {detail}",
                hint="check the mirror URL and the network",
            )
    errors = [line for line in lines if line.startswith("E: ")]
    if errors:
        last = errors[0]
    elif lines:
        last = lines[-1]
    else:
        last = "no output"
    return ToolError(f"mmdebstrap failed for {source}: {last}")
