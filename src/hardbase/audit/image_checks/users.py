"""Checks of the user an image runs as and of its account files."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.accounts import (
    GROUP,
    PASSWD,
    SHADOW,
    AccountDatabase,
    hash_scheme,
)
from hardbase.audit.image_checks.context import ImageContext
from hardbase.scan.findings import Finding, Severity

#: uid of ``nobody``, the kernel's overflow uid: it owns nothing, so no service runs as it.
OVERFLOW_UID = 65534

#: Password fields that mean "no password can match", as passwd(5) and shadow(5) define.
_LOCKED_FIELDS = frozenset({"x", "*", "!", "!!", "*LK*", "NP"})


@dataclass(frozen=True)
class RunUser:
    """The user a container of the image starts as, resolved through /etc/passwd."""

    configured: str | None
    """``User`` of the image configuration as written; None when unset or when there is no
    configuration."""
    uid: int | None
    """Resolved uid, or None when the name is not in /etc/passwd or there is no configuration."""
    is_root: bool | None
    """True for uid 0, False for another uid, None when it cannot be known."""


def resolve_run_user(context: ImageContext) -> RunUser:
    """Return the user that the image's configuration starts processes as."""
    if context.config is None:
        return RunUser(None, None, None)
    configured = context.config.user or None
    if configured is None:
        return RunUser(None, 0, True)
    name = configured.partition(":")[0]
    # A hostile config may hold "²" or 5000 digits, which int() rejects.
    if name.isascii() and name.isdigit() and len(name) <= 10:
        uid = int(name)
        return RunUser(configured, uid, uid == 0)
    entry = context.accounts.user_by_name(name)
    if entry is None:
        is_root = True if name == "root" else None
        return RunUser(configured, 0 if is_root else None, is_root)
    return RunUser(configured, entry.uid, entry.uid == 0)


def check_run_user(context: ImageContext, run_user: RunUser) -> list[Finding]:
    """Report a container that runs as root, or whose configured user cannot be resolved."""
    if context.config is None:
        return [
            rules.NO_CONFIG_USER.finding(
                "No user is configured: a root filesystem without an image configuration "
                "runs as root",
                {"config": None, "default_user": "root", "default_uid": 0},
            )
        ]

    configured = run_user.configured
    if configured is None:
        return [
            rules.ROOT_USER.finding(
                "Image runs as root: the configuration sets no User",
                {"user": None, "uid": 0},
            )
        ]
    name, _, group = configured.partition(":")
    evidence: dict[str, object] = {"user": configured, "uid": run_user.uid}
    if group:
        evidence["group"] = group
    if run_user.is_root:
        reason = "uid 0" if name.isdigit() else f"{name!r} is uid 0 in {PASSWD}"
        return [
            rules.ROOT_USER.finding(f"Image runs as root: User {configured!r} ({reason})", evidence)
        ]
    if run_user.uid is None:
        return [
            rules.UNKNOWN_USER.finding(
                f"User {name!r} is not in {PASSWD}, so a container cannot start as it",
                evidence,
            )
        ]
    if context.accounts.user_by_uid(run_user.uid) is None:
        return [
            rules.UID_WITHOUT_ACCOUNT.finding(
                f"Image runs as uid {run_user.uid}, which has no {PASSWD} entry",
                evidence,
            )
        ]
    return []


def check_run_account(context: ImageContext, run_user: RunUser) -> list[Finding]:
    """Report an image that has no ordinary account to run as.

    An account qualifies when its uid is at least UID_MIN of /etc/login.defs
    (1000 by default) and is not the overflow uid 65534 of ``nobody``. Distroless
    images qualify through ``nonroot`` (65532). Nothing is reported when the
    configuration already runs as a non-root uid.
    """
    if run_user.is_root is False:
        return []
    accounts = context.accounts
    candidates = [
        e for e in accounts.passwd or () if e.uid >= accounts.uid_min and e.uid != OVERFLOW_UID
    ]
    if candidates:
        return []
    system = sorted(e.name for e in accounts.passwd or () if 0 < e.uid < accounts.uid_min)
    evidence = {
        "uid_min": accounts.uid_min,
        "passwd": PASSWD if accounts.passwd is not None else None,
        "system_accounts": system,
    }
    return [
        rules.NO_RUN_ACCOUNT.finding(
            f"No account with a uid of {accounts.uid_min} or more to run as", evidence
        )
    ]


def check_passwords(accounts: AccountDatabase) -> list[Finding]:
    """Report empty passwords and password hashes kept in /etc/passwd."""
    findings: list[Finding] = []
    reported: set[str] = set()
    for shadow in accounts.shadow or ():
        if shadow.password == "":
            reported.add(shadow.name)
            findings.append(_empty_password(accounts, shadow.name, SHADOW, shadow.line))
    for entry in accounts.passwd or ():
        if entry.password == "" and entry.name not in reported:
            reported.add(entry.name)
            findings.append(_empty_password(accounts, entry.name, PASSWD, entry.line))
        elif entry.password not in _LOCKED_FIELDS and entry.password != "":
            findings.append(
                rules.PASSWD_HASH.finding(
                    f"Account {entry.name!r} has its password hash in {PASSWD}",
                    {
                        "account": entry.name,
                        "uid": entry.uid,
                        "file": PASSWD,
                        "line": entry.line,
                        "scheme": hash_scheme(entry.password),
                        "locked": entry.password.startswith("!"),
                    },
                )
            )
    return findings


def _empty_password(accounts: AccountDatabase, name: str, path: str, line: int) -> Finding:
    entry = accounts.user_by_name(name)
    uid = entry.uid if entry else None
    return rules.EMPTY_PASSWORD.finding(
        f"Account {name!r} has an empty password in {path}",
        {"account": name, "uid": uid, "file": path, "line": line},
    )


def check_unique_ids(accounts: AccountDatabase) -> list[Finding]:
    """Report uids shared by accounts and gids shared by groups, naming each of them.

    A shared id 0 is a second root account or group, so it is reported as high.
    """
    findings: list[Finding] = []
    users: dict[int, list[str]] = defaultdict(list)
    for entry in accounts.passwd or ():
        users[entry.uid].append(entry.name)
    for uid, names in sorted(users.items()):
        if len(names) > 1:
            findings.append(
                rules.DUPLICATE_UID.finding(
                    f"uid {uid} is shared by accounts {', '.join(names)}",
                    {"uid": uid, "accounts": names, "file": PASSWD},
                    severity=Severity.HIGH if uid == 0 else None,
                )
            )
    groups: dict[int, list[str]] = defaultdict(list)
    for group in accounts.group or ():
        groups[group.gid].append(group.name)
    for gid, names in sorted(groups.items()):
        if len(names) > 1:
            findings.append(
                rules.DUPLICATE_GID.finding(
                    f"gid {gid} is shared by groups {', '.join(names)}",
                    {"gid": gid, "groups": names, "file": GROUP},
                    severity=Severity.HIGH if gid == 0 else None,
                )
            )
    return findings
