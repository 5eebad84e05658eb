"""Tests of Debian version parsing and ordering against apt_pkg and dpkg itself."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardbase.errors import InputError
from hardbase.versions import DpkgVersion, compare_dpkg, is_valid_dpkg, parse_dpkg

SYSTEM_PYTHON = Path("/usr/bin/python3")
SEED = 20240501
ORACLE_PAIRS = 100_000
DPKG_PAIRS = 400
DPKG_SYNTAX_CASES = 400

# Reads [[a, b], ...] as JSON on stdin and writes the sign of
# apt_pkg.version_compare(a, b) for each pair as a JSON list.
APT_ORACLE = """
import json, sys
import apt_pkg
apt_pkg.init_system()
pairs = json.load(sys.stdin)
signs = []
for a, b in pairs:
    r = apt_pkg.version_compare(a, b)
    signs.append((r > 0) - (r < 0))
json.dump(signs, sys.stdout)
"""

# Reads "a b" lines on stdin and prints -1, 0 or 1 per line from dpkg.
DPKG_COMPARE_LOOP = """
while read -r a b; do
  if dpkg --compare-versions "$a" lt "$b"; then echo -1
  elif dpkg --compare-versions "$a" eq "$b"; then echo 0
  else echo 1
  fi
done
"""

# Reads one version per line and prints dpkg's exit status and its messages,
# comparing each version with "0" so that only the second version is reported.
DPKG_SYNTAX_LOOP = """
while IFS= read -r v; do
  out=$(dpkg --compare-versions 0 eq "$v" 2>&1)
  printf '%s\\t%s\\n' "$?" "$(printf '%s' "$out" | tr '\\n' ' ')"
done
"""


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


# Generation of realistic and awkward Debian versions.

NUMBERS = ["0", "1", "2", "9", "10", "11", "00", "01", "010", "20240101", "123456789"]
WORDS = ["a", "b", "z", "A", "Z", "rc", "dfsg", "git", "really", "ds", "beta", "ubuntu"]
SEPARATORS = [".", ".", ".", "+", "~", ""]
UPSTREAM_TAILS = ["~rc1", "~beta2", "~~", "~", "+dfsg", "+git20230101", "+really1"]
REVISION_TAILS = ["+b1", "+b2", "+deb12u1", "+deb11u3", "~bpo11+1", "~bpo12+2", ".1", ".2", "~"]


def long_number(rng: random.Random) -> str:
    """Return a number longer than 64 bits, sometimes with leading zeros."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(20, 60)))
    return rng.choice(["", "0", "000"]) + digits


def random_upstream(rng: random.Random) -> str:
    pieces = [rng.choice(NUMBERS) if rng.random() < 0.97 else long_number(rng)]
    for _ in range(rng.randint(0, 4)):
        pieces.append(rng.choice(SEPARATORS))
        if rng.random() < 0.25:
            pieces.append(rng.choice(WORDS))
        if rng.random() < 0.8:
            pieces.append(rng.choice(NUMBERS) if rng.random() < 0.97 else long_number(rng))
    if rng.random() < 0.15:
        pieces.append(
            rng.choice(["~rc1", "~beta2", "~~", "~", "+dfsg", "+git20230101", "+really1"])
        )
    return "".join(pieces)


