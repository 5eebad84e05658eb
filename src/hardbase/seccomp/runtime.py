"""Syscalls a container runtime makes after it installs the filter and before the program runs.

The filter applies from the moment it is loaded, so the runtime's own last
steps must pass it or the container never starts. A trace of the program
alone does not show them: ``generate`` adds this list to every recorded
profile.

Sources, read from the code:

* runc ``libcontainer/standard_init_linux.go`` (``linuxStandardInit.Init``,
  runc 1.1 and 1.2): without ``no-new-privileges``, the Docker default,
  runc loads the filter before ``finalizeNamespace`` (close-on-exec of
  leaked descriptors, chdir, setgroups/setresgid/setresuid, capability
  drop through prctl and capset, getcwd check), then calls getppid,
  looks the program up (newfstatat, faccessat2), opens and writes the exec
  FIFO through /proc/self/fd, closes descriptors and calls execve (or
  execveat when it runs through runc-dmz). It is a Go program, so the Go
  runtime's futex, signal, memory and scheduler calls happen in between.
* crun ``src/libcrun/container.c``: loads the filter right before execve.
* ``hardbase seccomp run`` (CPython's ``_posixsubprocess``): after the
  filter loads in ``preexec_fn`` the child calls close_range and execve,
  and on failure write and exit_group. Checked with ``strace -f``.
"""

from __future__ import annotations

#: Syscall name to the step that needs it.
RUNTIME_SYSCALLS: dict[str, str] = {
    "execve": "start the program (runc, crun, hardbase seccomp run)",
    "execveat": "start the program through runc-dmz (runc 1.2)",
    "close_range": "close or mark close-on-exec the runtime's descriptors (runc 1.2, CPython)",
    "close": "close the exec FIFO, log pipe and leaked descriptors (runc)",
    "fcntl": "mark leaked descriptors close-on-exec (runc before close_range)",
    "openat": "open /proc/self/fd and the exec FIFO (runc)",
    "getdents64": "list /proc/self/fd to find leaked descriptors (runc)",
    "newfstatat": "look up the program on PATH (runc exec.LookPath)",
    "fstat": "check descriptors before closing them (runc)",
    "faccessat2": "check that the program is executable (runc eaccess)",
    "faccessat": "check that the program is executable on kernels without faccessat2 (runc)",
    "write": "write to the exec FIFO (runc) or report a failed execve (CPython)",
    "read": "read the sync pipe (runc)",
    "chdir": "enter the working directory (runc finalizeNamespace)",
    "getcwd": "verify the working directory is inside the container (runc 1.1.12 and later)",
    "setgroups": "set supplementary groups (runc setupUser)",
    "setresgid": "set the group (runc setupUser)",
    "setresuid": "set the user (runc setupUser)",
    "capget": "read capabilities before dropping them (runc)",
    "capset": "drop capabilities (runc)",
    "prctl": "keep capabilities across setuid and drop the bounding set (runc)",
    "getppid": "check that the parent did not change (runc)",
    "getpid": "signal itself if the parent changed (runc)",
    "futex": "Go runtime locks (runc)",
    "rt_sigaction": "Go runtime signal handlers (runc)",
    "rt_sigprocmask": "Go runtime signal masks (runc)",
    "rt_sigreturn": "return from a signal handler (runc)",
    "sigaltstack": "Go runtime signal stacks (runc)",
    "mmap": "Go runtime memory (runc)",
    "munmap": "Go runtime memory (runc)",
    "madvise": "Go runtime memory (runc)",
    "nanosleep": "Go runtime scheduler (runc)",
    "sched_yield": "Go runtime scheduler (runc)",
    "gettid": "Go runtime threads (runc)",
    "tgkill": "Go runtime preemption signals (runc)",
    "epoll_pwait": "Go runtime network poller (runc)",
    "epoll_ctl": "Go runtime network poller (runc)",
    "exit": "end a thread",
    "exit_group": "end the process after a failed start",
}
