"""Tests of apk version validation and ordering against apk-tools' own vectors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardbase.errors import InputError
from hardbase.versions import ApkVersion, compare_apk, is_valid_apk, match_apk, parse_apk

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
VECTORS = (REPOSITORY_ROOT / ".." / "shared" / "data" / "vectors" / "apk-version.data").resolve()
PLAIN_SIGNS = {"<": -1, "=": 0, ">": 1}


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


def check_vector_line(line: str) -> str | None:
    """Check one line of apk-tools' version.data, the way its unit test reads it.

    A line is "version" (must be valid), "!version" (must be invalid),
    "a op b" (must be true) or "a !op b" (must be false). Text after "#" is a
    comment. Returns None when the line passes, else a description of the failure.
    """
    text = line.split("#", 1)[0].strip()
    if not text:
        return None

    first, _, rest = text.partition(" ")
    operator, _, second = rest.partition(" ")
    if not (rest and second):
        negated = text.startswith("!")
        version = text[1:] if negated else text
        if is_valid_apk(version) == negated:
            return f"is_valid_apk({version!r}) is {not negated}"
        return None

    negated = operator.startswith("!")
    operator = operator.removeprefix("!")
    if match_apk(first, operator, second) == negated:
        return f"match_apk({first!r}, {operator!r}, {second!r}) is {not negated}"
    if not negated and operator in PLAIN_SIGNS:
        got = sign(compare_apk(first, second))
        if got != PLAIN_SIGNS[operator]:
            return f"compare_apk({first!r}, {second!r}) is {got}"
        if sign(compare_apk(second, first)) != -got:
            return f"compare_apk({second!r}, {first!r}) is not {-got}"
    return None


@pytest.fixture(scope="module")
def vector_lines() -> list[str]:
    if not VECTORS.is_file():
        pytest.skip(
            f"apk-tools version vectors not found at {VECTORS}: "
            "they come from the shared folder beside the repository"
        )
    return VECTORS.read_text(encoding="utf-8").split("\n")


def test_apk_tools_vectors(vector_lines: list[str]) -> None:
    failures: list[str] = []
    checked = 0
    for number, line in enumerate(vector_lines, start=1):
        if not line.split("#", 1)[0].strip():
            continue
        checked += 1
        problem = check_vector_line(line)
        if problem:
            failures.append(f"line {number}: {line.strip()!r}: {problem}")

    assert checked > 700
    assert not failures, f"{len(failures)} of {checked} lines fail:\n" + "\n".join(failures)


def test_vectors_include_invalid_string_sort(vector_lines: list[str]) -> None:
    assert any(line.startswith("1.0 < 1.0bc") for line in vector_lines)


def test_vector_checker_catches_wrong_lines() -> None:
    assert check_vector_line("1.0 < 1.0_rc1") is not None
    assert check_vector_line("1.0 !< 1.1") is not None
    assert check_vector_line("1.2.3.r0") is not None
    assert check_vector_line("!1.2.3") is not None


# Targeted cases.

ORDERED_CASES = [
    ("1.0_rc1", "1.0"),  # pre-release suffixes sort before the release
    ("1.0", "1.0_p1"),  # post-release suffixes sort after it
    ("1.0-r0", "1.0-r1"),
    ("1.0", "1.0-r0"),
    ("1.0_alpha", "1.0_beta"),
    ("1.0_beta", "1.0_pre"),
    ("1.0_pre", "1.0_rc"),
    ("1.0_cvs", "1.0_svn"),
    ("1.0_svn", "1.0_git"),
    ("1.0_git", "1.0_hg"),
    ("1.0_hg", "1.0_p"),
    ("1.0_rc1", "1.0_rc2"),
    ("1.0_rc", "1.0_rc1"),
    ("1.0_alpha_pre2", "1.0_alpha"),
    ("1.0_p1", "1.0_p1_p1"),
    ("1.0", "1.0a"),
    ("1.0a", "1.0b"),
    ("1.0a", "1.0.1"),  # another number beats a letter
    ("1.0", "1.0.0"),
    ("1.9", "1.10"),
    ("1.001", "1.01"),  # a number after a dot with a leading zero sorts as a string
    ("1.01", "1.1"),
    ("8.2.0", "8.2.001"),
    ("9", "10"),  # the first number always sorts as a number
    ("1.0~1234", "1.0~2345"),
    ("1.0", "1.0~abc"),
    ("1.0~abc", "1.0~abc-r1"),
    ("1.0-r1", "1.0~abc"),  # where the kinds differ, the lower kind wins
    ("1.0", "1.0bc"),  # invalid at "c", so apk stops comparing there
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED_CASES)
def test_compare_ordered_pairs(lower: str, higher: str) -> None:
    assert compare_apk(lower, higher) == -1
    assert compare_apk(higher, lower) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.0", "1.0"), ("01", "1"), ("1.0_p01", "1.0_p1"), ("1.0-r01", "1.0-r1")],
)
def test_compare_equal_pairs(a: str, b: str) -> None:
    assert compare_apk(a, b) == 0
    assert compare_apk(b, a) == 0


def test_compare_invalid_versions() -> None:
    assert compare_apk("foo", "bar") == 0  # both invalid at the first token
    assert compare_apk("", "1") == -1
    assert compare_apk("1.0bc", "1.0b_alpha") == 1  # invalid sorts after a pre-release


def test_numbers_wrap_like_uint64() -> None:
    assert compare_apk(str(2**64), "0") == 0
    assert compare_apk(str(2**64 + 5), "5") == 0
    assert compare_apk("1" + "0" * 5000, "0") == 0  # 10**5000 is a multiple of 2**64


@pytest.mark.parametrize(
    "text",
    ["1", "0.1_pre2", "0.1_pre2~1234abcd", "0.1_p1_pre2", "1.2.3b_rc1_p2~1a2b3c-r4", "1-r0"],
)
def test_valid_versions(text: str) -> None:
    assert is_valid_apk(text)
    assert str(parse_apk(text)) == text


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("1.2.3.r0", ".r0"),
        ("", ""),
        ("a", "a"),
        ("1.0bc", "c"),
        ("0.1a1", "1"),
        ("0.1_foobar", "_foobar"),
        ("0.1-r", "-r"),
        ("0.1-r2-r3", "-r3"),
        ("0.1_pre2~", "~"),
        ("0.1_pre2~ABCD", "~ABCD"),  # commit ids are lowercase hexadecimal
        ("1.0 ", " "),
        ("1.0\x00", "\x00"),
        ("1.0-1", "-1"),
    ],
)
def test_invalid_versions(text: str, rest: str) -> None:
    assert not is_valid_apk(text)
    with pytest.raises(InputError) as caught:
        parse_apk(text)
    assert f"cannot parse {rest!r}" in str(caught.value)


def test_parse_splits_parts() -> None:
    parsed = parse_apk("1.02.3b_rc1_p~1a2b3c-r4")

    assert parsed == ApkVersion(
        components=("1", "02", "3"),
        letter="b",
        suffixes=(("rc", "1"), ("p", "")),
        commit_hash="1a2b3c",
        pkgrel="4",
    )


@pytest.mark.parametrize(
    ("a", "operator", "b", "expected"),
    [
        ("3.6.9", "~", "3.6", True),
        ("3.6_pre1", "~", "3.6", True),
        ("3.8", "~", "3.8.1", False),
        ("3.5", "<~", "3.6", True),
        ("3.6.1", "<~", "3.6", True),
        ("3.7", ">~", "3.6", True),
        ("3.6", "<=", "3.6", True),
        ("3.6", ">=", "3.6-r1", False),
        ("3.6", "=", "3.6-r0", False),
        ("1", "<=>~", "2", True),
    ],
)
def test_match_operators(a: str, operator: str, b: str, expected: bool) -> None:
    assert match_apk(a, operator, b) is expected


@pytest.mark.parametrize("operator", ["", "!=", "<x", " <"])
def test_match_rejects_operator(operator: str) -> None:
    with pytest.raises(InputError, match="invalid apk version operator"):
        match_apk("1", operator, "2")


# Properties, on valid versions with numbers small enough not to wrap.

SUFFIXES = ["_alpha", "_rc1", "_rc2", "_p", "_p1", "_git2024", "_pre"]
numbers = st.sampled_from(["0", "1", "2", "9", "10", "01", "001", "20240101"])
valid_versions = st.builds(
    lambda first, rest, letter, suffixes, commit, pkgrel: (
        first + "".join(f".{n}" for n in rest) + letter + "".join(suffixes) + commit + pkgrel
    ),
    numbers,
    st.lists(numbers, max_size=3),
    st.sampled_from(["", "", "a", "z"]),
    st.lists(
        st.sampled_from(["_alpha", "_rc1", "_rc2", "_p", "_p1", "_git2024", "_pre"]), max_size=2
    ),
    st.sampled_from(["", "", "~abc", "~0f"]),
    st.sampled_from(["", "-r0", "-r1", "-r10"]),
)


@given(valid_versions)
def test_generated_versions_are_valid(a: str) -> None:
    assert is_valid_apk(a)
    assert str(parse_apk(a)) == a


@given(valid_versions, valid_versions)
def test_compare_is_antisymmetric(a: str, b: str) -> None:
    assert compare_apk(a, b) == -compare_apk(b, a)


@given(valid_versions, valid_versions, valid_versions)
def test_compare_is_transitive(a: str, b: str, c: str) -> None:
    for x, y, z in itertools.permutations((a, b, c)):
        if compare_apk(x, y) <= 0 and compare_apk(y, z) <= 0:
            assert compare_apk(x, z) <= 0
