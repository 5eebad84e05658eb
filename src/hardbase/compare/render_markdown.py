"""Render a comparison as a Markdown table, for pull requests and documents."""

from __future__ import annotations

from hardbase.compare.model import Comparison
from hardbase.compare.render_table import footnotes


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(comparison: Comparison) -> str:
    """Return the comparison as a GitHub-flavoured Markdown table and notes.

    Favoured cells are bold. Pipes in cell text are escaped.
    """
    labels = [_cell(f.label) for f in comparison.images]
    lines = [
        f"## Base image comparison ({comparison.generated})",
        "",
        "| | " + " | ".join(labels) + " | verdict |",
        "|---|" + "---|" * len(labels) + "---|",
    ]
    for row in comparison.rows:
        cells = [
            f"**{_cell(value)}**" if index in row.best else _cell(value)
            for index, value in enumerate(row.values)
        ]
        lines.append(f"| {_cell(row.title)} | " + " | ".join(cells) + f" | {_cell(row.verdict)} |")
    lines.append("")
    for note in footnotes(comparison):
        if note.startswith("  - "):
            lines.append(f"  - {_cell(note.removeprefix('  - '))}")
        else:
            lines.append(f"- {_cell(note)}")
    return "\n".join(lines) + "\n"
