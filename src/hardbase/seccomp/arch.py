"""Architectures and syscall names, resolved through the system's libseccomp.

Syscall tables come from libseccomp (through the ``pyseccomp`` ctypes
bindings), never from a list kept here, so a name is "known" exactly when
the libseccomp that runc and crun link against would resolve it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform
from dataclasses import dataclass

import pyseccomp

#: libseccomp returns this for a name it does not know at all.
NR_SCMP_ERROR = -1
# x32 syscall numbers carry this bit (``__X32_SYSCALL_BIT`` in the kernel headers).
_X32_SYSCALL_BIT = 0x40000000
# Highest syscall number probed when listing an architecture's syscalls: every
# table in libseccomp 2.5 stays below it.
_MAX_SYSCALL_NUMBER = 1024


@dataclass(frozen=True)
class Architecture:
    """One seccomp architecture with its names in profiles and its audit token."""

    scmp: str
    """Name in a profile's ``architectures`` and ``archMap``: ``SCMP_ARCH_X86_64``."""
    goarch: str
    """Name in a rule's ``includes.arches``: Go's ``runtime.GOARCH`` (``amd64``)."""
    token: int
    """``AUDIT_ARCH_*`` value that libseccomp uses for the architecture."""


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("SCMP_ARCH_X86", "386", pyseccomp.Arch.X86),
    Architecture("SCMP_ARCH_X86_64", "amd64", pyseccomp.Arch.X86_64),
    Architecture("SCMP_ARCH_X32", "x32", pyseccomp.Arch.X32),
    Architecture("SCMP_ARCH_ARM", "arm", pyseccomp.Arch.ARM),
    Architecture("SCMP_ARCH_AARCH64", "arm64", pyseccomp.Arch.AARCH64),
    Architecture("SCMP_ARCH_MIPS", "mips", pyseccomp.Arch.MIPS),
    Architecture("SCMP_ARCH_MIPS64", "mips64", pyseccomp.Arch.MIPS64),
    Architecture("SCMP_ARCH_MIPS64N32", "mips64n32", pyseccomp.Arch.MIPS64N32),
    Architecture("SCMP_ARCH_MIPSEL", "mipsle", pyseccomp.Arch.MIPSEL),
    Architecture("SCMP_ARCH_MIPSEL64", "mips64le", pyseccomp.Arch.MIPSEL64),
    Architecture("SCMP_ARCH_MIPSEL64N32", "mips64len32", pyseccomp.Arch.MIPSEL64N32),
    Architecture("SCMP_ARCH_PPC", "ppc", pyseccomp.Arch.PPC),
    Architecture("SCMP_ARCH_PPC64", "ppc64", pyseccomp.Arch.PPC64),
    Architecture("SCMP_ARCH_PPC64LE", "ppc64le", pyseccomp.Arch.PPC64LE),
    Architecture("SCMP_ARCH_S390", "s390", pyseccomp.Arch.S390),
    Architecture("SCMP_ARCH_S390X", "s390x", pyseccomp.Arch.S390X),
    Architecture("SCMP_ARCH_PARISC", "parisc", pyseccomp.Arch.PARISC),
    Architecture("SCMP_ARCH_PARISC64", "parisc64", pyseccomp.Arch.PARISC64),
    Architecture("SCMP_ARCH_RISCV64", "riscv64", pyseccomp.Arch.RISCV64),
)

_BY_SCMP = {a.scmp: a for a in ARCHITECTURES}
_BY_TOKEN = {a.token: a for a in ARCHITECTURES}

#: Sub-architectures a host can run binaries of, as Docker's default profile lists them.
SUB_ARCHITECTURES: dict[str, tuple[str, ...]] = {
    "SCMP_ARCH_X86_64": ("SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "SCMP_ARCH_AARCH64": ("SCMP_ARCH_ARM",),
    "SCMP_ARCH_MIPS64": ("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"),
    "SCMP_ARCH_MIPSEL64": ("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"),
    "SCMP_ARCH_PPC64LE": (),
    "SCMP_ARCH_S390X": ("SCMP_ARCH_S390",),
    "SCMP_ARCH_RISCV64": (),
}


def by_scmp(name: str) -> Architecture | None:
    """Return the architecture a profile names (``SCMP_ARCH_X86_64``), or None if unknown."""
    return _BY_SCMP.get(name)


def host() -> Architecture:
    """Return the architecture libseccomp reports as native for this machine."""
    token = pyseccomp.system_arch()
    found = _BY_TOKEN.get(token)
    if found is None:
        raise RuntimeError(f"libseccomp reports an unknown native architecture 0x{token:x}")
    return found


def resolve(arch: Architecture, name: str) -> int:
    """Return the syscall number of ``name`` on ``arch``.

    The result is NR_SCMP_ERROR when libseccomp does not know the name, and
    another negative "pseudo" number when it knows the name but the
    architecture has no such syscall (``socketcall`` on x86_64).
    """
    return int(pyseccomp.resolve_syscall(arch.token, name))


def exists(arch: Architecture, name: str) -> bool:
    """Return True when ``name`` is a real syscall on ``arch``."""
    return resolve(arch, name) >= 0


def name_of(arch: Architecture, number: int) -> str | None:
    """Return the name of syscall ``number`` on ``arch``, or None."""
    try:
        return str(pyseccomp.resolve_syscall(arch.token, number).decode("ascii"))
    except ValueError:
        return None


@functools.cache
def syscall_names(arch: Architecture) -> frozenset[str]:
    """Return every syscall libseccomp knows on ``arch``, by probing numbers."""
    base = _X32_SYSCALL_BIT if arch.scmp == "SCMP_ARCH_X32" else 0
    names = set()
    for number in range(_MAX_SYSCALL_NUMBER):
        name = name_of(arch, base + number)
        if name is not None and resolve(arch, name) >= 0:
            names.add(name)
    return frozenset(names)


def known_anywhere(name: str) -> bool:
    """Return True when libseccomp knows ``name`` on at least one architecture."""
    return any(resolve(a, name) != NR_SCMP_ERROR for a in ARCHITECTURES)


@functools.cache
def libseccomp_version() -> str:
    """Return the version of the loaded libseccomp, such as ``2.5.4``."""

    class _Version(ctypes.Structure):
        _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]

    path = ctypes.util.find_library("seccomp")
    if path is None:
        return "unknown"
    library = ctypes.CDLL(path)
    library.seccomp_version.restype = ctypes.POINTER(_Version)
    version = library.seccomp_version().contents
    return f"{version.major}.{version.minor}.{version.micro}"


def host_kernel() -> tuple[int, int] | None:
    """Return the running kernel's (major, minor), or None when it cannot be parsed."""
    parts = platform.release().split(".")
    try:
        return int(parts[0]), int(parts[1].split("-")[0])
    except (IndexError, ValueError):
        return None
