"""Debian package versions: parsing and ordering as dpkg does them.

A Debian version is ``[epoch:]upstream[-revision]``. Ordering matches
``dpkg --compare-versions`` (dpkg 1.21.22) and ``apt_pkg.version_compare``
from python3-apt, which the tests use as references. Validation raises on what
dpkg reports as an error, and also on characters that dpkg only warns about.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

from hardbase.errors import InputError

__all__ = ["DpkgVersion", "compare_dpkg", "is_valid_dpkg", "parse_dpkg"]

# dpkg trims only blanks (space and tab) around a version. Any other whitespace
# is an invalid character, except before the epoch digits, where strtol() skips
# every C-locale space character.
_BLANKS = " \t"
_C_SPACES = " \t\n\v\f\r"

_ALNUM = frozenset(string.ascii_letters + string.digits)
_UPSTREAM_CHARS = _ALNUM | frozenset(".+~-:")
_REVISION_CHARS = _ALNUM | frozenset(".+~")
_EPOCH_MAX = 2**31 - 1  # dpkg stores the epoch in a C int.

# Weight of each character outside a digit run, as dpkg's order() assigns it.
# Letters sort before all other characters. '~' sorts below 0, which is the
# weight of the end of a run, so "1.0~rc1" sorts before "1.0".
_WEIGHTS: dict[str, int] = {letter: ord(letter) for letter in string.ascii_letters}
_WEIGHTS["~"] = -1
_WEIGHTS.update({symbol: ord(symbol) + 256 for symbol in ".+-:"})

_DIGIT_RUNS = re.compile(r"([0-9]+)")
_BLANK = re.compile(r"[ \t]")

# A number is keyed as (digit count, digits) after stripping leading zeros, so
# tuple comparison orders numbers of any length without converting them to int.
_NumberKey = tuple[int, str]
_Segment = tuple[tuple[int, ...], _NumberKey]
_PartKey = tuple[_Segment | tuple[tuple[int, ...]], ...]
_VersionKey = tuple[int, _PartKey, _PartKey]

_ZERO: _NumberKey = (0, "")
_EMPTY_RUN: tuple[int, ...] = (0,)
# Appended to every part key. It stands for the end of the string, which dpkg
# compares as weight 0 against the other string's next non-digit character.
_END: tuple[tuple[int, ...]] = (_EMPTY_RUN,)

_FORMAT_HINT = "write it as [epoch:]upstream[-revision], for example '1:2.36-9+deb12u4'"


@dataclass(frozen=True, slots=True)
class DpkgVersion:
    """A parsed Debian version. Compare instances with `compare_dpkg` on their strings."""

    epoch: int
    """Epoch before the first colon, 0 when the version has none."""
    upstream: str
    """Upstream version: the text after the epoch and before the last hyphen."""
    revision: str
    """Debian revision after the last hyphen, empty when the version has none."""

    def __str__(self) -> str:
        text = self.upstream
        if self.epoch or ":" in self.upstream:
            text = f"{self.epoch}:{text}"
        if self.revision:
            text = f"{text}-{self.revision}"
        return text


def parse_dpkg(version: str) -> DpkgVersion:
    """Parse a Debian version string into its epoch, upstream version and revision.

    Leading and trailing blanks are ignored, as dpkg ignores them. An upstream
    version that does not start with a digit is accepted, because dpkg only
    warns about it.

    Raises:
        InputError: when dpkg reports the version as an error, such as an
            empty version, embedded blanks, a bad epoch or an empty upstream
            version or revision. Also when the version contains a character
            outside the allowed set, which dpkg reports as a warning. The
            allowed set is ASCII letters, digits and ``.+~-:`` in the upstream
            version, and ASCII letters, digits and ``.+~`` in the revision.
    """
    return _parse(version)[0]


def is_valid_dpkg(version: str) -> bool:
    """Return whether `parse_dpkg` accepts the version."""
    try:
        _parse(version)
    except InputError:
        return False
    return True


def compare_dpkg(a: str, b: str) -> int:
    """Compare two Debian versions the way ``dpkg --compare-versions`` does.

    Returns a negative number when ``a`` sorts before ``b``, zero when they are
    equal in ordering (``1.0``, ``0:1.0`` and ``1.0-0`` are equal) and a positive
    number when ``a`` sorts after ``b``.

    Raises:
        InputError: when either version is invalid, as in `parse_dpkg`. This
            includes the empty string, which ``dpkg --compare-versions`` reads
            as "no version" and sorts before every version.
    """
    key_a = _parse(a)[1]
    key_b = _parse(b)[1]
    return (key_a > key_b) - (key_a < key_b)


# Bounded so that a long-running process which parses many distinct versions
# does not grow without limit. Invalid versions raise and are not cached.
@functools.lru_cache(maxsize=1 << 16)
def _parse(version: str) -> tuple[DpkgVersion, _VersionKey]:
    parsed = _split(version)
    key = (parsed.epoch, _part_key(parsed.upstream), _part_key(parsed.revision))
    return parsed, key


def _split(version: str) -> DpkgVersion:
    text = version.lstrip(_BLANKS)
    if not text:
        raise _invalid(version, "version string is empty")

    blank = _BLANK.search(text)
    end = blank.start() if blank else len(text)
    if text[end:].strip(_BLANKS):
        raise _invalid(version, "version string has embedded spaces")

    epoch = 0
    start = 0
    colon = text.find(":")
    if colon >= 0:
        epoch = _parse_epoch(version, text[:colon])
        if colon + 1 == len(text):
            raise _invalid(version, "nothing after colon in version number")
        start = colon + 1

    upstream = text[start:end]
    revision = ""
    hyphen = upstream.rfind("-")
    if hyphen >= 0:
        upstream, revision = upstream[:hyphen], upstream[hyphen + 1 :]
        if not revision:
            raise _invalid(version, "revision number is empty")

    if not upstream:
        raise _invalid(version, "version number is empty")
    if not _UPSTREAM_CHARS.issuperset(upstream):
        raise _invalid(version, "invalid character in version number")
    if not _REVISION_CHARS.issuperset(revision):
        raise _invalid(version, "invalid character in revision number")
    return DpkgVersion(epoch=epoch, upstream=upstream, revision=revision)


def _parse_epoch(version: str, text: str) -> int:
    # dpkg reads the epoch with strtol(), which accepts leading whitespace and
    # a sign, so "+1:2.0" is valid and "-0:2.0" has epoch 0.
    digits = text.lstrip(_C_SPACES)
    negative = digits.startswith("-")
    if digits[:1] in ("+", "-"):
        digits = digits[1:]

    count = len(digits) - len(digits.lstrip(string.digits))
    if count == 0:
        raise _invalid(version, "epoch in version is empty")
    if count != len(digits):
        raise _invalid(version, "epoch in version is not number")

    # Strip zeros first so that a long run of them cannot reach int()'s
    # limit on the number of digits.
    significant = digits.lstrip("0")
    if negative and significant:
        raise _invalid(version, "epoch in version is negative")
    if len(significant) > 10 or int(significant or "0") > _EPOCH_MAX:
        raise _invalid(version, "epoch in version is too big")
    return int(significant or "0")


def _part_key(part: str) -> _PartKey:
    """Build the sort key of an upstream version or revision.

    The key is a sequence of (non-digit run, number) segments followed by
    `_END`. Every part has a first segment, even an empty one, and every later
    segment starts with a non-empty run. So a shorter part is decided against
    the other part's next segment at `_END`, as dpkg compares the end of a
    string as weight 0 with the other string's next character.
    """
    pieces = _DIGIT_RUNS.split(part)
    segments: list[_Segment | tuple[tuple[int, ...]]] = []
    for index in range(0, len(pieces) - 1, 2):
        segments.append((_run_key(pieces[index]), _number_key(pieces[index + 1])))
    if pieces[-1] or not segments:
        segments.append((_run_key(pieces[-1]), _ZERO))
    segments.append(_END)
    return tuple(segments)


def _run_key(run: str) -> tuple[int, ...]:
    # The trailing 0 is the weight of the end of the run.
    return (*map(_WEIGHTS.__getitem__, run), 0)


def _number_key(digits: str) -> _NumberKey:
    significant = digits.lstrip("0")
    return (len(significant), significant)


def _invalid(version: str, reason: str) -> InputError:
    return InputError(f"invalid Debian version {version!r}: {reason}", hint=_FORMAT_HINT)
