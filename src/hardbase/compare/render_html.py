"""Render a comparison as one self-contained HTML page with inline CSS and SVG charts.

The page loads nothing at view time: no scripts, fonts, style sheets or
images from elsewhere. Charts are horizontal bar charts drawn as SVG by
this module. Each chart has an ``id`` (``chart-size``, ``chart-packages``,
``chart-vulnerabilities``, ``chart-pending``) and each table column a
``data-image`` attribute, so tests and scripts can find them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from hardbase.compare.model import Comparison
from hardbase.compare.render_table import footnotes
from hardbase.compare.rows import format_bytes

_CHART_WIDTH = 640
_LABEL_WIDTH = 190
_VALUE_WIDTH = 90
_BAR_HEIGHT = 18
_ROW_GAP = 8

#: Colours of the verdicts a vulnerability can have, most urgent first.
_STATE_COLOURS = {
    "fix-available": "#c0392b",
    "no-fix": "#e67e22",
    "postponed": "#d4ac0d",
    "minor-issue": "#7f8c8d",
    "undetermined": "#8e44ad",
    "unsupported": "#34495e",
}
_SIZE_COLOURS = {"unpacked": "#2e86c1", "stored": "#85c1e9"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #1c2833; background: #fdfefe; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.sub { color: #566573; margin: 0 0 16px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid #d5d8dc; border-radius: 6px; padding: 8px 12px; min-width: 200px; }
.card b { display: block; font-size: 15px; }
.card span { color: #566573; font-size: 12px; word-break: break-all; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(660px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid #d5d8dc; border-radius: 6px; padding: 8px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font-size: 12px; fill: #1c2833; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d5d8dc; padding: 6px 8px; vertical-align: top; text-align: left; }
th { background: #eaf2f8; }
td.aspect { font-weight: 600; white-space: nowrap; }
td.best { background: #e9f7ef; }
td.best::before { content: "\\2713  "; color: #1e8449; font-weight: 700; }
td.verdict { color: #1b4f72; }
ul.notes { font-size: 13px; color: #424949; }
.legend { font-size: 12px; margin: 0 0 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
"""


@dataclass(frozen=True)
class _Segment:
    name: str
    value: int
    colour: str


@dataclass(frozen=True)
class _Bar:
    label: str
    segments: tuple[_Segment, ...]
    note: str = ""
    """Text shown instead of a value when the bar has no data."""


def render_html(comparison: Comparison) -> str:
    """Return the comparison as a complete HTML5 document."""
    images = comparison.images
    cards = "".join(
        f'<div class="card" data-image="{escape(f.label)}"><b>{escape(f.label)}</b>'
        f"<span>{escape(f.distro)}</span><br><span>{escape(f.reference)}</span></div>"
        for f in images
    )
    charts = "".join(
        (
            _size_chart(comparison),
            _packages_chart(comparison),
            _vulnerability_chart(comparison),
            _pending_chart(comparison),
        )
    )
    title = "Base image comparison: " + " vs ".join(f.label for f in images)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # The page is fully inline; this policy keeps any injected URL from loading.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="sub">hardbase compare, {escape(comparison.generated)}. '
        "Highlighted cells are the better side of each row.</p>"
        f'<div class="cards">{cards}</div>'
        f'<h2>At a glance</h2><div class="charts">{charts}</div>'
        f"<h2>Side by side</h2>{_table(comparison)}"
        f'<h2>Notes</h2><ul class="notes">{_notes(comparison)}</ul>'
        "</body></html>\n"
    )


