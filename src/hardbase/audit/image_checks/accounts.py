"""Parse an image's /etc/passwd, /etc/group, /etc/shadow and the UID_MIN of /etc/login.defs.

These files come from the image, so every line is checked: malformed lines
are skipped and listed in ``problems`` instead of failing the scan.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from hardbase.errors import ImageError
from hardbase.image.fs import FilesystemView

logger = logging.getLogger(__name__)

PASSWD = "/etc/passwd"  # noqa: S105 (a path, not a password)
GROUP = "/etc/group"
SHADOW = "/etc/shadow"
LOGIN_DEFS = "/etc/login.defs"

#: Largest account file read; real ones are a few kilobytes.
MAX_ACCOUNT_FILE_BYTES = 4 * 1024 * 1024

#: First uid of ordinary accounts when /etc/login.defs does not set UID_MIN; it is
#: the default of shadow-utils' useradd and of BusyBox's adduser.
DEFAULT_UID_MIN = 1000

_UID_MIN = re.compile(r"^[ \t]*UID_MIN[ \t]+([0-9]{1,10})[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class PasswdEntry:
    """One account line of /etc/passwd."""

    name: str
    password: str
    """Second field: ``x`` when the hash is in /etc/shadow, else a hash, a lock or empty."""
    uid: int
    gid: int
    home: str
    shell: str
    line: int


@dataclass(frozen=True)
class GroupEntry:
    """One group line of /etc/group."""

    name: str
    gid: int
    members: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ShadowEntry:
    """One account line of /etc/shadow; the hash itself is kept only to classify it."""

    name: str
    password: str
    line: int


@dataclass(frozen=True)
class AccountDatabase:
    """The account files of one image; a file that is absent is None."""

    passwd: tuple[PasswdEntry, ...] | None
    group: tuple[GroupEntry, ...] | None
    shadow: tuple[ShadowEntry, ...] | None
    uid_min: int
    """UID_MIN from /etc/login.defs, or DEFAULT_UID_MIN."""
    problems: tuple[str, ...] = ()
    """Lines or files that could not be parsed, each naming the file and line."""

    def user_by_name(self, name: str) -> PasswdEntry | None:
        """Return the first /etc/passwd entry named ``name``, as the C library would."""
        return next((e for e in self.passwd or () if e.name == name), None)

    def user_by_uid(self, uid: int) -> PasswdEntry | None:
        """Return the first /etc/passwd entry with ``uid``."""
        return next((e for e in self.passwd or () if e.uid == uid), None)

    def group_by_gid(self, gid: int) -> GroupEntry | None:
        """Return the first /etc/group entry with ``gid``."""
        return next((e for e in self.group or () if e.gid == gid), None)


def read_accounts(fs: FilesystemView) -> AccountDatabase:
    """Read and parse the account files of ``fs``.

    Malformed lines are skipped and listed in ``problems``. A file that cannot be
    read is treated as absent and listed there too.
    """
    problems: list[str] = []
    passwd_text = _read(fs, PASSWD, problems)
    group_text = _read(fs, GROUP, problems)
    shadow_text = _read(fs, SHADOW, problems)
    defs_text = _read(fs, LOGIN_DEFS, problems)

    passwd = None if passwd_text is None else _parse_passwd(passwd_text, problems)
    group = None if group_text is None else _parse_group(group_text, problems)
    shadow = None if shadow_text is None else _parse_shadow(shadow_text, problems)
    uid_min = DEFAULT_UID_MIN
    if defs_text is not None:
        found = _UID_MIN.search(defs_text)
        if found:
            uid_min = int(found.group(1))
    for problem in problems:
        logger.info("account files: %s", problem)
    return AccountDatabase(passwd, group, shadow, uid_min, tuple(problems))


def _read(fs: FilesystemView, path: str, problems: list[str]) -> str | None:
    try:
        if not fs.is_file(path):
            return None
        return fs.read_text(path, MAX_ACCOUNT_FILE_BYTES)
    except (OSError, ImageError) as error:
        problems.append(f"{path}: cannot read ({error})")
        return None


def _lines(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        # "+" and "-" lines are NIS compatibility entries, not accounts.
        if not stripped or stripped.startswith(("#", "+", "-")):
            continue
        found.append((number, line.rstrip("\r")))
    return found


def _parse_id(text: str) -> int | None:
    # isascii: str.isdigit() also holds for characters such as "²" that int() rejects.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


def _parse_passwd(text: str, problems: list[str]) -> tuple[PasswdEntry, ...]:
    entries = []
    for number, line in _lines(text):
        fields = line.split(":")
        uid = _parse_id(fields[2]) if len(fields) == 7 else None
        gid = _parse_id(fields[3]) if len(fields) == 7 else None
        if uid is None or gid is None:
            problems.append(f"{PASSWD} line {number}: not NAME:PASSWORD:UID:GID:GECOS:HOME:SHELL")
            continue
        entries.append(PasswdEntry(fields[0], fields[1], uid, gid, fields[5], fields[6], number))
    return tuple(entries)


def _parse_group(text: str, problems: list[str]) -> tuple[GroupEntry, ...]:
    entries = []
    for number, line in _lines(text):
        fields = line.split(":")
        gid = _parse_id(fields[2]) if len(fields) == 4 else None
        if gid is None:
            problems.append(f"{GROUP} line {number}: not NAME:PASSWORD:GID:MEMBERS")
            continue
        members = tuple(m for m in fields[3].split(",") if m)
        entries.append(GroupEntry(fields[0], gid, members, number))
    return tuple(entries)


def _parse_shadow(text: str, problems: list[str]) -> tuple[ShadowEntry, ...]:
    entries = []
    for number, line in _lines(text):
        fields = line.split(":")
        if len(fields) < 2 or not fields[0]:
            problems.append(f"{SHADOW} line {number}: not NAME:PASSWORD:...")
            continue
        entries.append(ShadowEntry(fields[0], fields[1], number))
    return tuple(entries)


def hash_scheme(password: str) -> str:
    """Return the crypt(5) scheme of a password field, such as ``sha512crypt``, never the hash."""
    schemes = {
        "$1$": "md5crypt",
        "$2a$": "bcrypt",
        "$2b$": "bcrypt",
        "$2y$": "bcrypt",
        "$5$": "sha256crypt",
        "$6$": "sha512crypt",
        "$y$": "yescrypt",
        "$gy$": "gost-yescrypt",
        "$7$": "scrypt",
    }
    text = password.lstrip("!")
    for prefix, name in schemes.items():
        if text.startswith(prefix):
            return name
    if len(text) == 13:
        return "descrypt"
    return "unknown"
