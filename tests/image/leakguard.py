"""A check that reading an image wrote nothing outside its work folder and left none behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Names the hostile test layers try to write; none may appear in /tmp.
HOSTILE_NAMES = frozenset({"pwned", "x", "passwd", "shadow", "escape"})


@dataclass
class LeakGuard:
    """Snapshot of the places an image reader must not touch, taken before the test reads."""

    scratch: Path
    """TMPDIR during the test: work folders are made here and must be gone at the end."""
    canary: Path
    """A folder beside TMPDIR that hostile member names aim at."""
    tmp_before: frozenset[str]

    @classmethod
    def start(cls, work_tmp: Path) -> LeakGuard:
        """Make the canary folder beside ``work_tmp``'s TMPDIR and take the snapshot."""
        canary = work_tmp / "canary"
        canary.mkdir()
        (canary / "keep").write_bytes(b"canary")
        return cls(
            work_tmp / "tmp", canary, frozenset(path.name for path in Path("/tmp").iterdir())
        )

    def check(self) -> None:
        """Assert that the canary is untouched, TMPDIR is empty and /tmp gained nothing of ours."""
        assert sorted(path.name for path in self.canary.iterdir()) == ["keep"]
        assert (self.canary / "keep").read_bytes() == b"canary"
        assert sorted(path.name for path in self.scratch.iterdir()) == []
        # Other programs, hardbase runs of other sessions among them, may add to /tmp
        # meanwhile, so only the names the hostile layers aim at count. Work folders
        # are covered by the TMPDIR check above, since TMPDIR points there.
        added = {path.name for path in Path("/tmp").iterdir()} - self.tmp_before
        assert sorted(added & HOSTILE_NAMES) == []
