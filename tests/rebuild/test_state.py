"""The rebuild state file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardbase.rebuild.state import (
    ImageRecord,
    RunRecord,
    State,
    StateError,
    StateStore,
    StepRecord,
    read_state,
)

DIGEST = "sha256:" + "5" * 64


def test_missing_state_is_empty(tmp_path: Path) -> None:
    assert read_state(tmp_path / "state.json") == State()


def test_invalid_state_rejected(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "images": {"a": {"digest": "x"}}}')
    with pytest.raises(StateError, match="not a rebuild state file"):
        read_state(path)


def test_record_step_round_trips(tmp_path: Path) -> None:
    store = StateStore(tmp_path / ".hardbase" / "state.json")
    run = RunRecord(id="r1", started_at="t", steps={"a": StepRecord(status="pending")})
    store.replace(State(run=run))
    image = ImageRecord(reference="h/a:1", digest=DIGEST, inputs="i", built_at="t")
    store.record_step("a", StepRecord(status="built", digest=DIGEST), image)
    again = read_state(store.path)
    assert again.images["a"].digest == DIGEST
    assert again.run is not None and again.run.complete


def test_write_leaves_no_partial_files(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.replace(State())
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