def random_revision(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return ""
    revision = rng.choice(["0", "1", "2", "3", "10", "1.1", "3.1", "0.1", "1ubuntu1", "1a"])
    while rng.random() < 0.4:
        revision += rng.choice(REVISION_TAILS)
    return revision


def random_version(rng: random.Random) -> str:
    roll = rng.random()
    epoch = ""
    if roll < 0.15:
        epoch = rng.choice(["0", "1", "2", "01", "10"]) + ":"
    upstream = random_upstream(rng)
    revision = random_revision(rng)
    if epoch and rng.random() < 0.1:
        upstream += ":" + rng.choice(NUMBERS)  # a colon after an epoch is part of upstream
    if revision and rng.random() < 0.1:
        upstream += "-" + rng.choice(NUMBERS)  # a hyphen before the last one is part of upstream
    return epoch + upstream + (f"-{revision}" if revision else "")


def mutate(rng: random.Random, version: str) -> str:
    """Return a version close to ``version``, so that pairs differ in one detail."""
    choice = rng.randrange(8)
    if choice == 0:
        return version + rng.choice(["~", "~rc1", "+b1", "+deb12u1", "~bpo12+1", ".0", "a", "0"])
    if choice == 1:
        return version[:-1] if len(version) > 1 and version[-2] not in "-:" else version
    if choice == 2:
        return rng.choice(["1:", "0:", "2:"]) + version if ":" not in version else version
    if choice == 3:
        return version + "-" + random_revision(rng) if "-" not in version else version + ".1"
    if choice == 4:
        index = rng.randrange(len(version))
        if version[index].isdigit():
            return version[:index] + rng.choice("0123456789") + version[index + 1 :]
        return version
    if choice == 5:
        return version.replace(".", rng.choice(["~", "+", "."]), 1)
    if choice == 6:
        return version.replace("0", "00", 1)
    return version


def random_pairs(rng: random.Random, count: int) -> list[tuple[str, str]]:
    pool = [random_version(rng) for _ in range(500)]
    pairs: list[tuple[str, str]] = []
    while len(pairs) < count:
        roll = rng.random()
        if roll < 0.5:
            base = random_version(rng)
            other = mutate(rng, base)
        elif roll < 0.8:
            base, other = random_version(rng), random_version(rng)
        else:
            base, other = rng.choice(pool), rng.choice(pool)
        if is_valid_dpkg(base) and is_valid_dpkg(other):
            pairs.append((base, other))
    return pairs


# Oracles.


@pytest.fixture(scope="module")
def apt_oracle_available() -> None:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"{SYSTEM_PYTHON} is missing, so the apt_pkg oracle cannot run")
    probe = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import apt_pkg"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"{SYSTEM_PYTHON} cannot import apt_pkg: install python3-apt to run the oracle")


def apt_compare_signs(pairs: list[tuple[str, str]]) -> list[int]:
    result = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", APT_ORACLE],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    signs: list[int] = json.loads(result.stdout)
    return signs


def require_dpkg() -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is not on PATH, so the reference implementation cannot run")


def format_mismatches(mismatches: list[str], total: int) -> str:
    first_lines = "\n".join(mismatches[:30])
    return f"{len(mismatches)} of {total} cases disagree, the first ones:\n{first_lines}"


def test_pair_generation_is_deterministic() -> None:
    first = random_pairs(random.Random(SEED), 200)
    second = random_pairs(random.Random(SEED), 200)
    assert first == second


@pytest.fixture(scope="module")
def oracle_pairs() -> list[tuple[str, str]]:
    return random_pairs(random.Random(SEED), ORACLE_PAIRS)


@pytest.mark.usefixtures("apt_oracle_available")
def test_compare_matches_apt_pkg(oracle_pairs: list[tuple[str, str]]) -> None:
    pairs = oracle_pairs
    started = time.perf_counter()
    expected = apt_compare_signs(pairs)
    oracle_seconds = time.perf_counter() - started
    started = time.perf_counter()
    actual = [sign(compare_dpkg(a, b)) for a, b in pairs]
    ours_seconds = time.perf_counter() - started
    print(f"apt_pkg: {oracle_seconds:.2f} s, compare_dpkg: {ours_seconds:.2f} s")

    assert len(expected) == len(pairs)
    mismatches = [
        f"{a!r} vs {b!r}: apt_pkg {want}, compare_dpkg {got}"
        for (a, b), want, got in zip(pairs, expected, actual, strict=True)
        if want != got
    ]
    assert not mismatches, format_mismatches(mismatches, len(pairs))


def test_oracle_pairs_cover_hard_cases(oracle_pairs: list[tuple[str, str]]) -> None:
    pairs = oracle_pairs
    versions = {version for pair in pairs for version in pair}
    equal_pairs = sum(1 for a, b in pairs if compare_dpkg(a, b) == 0)

    assert any(":" in v for v in versions)
    assert any("~" in v for v in versions)
    assert any("+b1" in v for v in versions)
    assert any("+deb12u1" in v for v in versions)
    assert any("~bpo" in v for v in versions)
    assert any(parse_dpkg(v).revision.count(".") for v in versions)
    assert any(parse_dpkg(v).upstream[:1].isupper() or "Z" in v for v in versions)
    assert any(len(max(v.split("."), key=len)) > 20 for v in versions)
    assert equal_pairs > 1000


