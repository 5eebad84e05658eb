"""The rebuild state file: what each image was last built from, and the run in progress.

The file lives in the repository (``.hardbase/rebuild-state.json`` by
default) and may have been edited by hand, so it is validated on reading.
Every write goes to a temporary file beside it and is then renamed, so an
interrupted run leaves the previous state whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hardbase.errors import InputError

STATE_VERSION = 1
MAX_STATE_BYTES = 64 * 1024 * 1024

StepStatus = Literal["pending", "built", "failed", "blocked"]


class StateError(InputError):
    """A state file that cannot be read."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageRecord(_Model):
    """The last successful build of one image."""

    reference: str
    digest: str = Field(pattern=r"^sha256:[a-f0-9]{64}$")
    inputs: str
    """sha256 of the spec or Dockerfile, build args and context (`staleness.input_hash`)."""
    parents: dict[str, str] = Field(default_factory=dict)
    """Digest of each parent reference (as the build read it) at build time."""
    built_at: str


class StepRecord(_Model):
    """One image of a run."""

    status: StepStatus
    reasons: tuple[str, ...] = ()
    digest: str | None = None
    error: str | None = None
    seconds: float | None = None


class RunRecord(_Model):
    """The latest rebuild run, kept so that ``--resume`` can finish it."""

    id: str
    started_at: str
    finished_at: str | None = None
    steps: dict[str, StepRecord]
    """Every image of the plan, in plan order."""

    @property
    def complete(self) -> bool:
        return all(step.status == "built" for step in self.steps.values())


class State(_Model):
    """The whole state file."""

    version: Literal[1] = 1
    images: dict[str, ImageRecord] = Field(default_factory=dict)
    run: RunRecord | None = None


class StateStore:
    """Reads and atomically rewrites one state file; safe to update from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state = read_state(path)

    @property
    def state(self) -> State:
        with self._lock:
            return self._state

    def replace(self, state: State) -> None:
        """Write ``state`` and keep it as the current state."""
        with self._lock:
            write_json_atomic(self.path, state.model_dump(mode="json"))
            self._state = state

    def record_step(self, name: str, step: StepRecord, image: ImageRecord | None = None) -> None:
        """Store one image's outcome in the current run, and its build record when it built."""
        with self._lock:
            state = self._state
            if state.run is None:
                raise AssertionError("record_step needs a run; start one with replace()")
            steps = {**state.run.steps, name: step}
            images = dict(state.images)
            if image is not None:
                images[name] = image
            updated = state.model_copy(
                update={"images": images, "run": state.run.model_copy(update={"steps": steps})}
            )
            write_json_atomic(self.path, updated.model_dump(mode="json"))
            self._state = updated


def read_state(path: Path) -> State:
    """Read the state file at ``path``; a missing file is an empty state.

    Raises StateError naming the file when it is not valid JSON or not a state.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return State()
    except OSError as error:
        raise StateError(f"{path}: cannot read the rebuild state ({error.strerror})") from error
    if len(data) > MAX_STATE_BYTES:
        raise StateError(f"{path}: larger than {MAX_STATE_BYTES} bytes")
    try:
        return State.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise StateError(
            f"{path}: not a rebuild state file ({location}: {first['msg']})",
            hint="remove it to start over; the next rebuild then rebuilds every image",
        ) from None


def write_json_atomic(path: Path, document: object) -> None:
    """Write ``document`` as JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(partial).replace(path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
