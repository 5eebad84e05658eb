"""Checks of file modes: setuid and setgid executables, world-writable files and folders."""

from __future__ import annotations

import stat
from typing import Any

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.context import ImageContext
from hardbase.image.fs import FileEntry
from hardbase.scan.findings import Finding


def check_setuid(context: ImageContext) -> list[Finding]:
    """Report each regular file whose setuid or setgid bit takes effect on execution.

    setuid needs an execute bit to matter. setgid without group execute is the
    mandatory-locking marker of stat(2) and grants nothing, so it is not reported.
    """
    findings = []
    for entry in context.entries:
        if not entry.is_file:
            continue
        setuid = bool(entry.mode & stat.S_ISUID) and bool(entry.mode & 0o111)
        setgid = bool(entry.mode & stat.S_ISGID) and bool(entry.mode & stat.S_IXGRP)
        if not (setuid or setgid):
            continue
        evidence = _file_evidence(context, entry)
        evidence["setuid"] = setuid
        evidence["setgid"] = setgid
        runs_as = []
        if setuid:
            runs_as.append(f"user {evidence['user'] or entry.uid}")
        if setgid:
            runs_as.append(f"group {evidence['group'] or entry.gid}")
        bits = " and ".join(name for name, on in (("setuid", setuid), ("setgid", setgid)) if on)
        findings.append(
            rules.SETUID_FILE.finding(
                f"{bits} file {entry.path} runs as {' and '.join(runs_as)}",
                evidence,
                package=evidence["package"],
            )
        )
    return findings


def check_world_writable(context: ImageContext) -> list[Finding]:
    """Report world-writable regular files, and world-writable folders without the sticky bit.

    Links always carry mode 0777 and device nodes such as /dev/null are meant to be
    writable, so only regular files and folders are checked.
    """
    findings = []
    for entry in context.entries:
        if not entry.mode & stat.S_IWOTH:
            continue
        if entry.is_file:
            evidence = _file_evidence(context, entry)
            findings.append(
                rules.WORLD_WRITABLE_FILE.finding(
                    f"World-writable file {entry.path} (mode {evidence['mode']})",
                    evidence,
                    package=evidence["package"],
                )
            )
        elif entry.is_dir and not entry.mode & stat.S_ISVTX:
            evidence = _file_evidence(context, entry)
            findings.append(
                rules.WORLD_WRITABLE_DIR.finding(
                    f"World-writable folder {entry.path} without the sticky bit "
                    f"(mode {evidence['mode']})",
                    evidence,
                    package=evidence["package"],
                )
            )
    return findings


def _file_evidence(context: ImageContext, entry: FileEntry) -> dict[str, Any]:
    return {
        "path": entry.path,
        "mode": f"{entry.mode:04o}",
        "uid": entry.uid,
        "gid": entry.gid,
        "user": context.user_name(entry.uid),
        "group": context.group_name(entry.gid),
        "package": context.owner(entry.path),
    }
