"""Checks for shells, package managers and privilege tools on the image's command path."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.context import ImageContext
from hardbase.audit.image_checks.rules import Rule
from hardbase.errors import ImageError
from hardbase.image.fs import parent_of
from hardbase.scan.findings import Finding

#: Folders searched, as the default PATH of Debian and Alpine images lists them.
BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

SHELLS = frozenset(
    {"sh", "bash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "csh", "tcsh", "fish", "yash"}
    | {"busybox", "toybox"}
)
PACKAGE_MANAGERS = frozenset(
    {"apt", "apt-get", "aptitude", "dpkg", "apk", "rpm", "yum", "dnf", "microdnf", "tdnf"}
    | {"zypper", "pacman", "pip", "pip3"}
)
#: Versioned pip entry points such as ``pip3.11``.
_VERSIONED_PIP = re.compile(r"^pip[0-9]+(\.[0-9]+)?$")
PRIVILEGE_TOOLS = frozenset({"sudo", "su", "doas", "pkexec"})


@dataclass(frozen=True)
class Tool:
    """One command found on the command path."""

    name: str
    path: str
    """Path of the command, with folder links resolved (``/usr/bin/sh`` for ``/bin/sh``)."""
    target: str
    """Regular file the command runs: the path itself, or where its links lead."""
    package: str | None
    setuid: bool
    """Whether the target has an effective setuid bit (busybox's ``su`` has none)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": self.path,
            "target": self.target,
            "package": self.package,
            "setuid": self.setuid,
        }


@dataclass(frozen=True)
class ToolInventory:
    """The shells, package managers and privilege tools an image carries."""

    shells: tuple[Tool, ...]
    package_managers: tuple[Tool, ...]
    privilege_tools: tuple[Tool, ...]


def find_tools(context: ImageContext) -> ToolInventory:
    """Return the commands of each category found in the folders of BIN_DIRS.

    A link counts when it leads to a regular file inside the image, so each
    busybox applet link is found under its own name with busybox as target.
    """
    folders = _bin_folders(context)
    found: dict[str, list[Tool]] = {"shell": [], "package": [], "privilege": []}
    for entry in context.entries:
        if parent_of(entry.path) not in folders or not (entry.is_file or entry.is_symlink):
            continue
        name = entry.path.rsplit("/", 1)[1]
        category = _category(name)
        if category is None:
            continue
        tool = _resolve(context, name, entry.path)
        if tool is not None:
            found[category].append(tool)
    return ToolInventory(tuple(found["shell"]), tuple(found["package"]), tuple(found["privilege"]))


def _bin_folders(context: ImageContext) -> set[str]:
    # Merged-/usr images link /bin to /usr/bin: both name one folder.
    folders = set()
    for folder in BIN_DIRS:
        try:
            resolved = context.fs.resolve(folder)
        except ImageError:
            continue
        if resolved is not None:
            folders.add(resolved)
    return folders


def _category(name: str) -> str | None:
    if name in SHELLS:
        return "shell"
    if name in PACKAGE_MANAGERS or _VERSIONED_PIP.match(name):
        return "package"
    if name in PRIVILEGE_TOOLS:
        return "privilege"
    return None


def _resolve(context: ImageContext, name: str, path: str) -> Tool | None:
    try:
        target = context.fs.resolve(path)
        entry = context.fs.lstat(target) if target else None
    except ImageError:
        return None
    if target is None or entry is None or not entry.is_file:
        return None
    setuid = bool(entry.mode & stat.S_ISUID) and bool(entry.mode & 0o111)
    package = context.owner(path) or context.owner(target)
    return Tool(name, path, target, package, setuid)


def check_tools(tools: ToolInventory) -> list[Finding]:
    """Report one finding per category of tool present, listing every path."""
    findings = []
    categories: tuple[tuple[Rule, tuple[Tool, ...], str], ...] = (
        (rules.SHELL, tools.shells, "Shells"),
        (rules.PACKAGE_MANAGER, tools.package_managers, "Package managers"),
        (rules.PRIVILEGE_TOOL, tools.privilege_tools, "Privilege tools"),
    )
    for rule, found, label in categories:
        if not found:
            continue
        names = ", ".join(sorted({t.name for t in found}))
        findings.append(
            rule.finding(
                f"{label} present: {names}",
                {"tools": [t.to_dict() for t in found]},
            )
        )
    return findings
