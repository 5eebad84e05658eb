"""Write an allowlist profile from the syscalls a program was seen to make."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from hardbase.seccomp import arch as archmod
from hardbase.seccomp.arch import Architecture
from hardbase.seccomp.model import Profile
from hardbase.seccomp.runtime import RUNTIME_SYSCALLS
from hardbase.seccomp.trace import Trace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generated:
    """A generated profile and what went into it."""

    profile: Profile
    traced: frozenset[str]
    """Syscalls seen in the traces and kept."""
    added: frozenset[str]
    """Syscalls added for the runtime that the traces did not show."""
    dropped: frozenset[str]
    """Names from the traces that libseccomp does not know on the profile's architectures."""


def generate_profile(traces: Iterable[Trace], host: Architecture | None = None) -> Generated:
    """Build an allowlist for ``host`` (this machine by default) from ``traces``.

    The profile denies everything else with EPERM (``SCMP_ACT_ERRNO`` with
    ``defaultErrnoRet: 1``), lists the host with its sub-architectures in
    ``archMap``, and allows the runtime syscalls of
    hardbase.seccomp.runtime so the program can be started.
    """
    target = host or archmod.host()
    sub = archmod.SUB_ARCHITECTURES.get(target.scmp, ())
    arches = [target, *(a for a in (archmod.by_scmp(n) for n in sub) if a is not None)]

    seen: set[str] = set()
    for trace in traces:
        seen |= trace.syscalls
    kept = {name for name in seen if any(archmod.exists(a, name) for a in arches)}
    dropped = frozenset(seen - kept)
    if dropped:
        logger.warning("left out names unknown on %s: %s", target.scmp, ", ".join(sorted(dropped)))
    runtime = {name for name in RUNTIME_SYSCALLS if any(archmod.exists(a, name) for a in arches)}
    added = frozenset(runtime - kept)

    rules: list[dict[str, object]] = []
    if kept:
        rules.append(
            {"names": sorted(kept), "action": "SCMP_ACT_ALLOW", "comment": "recorded with strace"}
        )
    if added:
        rules.append(
            {
                "names": sorted(added),
                "action": "SCMP_ACT_ALLOW",
                "comment": "needed by the container runtime to start the program",
            }
        )
    document = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno.EPERM,
        "archMap": [{"architecture": target.scmp, "subArchitectures": list(sub)}],
        "syscalls": rules,
    }
    profile = Profile.model_validate_json(json.dumps(document))
    return Generated(profile, frozenset(kept), added, dropped)
