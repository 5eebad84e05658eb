"""How a container runtime turns a profile into filter rules, and what the filter decides.

The steps follow moby ``profiles/seccomp`` (architectures, ``includes`` and
``excludes``) and runc ``libcontainer/seccomp/seccomp_linux.go`` and crun
``src/libcrun/seccomp.c`` (rule order, skipped rules), with libseccomp 2.5
deciding between rules for the same syscall:

* a rule whose action equals the default action is skipped;
* a name libseccomp does not know is skipped with a debug message;
* a rule whose ``args`` use one index twice becomes one rule per condition
  (any of them matches), otherwise the conditions must all match;
* of two unconditional rules for one syscall the first one added wins and
  the later one is dropped without an error;
* an unconditional rule beats every conditional rule for the same syscall,
  whichever comes first;
* two conditional rules with the same conditions and different actions make
  libseccomp return EEXIST, and runc and crun then refuse to start.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Iterable
from dataclasses import dataclass, field

from hardbase.seccomp import arch as archmod
from hardbase.seccomp.arch import Architecture
from hardbase.seccomp.model import Arg, Filter, Profile, Syscall

#: Capabilities Docker grants a container by default (moby ``oci/caps/defaults.go``).
DOCKER_DEFAULT_CAPS: frozenset[str] = frozenset(
    {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    }
)


class Verdict(enum.StrEnum):
    """Outcome of a filter for one syscall."""

    ALLOW = "allow"
    DENY = "deny"
    CONDITIONAL = "conditional"
    """Allowed for some argument values and denied for others."""
    NOTIFY = "notify"
    """Handed to a seccomp agent, which decides."""


class ActionKind(enum.StrEnum):
    """The ``SCMP_ACT_*`` actions that runc and crun accept."""

    KILL = "SCMP_ACT_KILL"
    KILL_THREAD = "SCMP_ACT_KILL_THREAD"
    KILL_PROCESS = "SCMP_ACT_KILL_PROCESS"
    TRAP = "SCMP_ACT_TRAP"
    ERRNO = "SCMP_ACT_ERRNO"
    TRACE = "SCMP_ACT_TRACE"
    ALLOW = "SCMP_ACT_ALLOW"
    LOG = "SCMP_ACT_LOG"
    NOTIFY = "SCMP_ACT_NOTIFY"


ACTION_NAMES: frozenset[str] = frozenset(a.value for a in ActionKind)


@dataclass(frozen=True)
class Action:
    """An action with its return code, compared the way runc compares libseccomp actions."""

    kind: ActionKind
    errno_ret: int | None = None
    """Errno returned by ERRNO and TRACE; None for the other actions."""

    @classmethod
    def parse(cls, name: str, errno_ret: int | None) -> Action:
        """Build the action runc would use; raises ValueError for an unknown name."""
        kind = ActionKind(name)
        if kind is ActionKind.KILL:
            # runc and crun load SCMP_ACT_KILL as KILL_THREAD.
            kind = ActionKind.KILL_THREAD
        if kind in (ActionKind.ERRNO, ActionKind.TRACE):
            return cls(kind, errno.EPERM if errno_ret is None else errno_ret)
        return cls(kind)

    @property
    def verdict(self) -> Verdict:
        """ALLOW for ALLOW and LOG, NOTIFY for NOTIFY, DENY for the rest.

        TRACE counts as a denial: without a tracer attached the kernel
        fails the syscall with ENOSYS.
        """
        if self.kind in (ActionKind.ALLOW, ActionKind.LOG):
            return Verdict.ALLOW
        if self.kind is ActionKind.NOTIFY:
            return Verdict.NOTIFY
        return Verdict.DENY

    def __str__(self) -> str:
        if self.errno_ret is not None:
            return f"{self.kind.value}({self.errno_ret})"
        return self.kind.value


@dataclass(frozen=True)
class Context:
    """The host and container that decide which conditional rules apply."""

    host: Architecture
    caps: frozenset[str] = DOCKER_DEFAULT_CAPS
    kernel: tuple[int, int] | None = None
    """Running kernel (major, minor); None makes every ``minKernel`` condition hold."""

    @classmethod
    def of_this_machine(cls, caps: Iterable[str] | None = None) -> Context:
        """Return the context of this machine with Docker's default capabilities or ``caps``."""
        chosen = DOCKER_DEFAULT_CAPS if caps is None else frozenset(_cap_name(c) for c in caps)
        return cls(archmod.host(), chosen, archmod.host_kernel())


def _cap_name(text: str) -> str:
    upper = text.strip().upper()
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


@dataclass(frozen=True)
class Rule:
    """One syscall name of one profile rule, as the runtime adds it."""

    rule_index: int
    """Position in ``syscalls``."""
    name: str
    path: str
    """JSON path of the name: ``syscalls[3].names[1]``."""
    action: Action
    conditions: tuple[tuple[Arg, ...], ...] = field(default=())
    """Alternatives, each a tuple of conditions that must all hold; empty when unconditional."""

    @property
    def unconditional(self) -> bool:
        return not self.conditions


