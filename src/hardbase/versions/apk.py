"""Alpine package versions: validation and ordering as apk-tools does them.

An apk version is ``digits{.digits}[letter]{_suffix[number]}[~hash][-rN]``, for
example ``1.2.3b_rc1_p2~1a2b3c-r4``. The rules follow the ``src/version.c`` of
apk-tools that accepts ``~hash``: the same tokens, the same checks on which
token may follow which, and the same ordering, including for invalid versions.
Older apk-tools reject ``~hash`` and compare some invalid versions differently.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

from hardbase.errors import InputError

__all__ = ["ApkVersion", "compare_apk", "is_valid_apk", "match_apk", "parse_apk"]

# Token kinds in the order apk-tools numbers them. The order decides which kind
# may follow which, so a letter only follows digits and a suffix only comes
# before a hash or -rN. It also decides the result where two versions first
# differ in the kind of token.
_INITIAL_DIGIT = 0
_DIGIT = 1
_LETTER = 2
_SUFFIX = 3
_SUFFIX_NUMBER = 4
_COMMIT_HASH = 5
_PKGREL = 6
_END = 7
_INVALID = 8

# Rank of each suffix word. Words ranked below _RELEASE sort before the plain
# release (1.0_rc1 < 1.0), words ranked above it sort after (1.0_p1 > 1.0).
_SUFFIX_RANKS = {
    "alpha": 1,
    "beta": 2,
    "pre": 3,
    "rc": 4,
    "cvs": 6,
    "svn": 7,
    "git": 8,
    "hg": 9,
    "p": 10,
}
_RELEASE = 5

# apk keeps every number in a uint64_t and lets it wrap.
_UINT64_MASK = (1 << 64) - 1
_INT_CHUNK = 4000  # below int()'s default limit of 4300 digits per string

_DIGITS = re.compile(r"[0-9]*")
_SUFFIX_WORD = re.compile(r"[a-z]*")
_HEX_DIGITS = re.compile(r"[0-9a-f]*")

_FORMAT_HINT = (
    "write it as digits separated by dots, then an optional letter, suffixes "
    "such as _rc1 or _p2, an optional ~commit hash and an optional -rN, "
    "for example '1.2.3_rc1-r0'"
)

# Result bits of apk's version operators: '<', '>', '=' and '~' (fuzzy).
_LESS = 2
_EQUAL = 1
_GREATER = 4
_FUZZY = 8
_OPERATOR_BITS = {"<": _LESS, "=": _EQUAL, ">": _GREATER, "~": _FUZZY | _EQUAL}
_ANY = _LESS | _EQUAL | _GREATER | _FUZZY


class _Token(NamedTuple):
    kind: int
    text: str
    """Characters of the token without its separator (".", "_", "~" or "-r")."""
    number: int
    """Value of a digit token modulo 2**64, code of a letter or rank of a suffix word."""
    offset: int
    """Position of the token in the version string, which error messages show."""


@dataclass(frozen=True, slots=True)
class ApkVersion:
    """A valid apk version split into its parts, each as written.

    ``str()`` of an instance gives back the string it was parsed from.
    """

    components: tuple[str, ...]
    """Dot-separated numbers, such as ``("1", "02", "3")`` for ``1.02.3``."""
    letter: str
    """Lowercase letter after the numbers, empty when there is none."""
    suffixes: tuple[tuple[str, str], ...]
    """Suffix words with their numbers, such as ``(("rc", "1"), ("p", ""))``."""
    commit_hash: str
    """Hexadecimal commit id after ``~``, empty when there is none."""
    pkgrel: str
    """Package release number after ``-r``, empty when there is none."""

    def __str__(self) -> str:
        text = ".".join(self.components) + self.letter
        text += "".join(f"_{word}{number}" for word, number in self.suffixes)
        if self.commit_hash:
            text += f"~{self.commit_hash}"
        if self.pkgrel:
            text += f"-r{self.pkgrel}"
        return text


def parse_apk(version: str) -> ApkVersion:
    """Parse an apk version into its parts.

    Raises:
        InputError: when apk-tools would reject the version as invalid.
    """
    tokens = _tokenize(version)
    last = tokens[-1]
    if last.kind == _INVALID:
        raise InputError(
            f"invalid apk version {version!r}: cannot parse {version[last.offset :]!r} "
            f"at offset {last.offset}",
            hint=_FORMAT_HINT,
        )

    components: list[str] = []
    letter = ""
    suffixes: list[tuple[str, str]] = []
    commit_hash = ""
    pkgrel = ""
    for token in tokens[:-1]:
        if token.kind in (_INITIAL_DIGIT, _DIGIT):
            components.append(token.text)
        elif token.kind == _LETTER:
            letter = token.text
        elif token.kind == _SUFFIX:
            suffixes.append((token.text, ""))
        elif token.kind == _SUFFIX_NUMBER:
            suffixes[-1] = (suffixes[-1][0], token.text)
        elif token.kind == _COMMIT_HASH:
            commit_hash = token.text
        else:
            pkgrel = token.text
    return ApkVersion(
        components=tuple(components),
        letter=letter,
        suffixes=tuple(suffixes),
        commit_hash=commit_hash,
        pkgrel=pkgrel,
    )


def is_valid_apk(version: str) -> bool:
    """Return whether apk-tools accepts the version, as ``apk_version_validate()`` does."""
    return _tokenize(version)[-1].kind == _END


def compare_apk(a: str, b: str) -> int:
    """Compare two apk versions the way ``apk version -t`` does.

    Returns -1 when ``a`` sorts before ``b``, 0 when they are equal in
    ordering and 1 when ``a`` sorts after ``b``.

    Invalid versions do not raise. As in apk-tools, the tokens before the
    first invalid one are compared, and a version that turns invalid where the
    other still has tokens sorts before it, unless the other has a pre-release
    suffix there. Two versions that turn invalid at the same token compare
    equal, so ``compare_apk("foo", "bar")`` is 0. Check `is_valid_apk` first
    when that matters.
    """
    return _compare(_tokenize(a), _tokenize(b), fuzzy=False)


def match_apk(a: str, operator: str, b: str) -> bool:
    """Return whether ``a operator b`` is true under apk's dependency operators.

    ``operator`` is made of the characters ``<``, ``=``, ``>`` and ``~``, as
    in ``<=``, ``>=`` or ``>~``. A ``~`` makes the match fuzzy: ``a`` matches
    when it equals ``b`` in every token that ``b`` has, so ``3.6.9 ~ 3.6``
    holds.

    Raises:
        InputError: when the operator is empty or contains another character.
    """
    if not operator or not _OPERATOR_BITS.keys() >= set(operator):
        raise InputError(
            f"invalid apk version operator {operator!r}",
            hint="use one of <, <=, =, >=, >, ~, <~ or >~",
        )
    bits = 0
    for char in operator:
        bits |= _OPERATOR_BITS[char]
    if bits & _ANY == _ANY:
        return True

    result = _compare(_tokenize(a), _tokenize(b), fuzzy=bool(bits & _FUZZY))
    if result < 0:
        return bool(bits & _LESS)
    if result > 0:
        return bool(bits & _GREATER)
    return bool(bits & _EQUAL)


def _compare(a: tuple[_Token, ...], b: tuple[_Token, ...], *, fuzzy: bool) -> int:
    index = 0
    while True:
        token_a = a[index]
        token_b = b[index]
        if token_a.kind != token_b.kind or token_a.kind >= _END:
            break
        result = _compare_token(token_a, token_b)
        if result:
            return result
        index += 1

    # Both versions end here, or both turn invalid at the same token.
    if token_a.kind == token_b.kind:
        return 0
    # A fuzzy match only checks whether a starts with all of b's tokens.
    if fuzzy and token_b.kind == _END:
        return 0

    # One version has a token where the other has a different one or ends. A
    # pre-release suffix sorts before anything else. Otherwise the lower kind
    # wins: more digits beat a letter, a letter beats a suffix, and every token
    # beats the end of the string, so 1.0.1 > 1.0 and 1.0-r1 > 1.0.
    if token_a.kind == _SUFFIX and token_a.number < _RELEASE:
        return -1
    if token_b.kind == _SUFFIX and token_b.number < _RELEASE:
        return 1
    return -1 if token_a.kind > token_b.kind else 1


def _compare_token(a: _Token, b: _Token) -> int:
    if a.kind == _COMMIT_HASH or (a.kind == _DIGIT and "0" in (a.text[0], b.text[0])):
        # apk sorts commit ids, and numbers after a dot that have a leading
        # zero, as strings (its source cites Gentoo's rules), so 1.001 < 1.01 < 1.1.
        return (a.text > b.text) - (a.text < b.text)
    return (a.number > b.number) - (a.number < b.number)


# Bounded so that a long-running process which parses many distinct versions
# does not grow without limit.
@functools.lru_cache(maxsize=1 << 16)
def _tokenize(version: str) -> tuple[_Token, ...]:
    """Split a version into tokens. The last token is always _END or _INVALID."""
    digits = _span(_DIGITS, version, 0)
    if not digits:
        return (_Token(_INVALID, "", 0, 0),)

    tokens = [_Token(_INITIAL_DIGIT, digits, _wrap(digits), 0)]
    kind = _INITIAL_DIGIT
    position = len(digits)
    while position < len(version):
        token = _next_token(version, position, kind)
        tokens.append(token)
        if token.kind == _INVALID:
            return tuple(tokens)
        kind = token.kind
        position = token.offset + len(token.text)
    tokens.append(_Token(_END, "", 0, position))
    return tuple(tokens)


def _next_token(version: str, position: int, previous: int) -> _Token:
    """Read the token at ``position``, given the kind of the token before it.

    The returned token's offset is where its text starts, after any separator.
    """
    invalid = _Token(_INVALID, "", 0, position)
    char = version[position]

    if "a" <= char <= "z":
        if previous > _DIGIT:
            return invalid
        return _Token(_LETTER, char, ord(char), position)

    if char == "." or "0" <= char <= "9":
        start = position
        if char == ".":
            if previous > _DIGIT:
                return invalid
            start += 1
        if previous in (_INITIAL_DIGIT, _DIGIT):
            kind = _DIGIT
        elif previous == _SUFFIX:
            kind = _SUFFIX_NUMBER
        else:
            return invalid
        return _digits_token(version, start, kind, invalid)

    if char == "_":
        if previous > _SUFFIX_NUMBER:
            return invalid
        word = _span(_SUFFIX_WORD, version, position + 1)
        rank = _SUFFIX_RANKS.get(word)
        if rank is None:
            return invalid
        return _Token(_SUFFIX, word, rank, position + 1)

    if char == "~":
        if previous >= _COMMIT_HASH:
            return invalid
        commit = _span(_HEX_DIGITS, version, position + 1)
        if not commit:
            return invalid
        return _Token(_COMMIT_HASH, commit, 0, position + 1)

    if char == "-":
        if previous >= _PKGREL or not version.startswith("-r", position):
            return invalid
        return _digits_token(version, position + 2, _PKGREL, invalid)

    return invalid


def _digits_token(version: str, start: int, kind: int, invalid: _Token) -> _Token:
    digits = _span(_DIGITS, version, start)
    if not digits:
        return invalid
    return _Token(kind, digits, _wrap(digits), start)


def _span(pattern: re.Pattern[str], version: str, start: int) -> str:
    """Return the longest run of characters from ``start`` that ``pattern`` matches."""
    match = pattern.match(version, start)
    return match.group() if match else ""


def _wrap(digits: str) -> int:
    """Return the value of a digit string modulo 2**64, as apk's uint64_t stores it."""
    value = 0
    for start in range(0, len(digits), _INT_CHUNK):
        chunk = digits[start : start + _INT_CHUNK]
        value = (value * 10 ** len(chunk) + int(chunk)) & _UINT64_MASK
    return value
