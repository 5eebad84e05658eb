"""Row verdicts on hand-made facts: ties, ratios, counts by state, and escaping in Markdown."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from hardbase.compare.model import (
    FileIntegrity,
    ImageFacts,
    IndexProvenance,
    LibcFacts,
    PendingFacts,
    SizeFacts,
    SupportFacts,
    UserFacts,
    VulnerabilityFacts,
)
from hardbase.compare.render_json import render_json
from hardbase.compare.render_markdown import render_markdown
from hardbase.compare.rows import build_comparison, format_bytes

TODAY = dt.date(2026, 1, 1)


def facts(label: str, **changes: object) -> ImageFacts:
    base = ImageFacts(
        label=label,
        reference=f"tar:/{label}.tar",
        distro="Debian GNU/Linux 12 (bookworm)",
        distro_id="debian",
        ecosystem="deb",
        sizes=SizeFacts(100 * 1024 * 1024, 30 * 1024 * 1024, "gzip", 1, "layer blobs"),
        packages=("base-files", "libc6"),
        libc=LibcFacts("glibc", "2.36", "package libc6 2.36-9"),
        user=UserFacts("1000", False, 0, 0, (), (), ()),
        vulnerabilities=VulnerabilityFacts(True, "", {}),
        pending=PendingFacts(True, ""),
        support=SupportFacts(True, "Debian 12 (bookworm)", "2023-06-10", "2026-07-11"),
        index=IndexProvenance(True, "", found=2, suites=("bookworm",)),
        files=FileIntegrity(True, "", "md5", matched=10),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(3 * 1024 * 1024 + 300 * 1024) == "3.3 MiB"


def test_equal_sizes_have_no_winner() -> None:
    comparison = build_comparison([facts("a"), facts("b")], TODAY)
    row = comparison.row("size-unpacked")
    assert row.best == ()
    assert row.verdict == "all the same size"


def test_small_difference_in_percent() -> None:
    smaller = replace(facts("a").sizes, unpacked_bytes=75 * 1024 * 1024)
    comparison = build_comparison([facts("a", sizes=smaller), facts("b")], TODAY)
    assert comparison.row("size-unpacked").verdict == "a is 25% smaller than b"


def test_vulnerability_cell_by_state() -> None:
    counts = {"fix-available": {"high": 1, "medium": 2}, "no-fix": {"low": 4}}
    vulnerable = facts("a", vulnerabilities=VulnerabilityFacts(True, "", counts))
    comparison = build_comparison([vulnerable, facts("b")], TODAY)
    row = comparison.row("vulnerabilities")
    assert row.values[0] == "7: fix-available 3 (high 1, medium 2); no-fix 4 (low 4)"
    assert row.values[1] == "0"
    assert row.best == (1,)
    assert row.verdict == "b has the fewest reported vulnerabilities (0)"


def test_plural_verdict_for_two_winners() -> None:
    shell = replace(facts("c").user, shells=("/bin/sh",))
    comparison = build_comparison([facts("a"), facts("b"), facts("c", user=shell)], TODAY)
    assert comparison.row("shells").verdict == "a, b have no shell"


def test_markdown_escapes_pipes() -> None:
    comparison = build_comparison([facts("a|b"), facts("c")], TODAY)
    text = render_markdown(comparison)
    assert "| a\\|b | c | verdict |" in text


def test_json_rows_keyed_by_label() -> None:
    comparison = build_comparison([facts("a"), facts("b")], TODAY)
    document = json.loads(render_json(comparison))
    packages = next(row for row in document["rows"] if row["key"] == "packages")
    assert packages["values"] == {"a": "2 deb", "b": "2 deb"}
    assert document["generated"] == "2026-01-01"


def test_hostile_label_cleaned() -> None:
    from hardbase.compare.collect import clean_label

    assert clean_label("evil\x1b]0;title\x07name\n") == "evil]0;titlename"
    assert clean_label("\x1b\x07") == "image"
    assert len(clean_label("x" * 200)) == 64


def test_table_prints_markup_label_verbatim() -> None:
    from hardbase.compare.render_table import render_table

    comparison = build_comparison([facts("[/bold]x"), facts("b")], TODAY)
    text = render_table(comparison, width=200)
    assert "[/bold]x" in text