def test_compare_matches_dpkg() -> None:
    require_dpkg()
    pairs = random_pairs(random.Random(SEED + 1), DPKG_PAIRS)
    result = subprocess.run(
        ["sh", "-c", DPKG_COMPARE_LOOP],
        input="".join(f"{a} {b}\n" for a, b in pairs),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    expected = [int(line) for line in result.stdout.split()]

    assert len(expected) == len(pairs)
    mismatches = [
        f"{a!r} vs {b!r}: dpkg {want}, compare_dpkg {sign(compare_dpkg(a, b))}"
        for (a, b), want in zip(pairs, expected, strict=True)
        if sign(compare_dpkg(a, b)) != want
    ]
    assert not mismatches, format_mismatches(mismatches, len(pairs))


def random_syntax_case(rng: random.Random) -> str:
    alphabet = "0123456789.+~-:ab \t_!\v"
    if rng.random() < 0.5:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
    pieces = [rng.choice(["", " ", "\t", "+", "-", "\v", "x"]), rng.choice(["", "1", "01", "-0"])]
    pieces += [rng.choice([":", "", "::"]), rng.choice(["", "1.0", "a1", "1_0", "1 0"])]
    pieces += [
        rng.choice(["", "-", "-1", "-1.1", "-1_1", "-a", "-1-2"]),
        rng.choice(["", " ", "\t"]),
    ]
    return "".join(pieces)


def test_validity_matches_dpkg() -> None:
    require_dpkg()
    rng = random.Random(SEED + 2)
    cases = sorted({random_syntax_case(rng) for _ in range(DPKG_SYNTAX_CASES)})
    result = subprocess.run(
        ["sh", "-c", DPKG_SYNTAX_LOOP],
        input="".join(f"{case}\n" for case in cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    # str.splitlines() would also split at the \v and \f in some cases.
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == len(cases)

    checked = 0
    mismatches: list[str] = []
    for case, line in zip(cases, lines, strict=True):
        status, _, message = line.partition("\t")
        if case == "":
            continue  # dpkg --compare-versions reads an empty argument as "no version"
        if "does not start with digit" in message:
            continue  # dpkg stops at this warning and does not check the characters
        dpkg_accepts = status in ("0", "1") and "bad syntax" not in message
        checked += 1
        if is_valid_dpkg(case) != dpkg_accepts:
            mismatches.append(f"{case!r}: dpkg status {status} {message!r}")

    assert checked > 100
    assert not mismatches, format_mismatches(mismatches, checked)


# Targeted cases. Each expected result is what dpkg --compare-versions 1.21.22
# reports, except where a comment says otherwise.

ORDERED_CASES = [
    ("1.0~rc1", "1.0"),  # '~' sorts before the end of the string
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0", "1.0+b1"),  # binNMU
    ("1.0-1", "1.0-1+b1"),
    ("2.36-9", "2.36-9+deb12u1"),  # stable update
    ("2.36-9+deb12u1", "2.36-9+deb12u2"),
    ("1.2-3~bpo11+1", "1.2-3"),  # backport sorts below the version it backports
    ("1.2-3", "1.2-3.1"),  # non-maintainer upload
    ("1.2-3.1", "1.2-4"),
    ("2.0", "1:1.0"),  # epoch wins over everything after it
    ("1:9.9", "2:0.1"),
    ("1.0", "1.0a"),
    ("1.0a", "1.0b"),
    ("1.0Z", "1.0a"),  # letters compare by ASCII code
    ("1.0a", "1.0+"),  # letters sort before non-letters
    ("1.0+", "1.0.1"),
    ("1.9", "1.10"),  # numbers compare as integers
    ("1.0", "1.0.0"),
    ("99999999999999999999", "100000000000000000000"),
    ("1.0-0~", "1.0"),
    ("1.2+really1.1", "1.3"),
]

EQUAL_CASES = [
    ("1.0", "0:1.0"),
    ("1.0", "1.0-0"),
    ("1.0", "1.00"),
    ("1.01", "1.1"),
    ("00001:1.0", "1:1.0"),
    ("1.0a0", "1.0a"),
    (" 1.0", "1.0\t"),
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED_CASES)
def test_compare_ordered_pairs(lower: str, higher: str) -> None:
    assert compare_dpkg(lower, higher) < 0
    assert compare_dpkg(higher, lower) > 0


@pytest.mark.parametrize(("a", "b"), EQUAL_CASES)
def test_compare_equal_pairs(a: str, b: str) -> None:
    assert compare_dpkg(a, b) == 0
    assert compare_dpkg(b, a) == 0


def test_epoch_beats_upstream() -> None:
    assert compare_dpkg("1:1.0", "2.0") > 0


def test_tilde_sorts_before_release() -> None:
    assert compare_dpkg("1.0~beta1", "1.0") < 0
    assert compare_dpkg("1.0~beta1", "1.0~") > 0


def test_long_numbers_compare_exactly() -> None:
    big = "1" + "0" * 5000
    assert compare_dpkg(big, big + "1") < 0
    assert compare_dpkg("0" * 5000 + "7", "7") == 0
    assert compare_dpkg(f"1.{big[:-1]}9", f"1.{big}") > 0


PARSE_CASES = [
    ("1.0", DpkgVersion(0, "1.0", "")),
    ("1:2.36-9+deb12u4", DpkgVersion(1, "2.36", "9+deb12u4")),
    ("1:2:3-4-5", DpkgVersion(1, "2:3-4", "5")),  # first colon, last hyphen
    ("  1.0-1\t ", DpkgVersion(0, "1.0", "1")),
    ("+1:1.0", DpkgVersion(1, "1.0", "")),  # dpkg reads the epoch with strtol()
    ("-0:1.0", DpkgVersion(0, "1.0", "")),
    ("\v2:1.0", DpkgVersion(2, "1.0", "")),
    ("a1.0", DpkgVersion(0, "a1.0", "")),  # dpkg only warns about a non-digit start
    ("2147483647:1", DpkgVersion(2147483647, "1", "")),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parse_valid_versions(text: str, expected: DpkgVersion) -> None:
    assert parse_dpkg(text) == expected


INVALID_CASES = [
    ("", "version string is empty"),
    (" \t", "version string is empty"),
    ("1 0", "embedded spaces"),
    (":1.0", "epoch in version is empty"),
    ("a:1.0", "epoch in version is empty"),
    ("1a:1.0", "epoch in version is not number"),
    ("-1:1.0", "epoch in version is negative"),
    ("2147483648:1.0", "epoch in version is too big"),
    ("9" * 5000 + ":1.0", "epoch in version is too big"),
    ("1:", "nothing after colon"),
    ("1.0-", "revision number is empty"),
    ("-1", "version number is empty"),
    ("1:-1", "version number is empty"),
    # dpkg reports the remaining cases only as warnings, but parse_dpkg rejects them.
    ("1_0", "invalid character in version number"),
    ("1.0é", "invalid character in version number"),
    ("1.0\n", "invalid character in version number"),
    ("1:a_1", "invalid character in version number"),  # dpkg warns only about the "a"
    ("1.0-1_0", "invalid character in revision number"),
    ("1:1.0-1:0", "invalid character in revision number"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID_CASES)
def test_parse_rejects_invalid(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_dpkg(text)
    assert not is_valid_dpkg(text)


def test_compare_rejects_invalid() -> None:
    with pytest.raises(InputError, match="revision number is empty"):
        compare_dpkg("1.0-", "1.0")


def test_error_names_version() -> None:
    with pytest.raises(InputError) as caught:
        parse_dpkg("1.0-1_0")
    assert "'1.0-1_0'" in str(caught.value)
    assert caught.value.hint is not None


@pytest.mark.parametrize("text", ["1.0", "1:2.36-9+deb12u4", "1:2:3-4-5", "1.0~rc1-0"])
def test_str_round_trips(text: str) -> None:
    assert str(parse_dpkg(text)) == text


# Properties.

version_strategy = st.builds(
    lambda seed: random_version(random.Random(seed)), st.integers(min_value=0)
).filter(is_valid_dpkg)
small_parts = st.lists(
    st.sampled_from(["0", "1", "01", "10", ".", "+", "~", "a", "Z"]), min_size=1, max_size=6
)
close_version_strategy = st.builds(
    lambda epoch, upstream, revision: epoch + "1" + "".join(upstream) + revision,
    st.sampled_from(["", "0:", "1:"]),
    small_parts,
    st.sampled_from(["", "-0", "-1", "-1~", "-1+b1", "-1.1"]),
).filter(is_valid_dpkg)
any_version = st.one_of(version_strategy, close_version_strategy)


@given(any_version, any_version)
def test_compare_is_antisymmetric(a: str, b: str) -> None:
    assert sign(compare_dpkg(a, b)) == -sign(compare_dpkg(b, a))


@given(any_version)
def test_compare_is_reflexive(a: str) -> None:
    assert compare_dpkg(a, a) == 0


@given(any_version, any_version, any_version)
def test_compare_is_transitive(a: str, b: str, c: str) -> None:
    for x, y, z in itertools.permutations((a, b, c)):
        if compare_dpkg(x, y) <= 0 and compare_dpkg(y, z) <= 0:
            assert compare_dpkg(x, z) <= 0


@given(any_version)
def test_str_compares_equal(a: str) -> None:
    assert compare_dpkg(str(parse_dpkg(a)), a) == 0
