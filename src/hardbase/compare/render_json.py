"""Render a comparison as JSON: the facts of each image and every row with its verdict."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from hardbase.compare.model import Comparison

#: Version of the JSON layout; raised when a field changes meaning or is removed.
SCHEMA_VERSION = 1


def to_plain(value: Any) -> Any:
    """Return ``value`` with dataclasses, mappings and tuples turned into JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def render_json(comparison: Comparison) -> str:
    """Return the comparison as an indented JSON document ending with a newline."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "generated": comparison.generated,
        "images": [to_plain(facts) for facts in comparison.images],
        "rows": [
            {
                "key": row.key,
                "title": row.title,
                "values": dict(zip((f.label for f in comparison.images), row.values, strict=True)),
                "verdict": row.verdict,
                "best": [comparison.images[i].label for i in row.best],
                "data": to_plain(row.data),
            }
            for row in comparison.rows
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
