"""Hostile build specs: files that would hang the reader or crash it.

Every case must stop at the spec, before mmdebstrap runs, with one SpecError
that names the file and the key.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hardbase.build.spec import SpecError, load_spec


def test_impossible_date_is_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\ndescription: 2024-13-45\n")
    with pytest.raises(SpecError, match=r"month must be in 1\.\.12"):
        load_spec(spec)


def test_huge_integer_is_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\nusers: [{name: a, uid: " + "9" * 5000 + "}]\n")
    with pytest.raises(SpecError, match="invalid YAML value"):
        load_spec(spec)


def test_fifo_spec_is_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(fifo)


def test_device_spec_is_rejected() -> None:
    # Reading /dev/zero whole never ends; the size limit needs a regular file.
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(Path("/dev/zero"))
