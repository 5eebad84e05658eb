"""Groups of syscalls that do the same thing, so denying one member alone is bypassed.

The C library picks the member: glibc's ``open()`` calls ``openat``, Python's
``os.mkdir(dir_fd=...)`` calls ``mkdirat``, and newer kernels add members
(``openat2`` in 5.6, ``fchmodat2`` in 6.6, ``epoll_pwait2`` in 5.11). A
profile that denies one member must deny the others that exist on its
architectures, or the program reaches the same operation through them.
docs/seccomp.md shows this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SiblingGroup:
    """Syscalls that reach one kernel operation."""

    operation: str
    members: tuple[str, ...]
    note: str


SIBLING_GROUPS: tuple[SiblingGroup, ...] = (
    SiblingGroup("create a directory", ("mkdir", "mkdirat"), "mkdirat with AT_FDCWD is mkdir"),
    SiblingGroup(
        "open a file",
        ("open", "openat", "openat2", "creat"),
        "glibc's open() calls openat; creat is open with O_CREAT|O_WRONLY|O_TRUNC",
    ),
    SiblingGroup(
        "change a file mode",
        ("chmod", "fchmod", "fchmodat", "fchmodat2"),
        "fchmod acts on an open descriptor; fchmodat2 (Linux 6.6) adds flags",
    ),
    SiblingGroup("remove a file", ("unlink", "unlinkat"), "unlinkat with flags 0 is unlink"),
    SiblingGroup(
        "remove a directory", ("rmdir", "unlinkat"), "unlinkat with AT_REMOVEDIR is rmdir"
    ),
    SiblingGroup(
        "rename a file", ("rename", "renameat", "renameat2"), "renameat2 adds RENAME_EXCHANGE"
    ),
    SiblingGroup(
        "change a file owner",
        ("chown", "fchown", "fchownat", "lchown", "chown32", "fchown32", "lchown32"),
        "the 32 forms are the x86 and arm 32-bit entry points",
    ),
    SiblingGroup(
        "read file status",
        (
            "stat",
            "lstat",
            "fstat",
            "newfstatat",
            "fstatat64",
            "statx",
            "stat64",
            "lstat64",
            "fstat64",
        ),
        "glibc 2.33 and later implement stat() with newfstatat or statx",
    ),
    SiblingGroup("run a program", ("execve", "execveat"), "execveat runs a program by descriptor"),
    SiblingGroup("duplicate a descriptor", ("dup", "dup2", "dup3"), "dup3 is dup2 with flags"),
    SiblingGroup("create a pipe", ("pipe", "pipe2"), "pipe2 is pipe with flags"),
    SiblingGroup(
        "wait for epoll events",
        ("epoll_wait", "epoll_pwait", "epoll_pwait2"),
        "epoll_pwait adds a signal mask, epoll_pwait2 a timespec timeout",
    ),
    SiblingGroup("create an epoll instance", ("epoll_create", "epoll_create1"), "with flags"),
    SiblingGroup("create a hard link", ("link", "linkat"), "linkat with AT_FDCWD is link"),
    SiblingGroup(
        "create a symbolic link", ("symlink", "symlinkat"), "symlinkat is symlink by dir fd"
    ),
    SiblingGroup("create a device node", ("mknod", "mknodat"), "mknodat is mknod by dir fd"),
    SiblingGroup(
        "check file access", ("access", "faccessat", "faccessat2"), "faccessat2 adds flags"
    ),
    SiblingGroup(
        "change file times",
        ("utime", "utimes", "futimesat", "utimensat", "utimensat_time64"),
        "utimensat covers all of them",
    ),
    SiblingGroup("read a symbolic link", ("readlink", "readlinkat"), "readlinkat by dir fd"),
    SiblingGroup(
        "create a process or thread",
        ("fork", "vfork", "clone", "clone3"),
        "glibc's fork() calls clone; clone3 (Linux 5.3) has a struct argument",
    ),
    SiblingGroup(
        "mount a file system",
        ("mount", "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "mount_setattr"),
        "the mount API of Linux 5.2 mounts without mount()",
    ),
    SiblingGroup("unmount a file system", ("umount", "umount2"), "umount2 adds flags"),
    SiblingGroup(
        "send a signal",
        ("kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo"),
        "all of them deliver a signal to another process",
    ),
    SiblingGroup(
        "wait for a child", ("wait4", "waitid", "waitpid"), "waitpid exists on 32-bit x86 only"
    ),
    SiblingGroup(
        "wait for descriptors",
        ("select", "_newselect", "pselect6", "poll", "ppoll"),
        "all of them wait for descriptor readiness",
    ),
    SiblingGroup(
        "read directory entries", ("getdents", "getdents64"), "getdents64 has 64-bit inodes"
    ),
    SiblingGroup(
        "truncate a file", ("truncate", "ftruncate", "truncate64", "ftruncate64"), "by path or fd"
    ),
    SiblingGroup("accept a connection", ("accept", "accept4"), "accept4 adds flags"),
    SiblingGroup("create an inotify instance", ("inotify_init", "inotify_init1"), "with flags"),
    SiblingGroup("create an eventfd", ("eventfd", "eventfd2"), "with flags"),
    SiblingGroup("create a signalfd", ("signalfd", "signalfd4"), "with flags"),
    SiblingGroup(
        "copy between descriptors",
        ("sendfile", "sendfile64", "splice", "copy_file_range"),
        "each copies data without a read and a write",
    ),
    SiblingGroup(
        "write another process's memory",
        ("ptrace", "process_vm_writev"),
        "process_vm_writev writes memory that ptrace(PTRACE_POKEDATA) would",
    ),
)


def siblings_of(name: str) -> tuple[tuple[SiblingGroup, tuple[str, ...]], ...]:
    """Return each group that contains ``name`` with the other members of that group."""
    return tuple(
        (group, tuple(m for m in group.members if m != name))
        for group in SIBLING_GROUPS
        if name in group.members
    )
