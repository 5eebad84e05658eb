"""Compare base images side by side: size, packages, libc, attack surface, support, provenance.

`compare_images` opens each image once, collects its facts and returns a
`Comparison` of rows, each with a one-line verdict. The ``render_*`` modules
turn it into a table, Markdown, JSON or a self-contained HTML page.
"""

from __future__ import annotations

from hardbase.compare.collect import CompareOptions, collect_image, compare_images
from hardbase.compare.model import Comparison, ImageFacts, Row
from hardbase.compare.provenance import ArchiveSettings
from hardbase.compare.rows import build_comparison

__all__ = [
    "ArchiveSettings",
    "CompareOptions",
    "Comparison",
    "ImageFacts",
    "Row",
    "build_comparison",
    "collect_image",
    "compare_images",
]