def _table(comparison: Comparison) -> str:
    head = "".join(
        f'<th data-image="{escape(f.label)}">{escape(f.label)}</th>' for f in comparison.images
    )
    body = []
    for row in comparison.rows:
        cells = "".join(
            f'<td class="{"best" if index in row.best else ""}" '
            f'data-image="{escape(comparison.images[index].label)}">{escape(value)}</td>'
            for index, value in enumerate(row.values)
        )
        body.append(
            f'<tr data-row="{escape(row.key)}"><td class="aspect">{escape(row.title)}</td>'
            f'{cells}<td class="verdict">{escape(row.verdict)}</td></tr>'
        )
    return (
        f'<table id="comparison"><thead><tr><th></th>{head}<th>verdict</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _notes(comparison: Comparison) -> str:
    return "".join(
        f"<li>{escape(line.strip().removeprefix('- '))}</li>" for line in footnotes(comparison)
    )


# ----------------------------------------------------------------------------- charts


def _size_chart(comparison: Comparison) -> str:
    bars = []
    for facts in comparison.images:
        for kind, value in (
            ("unpacked", facts.sizes.unpacked_bytes),
            ("stored", facts.sizes.stored_bytes),
        ):
            bars.append(
                _Bar(f"{facts.label} {kind}", (_Segment(kind, value, _SIZE_COLOURS[kind]),))
            )
    legend = _legend(
        [("unpacked", _SIZE_COLOURS["unpacked"]), ("as stored", _SIZE_COLOURS["stored"])]
    )
    return _figure("chart-size", "Size", bars, format_bytes, legend)


def _packages_chart(comparison: Comparison) -> str:
    bars = [
        _Bar(f.label, (_Segment("packages", len(f.packages), "#1abc9c"),))
        for f in comparison.images
    ]
    return _figure("chart-packages", "Packages installed", bars, str, "")


def _vulnerability_chart(comparison: Comparison) -> str:
    bars = []
    for facts in comparison.images:
        vulns = facts.vulnerabilities
        if not vulns.checked:
            bars.append(_Bar(facts.label, (), note=vulns.message))
            continue
        segments = tuple(
            _Segment(state, vulns.state_total(state), _STATE_COLOURS.get(state, "#95a5a6"))
            for state in _ordered_states(vulns.by_state)
        )
        bars.append(_Bar(facts.label, segments, note="" if segments else "0"))
    used = {s.name for bar in bars for s in bar.segments}
    legend = _legend([(state, colour) for state, colour in _STATE_COLOURS.items() if state in used])
    return _figure("chart-vulnerabilities", "Vulnerabilities by state", bars, str, legend)


def _pending_chart(comparison: Comparison) -> str:
    bars = []
    for facts in comparison.images:
        pending = facts.pending
        if not pending.checked:
            bars.append(_Bar(facts.label, (), note=pending.message.split(":")[0]))
            continue
        segments = (
            _Segment("security", pending.security, "#c0392b"),
            _Segment("other", pending.other, "#f5b041"),
        )
        bars.append(
            _Bar(facts.label, segments, note="" if pending.security + pending.other else "0")
        )
    legend = _legend([("security", "#c0392b"), ("other", "#f5b041")])
    return _figure("chart-pending", "Pending updates", bars, str, legend)


def _ordered_states(by_state: Mapping[str, Mapping[str, int]]) -> list[str]:
    states = list(by_state)
    known = [s for s in _STATE_COLOURS if s in states]
    return known + sorted(s for s in states if s not in _STATE_COLOURS)


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<i style="background:{c}"></i>{escape(n)}' for n, c in entries)
    return f'<div class="legend">{items}</div>' if entries else ""


def _figure(
    chart_id: str,
    caption: str,
    bars: Sequence[_Bar],
    formatter: Callable[[int], str],
    legend: str,
) -> str:
    return (
        f"<figure><figcaption>{escape(caption)}</figcaption>{legend}"
        f"{_svg_bars(chart_id, caption, bars, formatter)}</figure>"
    )


def _svg_bars(
    chart_id: str, caption: str, bars: Sequence[_Bar], formatter: Callable[[int], str]
) -> str:
    largest = max((sum(s.value for s in bar.segments) for bar in bars), default=0) or 1
    track = _CHART_WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = len(bars) * (_BAR_HEIGHT + _ROW_GAP) + _ROW_GAP
    parts = [
        f'<svg id="{chart_id}" role="img" aria-label="{escape(caption)}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{_CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for position, bar in enumerate(bars):
        y = _ROW_GAP + position * (_BAR_HEIGHT + _ROW_GAP)
        text_y = y + _BAR_HEIGHT - 5
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{text_y}" text-anchor="end">'
            f"{escape(_shorten(bar.label, 28))}</text>"
        )
        x = float(_LABEL_WIDTH)
        total = 0
        for segment in bar.segments:
            width = track * segment.value / largest
            total += segment.value
            if width > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{max(width, 1.0):.1f}" '
                    f'height="{_BAR_HEIGHT}" fill="{segment.colour}">'
                    f"<title>{escape(segment.name)}: "
                    f"{escape(formatter(segment.value))}</title></rect>"
                )
            x += width
        label = formatter(total) if bar.segments and total else (bar.note or formatter(0))
        parts.append(f'<text x="{x + 6:.1f}" y="{text_y}">{escape(_shorten(label, 70))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
