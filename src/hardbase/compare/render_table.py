"""Render a comparison as a terminal table: one column per image, the verdict last."""

from __future__ import annotations

import io
import re

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hardbase.compare.model import Comparison

#: C0 and C1 control characters: a reference or image field could carry
#: escape sequences that clear the screen or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _text(value: str) -> Text:
    """Return ``value`` as Text, which rich does not read as markup, with controls escaped."""
    return Text(_CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", value))


def render_table(comparison: Comparison, *, width: int = 160, color: bool = False) -> str:
    """Return the comparison as a table drawn with box characters, ``width`` columns wide.

    The favoured cells of each row are marked with ``✓``; musl's caveats and
    the images' warnings follow the table.
    """
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=not color, highlight=False)
    table = Table(title=f"hardbase compare ({comparison.generated})", show_lines=True)
    table.add_column("", style="bold", no_wrap=True)
    for facts in comparison.images:
        # Text keeps rich from reading markup in a label that comes from the image.
        table.add_column(_text(facts.label), overflow="fold")
    table.add_column("verdict", overflow="fold")
    for row in comparison.rows:
        cells = [
            _text(("✓ " if index in row.best else "") + value)
            for index, value in enumerate(row.values)
        ]
        table.add_row(_text(row.title), *cells, _text(row.verdict))
    console.print(table)
    for line in footnotes(comparison):
        console.print(_text(line))
    return buffer.getvalue()


def footnotes(comparison: Comparison) -> list[str]:
    """Return the lines shown under the table: references, musl caveats and warnings."""
    lines = [f"{facts.label}: {facts.reference} ({facts.distro})" for facts in comparison.images]
    caveats = comparison.row("libc").data.get("caveats", [])
    if caveats:
        lines.append("musl caveats for software built against glibc:")
        lines.extend(f"  - {caveat}" for caveat in caveats)
    for facts in comparison.images:
        lines.extend(f"warning: {facts.label}: {warning}" for warning in facts.warnings)
    return lines
