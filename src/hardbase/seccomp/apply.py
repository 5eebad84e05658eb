"""Load a profile into a seccomp filter and run a command under it.

The filter is built the way runc builds it (hardbase.seccomp.rules lists
the steps) with libseccomp through ``pyseccomp``, then loaded in the child
between fork and exec, so the command runs with exactly the filter a
container would get, and this process keeps none.
"""

from __future__ import annotations

import errno
import logging
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pyseccomp

from hardbase.errors import InputError
from hardbase.seccomp import arch as archmod
from hardbase.seccomp import rules as rulesmod
from hardbase.seccomp.model import Arg, Operator, Profile
from hardbase.seccomp.rules import ACTION_NAMES, Action, ActionKind, Context

logger = logging.getLogger(__name__)

_OPERATORS = {
    Operator.NE: pyseccomp.NE,
    Operator.LT: pyseccomp.LT,
    Operator.LE: pyseccomp.LE,
    Operator.EQ: pyseccomp.EQ,
    Operator.GE: pyseccomp.GE,
    Operator.GT: pyseccomp.GT,
    Operator.MASKED_EQ: pyseccomp.MASKED_EQ,
}

# Flags runc accepts (libcontainer/seccomp/config.go) and the filter attribute for each;
# None means there is nothing to set because a forked child has a single thread.
_FLAGS: dict[str, int | None] = {
    "SECCOMP_FILTER_FLAG_TSYNC": None,
    "SECCOMP_FILTER_FLAG_LOG": pyseccomp.Attr.CTL_LOG,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": pyseccomp.Attr.CTL_SSB,
}


def _action_value(action: Action, where: str) -> int:
    kind = action.kind
    if kind is ActionKind.ALLOW:
        return int(pyseccomp.ALLOW)
    if kind is ActionKind.LOG:
        return int(pyseccomp.LOG)
    if kind is ActionKind.ERRNO:
        return int(pyseccomp.ERRNO(action.errno_ret or errno.EPERM))
    if kind is ActionKind.TRACE:
        return int(pyseccomp.TRACE(action.errno_ret or errno.EPERM))
    if kind is ActionKind.TRAP:
        return int(pyseccomp.TRAP)
    if kind is ActionKind.KILL_PROCESS:
        return int(pyseccomp.KILL_PROCESS)
    if kind in (ActionKind.KILL, ActionKind.KILL_THREAD):
        return int(pyseccomp.KILL_THREAD)
    raise InputError(
        f"{where}: SCMP_ACT_NOTIFY needs a seccomp agent, which 'seccomp run' does not provide",
        hint="replace it with SCMP_ACT_ERRNO or SCMP_ACT_ALLOW to try the profile",
    )


def _condition(arg: Arg) -> pyseccomp.Arg:
    return pyseccomp.Arg(arg.index, _OPERATORS[arg.op], arg.value, arg.value_two)


def _check_actions(profile: Profile, source: str) -> Action:
    try:
        default = rulesmod.default_action(profile)
    except ValueError as error:
        raise InputError(
            f"{source}: unknown defaultAction {profile.default_action}",
            hint="run 'hardbase seccomp validate' on it",
        ) from error
    for index, rule in enumerate(profile.rules):
        if rule.action not in ACTION_NAMES:
            raise InputError(
                f"{source}: unknown action {rule.action} at syscalls[{index}].action",
                hint="run 'hardbase seccomp validate' on it",
            )
    return default


def build_filter(
    profile: Profile, context: Context, source: str = "profile"
) -> pyseccomp.SyscallFilter:
    """Return a libseccomp filter for ``profile`` in ``context``, not yet loaded.

    Raises InputError for what runc would refuse: an unknown action or
    architecture, an unknown flag, SCMP_ACT_NOTIFY (no agent here), and
    conflicting rules (libseccomp EEXIST). The filter sets NO_NEW_PRIVS,
    which an unprivileged process needs to load it.
    """
    default = _check_actions(profile, source)
    seccomp_filter = pyseccomp.SyscallFilter(_action_value(default, f"{source}: defaultAction"))
    for architecture in rulesmod.filter_architectures(profile, context.host):
        if architecture == context.host:
            continue
        try:
            seccomp_filter.add_arch(architecture.token)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise InputError(
                    f"{source}: libseccomp cannot add {architecture.scmp}: {error}"
                ) from error
    seccomp_filter.set_attr(pyseccomp.Attr.CTL_NNP, 1)
    for flag in profile.flags or ():
        if flag not in _FLAGS:
            raise InputError(
                f"{source}: unknown flag {flag}", hint="use one of " + ", ".join(_FLAGS)
            )
        attribute = _FLAGS[flag]
        if attribute is not None:
            seccomp_filter.set_attr(attribute, 1)

    for rule in rulesmod.effective_rules(profile, context):
        number = archmod.resolve(context.host, rule.name)
        if number == archmod.NR_SCMP_ERROR:
            logger.debug("unknown syscall %s at %s skipped, as runc does", rule.name, rule.path)
            continue
        value = _action_value(rule.action, f"{source}: {rule.path}")
        try:
            if rule.unconditional:
                seccomp_filter.add_rule(value, number)
            for alternative in rule.conditions:
                seccomp_filter.add_rule(value, number, *(_condition(a) for a in alternative))
        except OSError as error:
            raise InputError(
                f"{source}: libseccomp rejected the rule for {rule.name} at {rule.path}: "
                f"{error.strerror}; runc and crun would refuse the profile too",
                hint="run 'hardbase seccomp validate' on it",
            ) from error
    return seccomp_filter


def run_with_profile(
    profile: Profile, command: Sequence[str], context: Context, source: str = "profile"
) -> int:
    """Run ``command`` with the filter of ``profile`` loaded and return its exit status.

    A command killed by signal N returns 128 + N, as a shell reports it.
    """
    if not command:
        raise InputError("no command to run", hint="give it after --, e.g. -- ls -l /")
    # A name with a slash is a path; which() returns it only when it can run.
    if "/" in command[0] and shutil.which(command[0]) is None and Path(command[0]).exists():
        # which() finds only executables, so this file exists but cannot run.
        # Report that rather than blame the profile for the failed execve.
        raise InputError(
            f"{command[0]}: not an executable file", hint="check the path and its mode"
        )
    seccomp_filter = build_filter(profile, context, source)

    def load_filter() -> None:
        # The child loads the filter last: after it only close_range and execve run.
        seccomp_filter.load()

    logger.info("running %s under %s", " ".join(command), source)
    try:
        completed = subprocess.run(list(command), preexec_fn=load_filter, check=False)
    except FileNotFoundError as error:
        raise InputError(
            f"{command[0]}: command not found", hint="check the name or PATH"
        ) from error
    except PermissionError as error:
        raise InputError(
            f"{command[0]}: cannot start it under {source}: {error.strerror}",
            hint="the profile must allow execve (and close_range), as a runtime needs them too",
        ) from error
    except subprocess.SubprocessError as error:
        raise InputError(
            f"{source}: loading the filter failed in the child: {error}",
            hint="run 'hardbase seccomp validate' on it",
        ) from error
    if completed.returncode == -signal.SIGSYS:
        logger.warning(
            "%s was killed by SIGSYS: a syscall hit a KILL or TRAP action of %s",
            command[0],
            source,
        )
    if completed.returncode < 0:
        return 128 - completed.returncode
    return completed.returncode