@dataclass(frozen=True)
class Decision:
    """Outcome of the filter for one syscall on one architecture."""

    verdict: Verdict
    action: Action
    """The winning action of an unconditional rule, or the default action."""
    rule: Rule | None = None
    """The unconditional rule that decides, if any."""
    conditional: tuple[Rule, ...] = ()
    """Conditional rules that apply when there is no unconditional one."""


def filter_architectures(profile: Profile, host: Architecture) -> tuple[Architecture, ...]:
    """Return the architectures a runtime adds to the filter on ``host``.

    The host comes first, then ``architectures`` when given, else the
    ``archMap`` entry of the host with its sub-architectures. Names
    libseccomp does not know are left out (validation reports them).
    """
    names: list[str] = []
    if profile.architectures:
        names = list(profile.architectures)
    elif profile.arch_map:
        for entry in profile.arch_map:
            if entry.architecture == host.scmp:
                names = [entry.architecture, *entry.sub_architectures]
                break
    found = [a for a in (archmod.by_scmp(n) for n in names) if a is not None]
    # libseccomp always keeps the native architecture in a new filter.
    return tuple(dict.fromkeys([host, *found]))


def _filter_holds(condition: Filter | None, context: Context, *, include: bool) -> bool:
    if condition is None:
        return True
    if include:
        if condition.arches and context.host.goarch not in condition.arches:
            return False
        if condition.caps and not all(_cap_name(c) in context.caps for c in condition.caps):
            return False
        return not (condition.min_kernel and not _kernel_at_least(context, condition.min_kernel))
    if condition.arches and context.host.goarch in condition.arches:
        return False
    if condition.caps and any(_cap_name(c) in context.caps for c in condition.caps):
        return False
    return not (condition.min_kernel and _kernel_at_least(context, condition.min_kernel))


def _kernel_at_least(context: Context, version: str) -> bool:
    if context.kernel is None:
        return True
    major, minor = (int(p) for p in version.split("."))
    return context.kernel >= (major, minor)


def applies(rule: Syscall, context: Context) -> bool:
    """Return True when the engine keeps ``rule`` for ``context`` (``includes``/``excludes``)."""
    return _filter_holds(rule.excludes, context, include=False) and _filter_holds(
        rule.includes, context, include=True
    )


def condition_alternatives(args: tuple[Arg, ...] | None) -> tuple[tuple[Arg, ...], ...]:
    """Return the condition sets runc adds for ``args``: one rule each, any may match."""
    if not args:
        return ()
    indexes = [a.index for a in args]
    if len(set(indexes)) != len(indexes):
        return tuple((a,) for a in args)
    return (args,)


def default_action(profile: Profile) -> Action:
    """Return the profile's default action; raises ValueError for an unknown one."""
    return Action.parse(profile.default_action, profile.default_errno_ret)


def effective_rules(profile: Profile, context: Context) -> tuple[Rule, ...]:
    """Return the rules a runtime adds for ``context``, in order, one per syscall name.

    Rules with an unknown action are left out (validation reports them);
    rules whose action equals the default action are skipped as runc does.
    """
    default = default_action(profile)
    rules: list[Rule] = []
    for index, syscall in enumerate(profile.rules):
        if syscall.action not in ACTION_NAMES or not applies(syscall, context):
            continue
        action = Action.parse(syscall.action, syscall.errno_ret)
        if action == default:
            continue
        conditions = condition_alternatives(syscall.args)
        for position, name in enumerate(syscall.all_names):
            rules.append(Rule(index, name, syscall.name_path(index, position), action, conditions))
    return tuple(rules)


def decide(rules: Iterable[Rule], default: Action) -> Decision:
    """Return what a filter built from ``rules`` (all for one syscall) does with it."""
    conditional: list[Rule] = []
    for rule in rules:
        if rule.unconditional:
            return Decision(rule.action.verdict, rule.action, rule)
        conditional.append(rule)
    if not conditional:
        return Decision(default.verdict, default)
    verdicts = {r.action.verdict for r in conditional} | {default.verdict}
    verdict = verdicts.pop() if len(verdicts) == 1 else Verdict.CONDITIONAL
    return Decision(verdict, default, None, tuple(conditional))


def decisions(profile: Profile, context: Context) -> dict[str, Decision]:
    """Return the decision for every syscall the profile names, keyed by name."""
    default = default_action(profile)
    by_name: dict[str, list[Rule]] = {}
    for rule in effective_rules(profile, context):
        by_name.setdefault(rule.name, []).append(rule)
    return {name: decide(rules, default) for name, rules in by_name.items()}
