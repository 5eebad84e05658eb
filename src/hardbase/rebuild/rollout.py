"""Roll new digests out: rewrite image references in Dockerfiles, manifests and compose files.

Files are edited as text, one reference at a time by line and column, so
formatting, comments and key order stay exactly as written; YAML is never
loaded and dumped again. A reference is updated when its repository and tag
are those of a rolled-out image: ``NAME:TAG@sha256:OLD`` becomes
``NAME:TAG@sha256:NEW`` with NAME spelled as written, and a plain
``NAME:TAG`` is pinned only on request.

A YAML line with a Flux image policy setter comment
(``# {"$imagepolicy": "NAMESPACE:NAME"}``) belongs to that policy: it is
updated only when a rolled-out image names that policy in ``flux-policy``,
and left alone otherwise, since Flux's image automation manages it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import InputError, NetworkError
from hardbase.rebuild.references import Reference, ReferenceError, parse_reference
from hardbase.tools import git

logger = logging.getLogger(__name__)

#: Largest file edited; larger files are skipped with a warning.
MAX_FILE_BYTES = 4 * 1024 * 1024
_SKIPPED_FOLDERS = frozenset({".git", ".hardbase", "node_modules", ".venv"})

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(?P<image>[^\s]+)", re.IGNORECASE)
_COPY_FROM = re.compile(r"--from=(?P<image>[^\s,]+)")
_YAML_IMAGE = re.compile(
    r"""^\s*(?:-\s+)?["']?image["']?\s*:\s*(?P<quote>["']?)(?P<image>[^\s"'#]+)(?P=quote)"""
)
_SETTER = re.compile(r"""#\s*\{\s*"\$imagepolicy"\s*:\s*"(?P<policy>[^"]+)"\s*\}""")


@dataclass(frozen=True)
class RolledImage:
    """An image with the digest to roll out."""

    name: str
    reference: Reference
    """The pushed reference (repository and tag)."""
    digest: str
    flux_policy: str | None = None


@dataclass(frozen=True)
class Edit:
    """One reference rewritten in a file."""

    line: int
    """1-based line number."""
    column: int
    """0-based column where the reference starts."""
    old: str
    new: str
    image: str
    """Name of the rolled-out image."""


@dataclass(frozen=True)
class FileChange:
    """Every edit of one file and its new text."""

    path: Path
    edits: tuple[Edit, ...]
    text: str


@dataclass(frozen=True)
class RolloutResult:
    """The files a rollout changed and the commit that recorded them."""

    changes: tuple[FileChange, ...]
    commit: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(sorted({e.image for c in self.changes for e in c.edits}))


def plan_rollout(
    paths: Sequence[Path],
    images: Sequence[RolledImage],
    *,
    pin_tags: bool = False,
    root: Path | None = None,
) -> tuple[list[FileChange], list[str]]:
    """Return the changes that roll ``images`` out to the files under ``paths``, and warnings.

    Nothing is written. Files that are not Dockerfiles or YAML are not read.
    Symbolic links are skipped with a warning, whether given or found, and so
    is a path inside ``root`` whose folders lead out of it through a link.
    """
    changes: list[FileChange] = []
    warnings: list[str] = []
    for path in _files(paths, root, warnings):
        try:
            data = path.read_bytes()
        except OSError as error:
            warnings.append(f"{path}: cannot read ({error.strerror})")
            continue
        if len(data) > MAX_FILE_BYTES:
            warnings.append(f"{path}: larger than {MAX_FILE_BYTES} bytes, skipped")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            warnings.append(f"{path}: not UTF-8 text, skipped")
            continue
        change = edit_text(path, text, images, pin_tags=pin_tags)
        if change is not None:
            changes.append(change)
    return changes, warnings


def _files(paths: Sequence[Path], root: Path | None, warnings: list[str]) -> Iterator[Path]:
    for path in paths:
        if path.is_symlink():
            # Replacing the file would turn the link into a copy, and editing
            # the target could change a file outside the repository.
            warnings.append(f"{path}: symbolic link, skipped")
            continue
        if root is not None and _leaves_root(path, root):
            warnings.append(f"{path}: leads out of {root} through a symbolic link, skipped")
            continue
        if path.is_file():
            if _kind(path) is not None:
                yield path
            continue
        if not path.is_dir():
            raise InputError(f"{path}: no such file or folder", hint="give files or folders")
        for folder, subfolders, files in os.walk(path):
            subfolders[:] = sorted(name for name in subfolders if name not in _SKIPPED_FOLDERS)
            for name in sorted(files):
                candidate = Path(folder) / name
                if not candidate.is_symlink() and _kind(candidate) is not None:
                    yield candidate


def _leaves_root(path: Path, root: Path) -> bool:
    """Return True when ``path`` is inside ``root`` as written but not once links are followed."""
    # abspath() folds ".." without following links, which resolve() would do.
    written = Path(os.path.abspath(path))  # noqa: PTH100
    if not written.is_relative_to(os.path.abspath(root)):  # noqa: PTH100
        return False
    return not path.resolve().is_relative_to(root.resolve())


def _kind(path: Path) -> str | None:
    lower = path.name.lower()
    if lower == "dockerfile" or lower.startswith("dockerfile.") or lower.endswith(".dockerfile"):
        return "dockerfile"
    if path.suffix.lower() in (".yaml", ".yml"):
        return "yaml"
    return None


def edit_text(
    path: Path, text: str, images: Sequence[RolledImage], *, pin_tags: bool = False
) -> FileChange | None:
    """Return the change that rolls ``images`` out in ``text`` (the content of ``path``)."""
    kind = _kind(path)
    # A byte order mark would keep the first line from matching; it is put back below.
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = text.removeprefix(bom).splitlines(keepends=True)
    edits: list[Edit] = []
    for index, line in enumerate(lines):
        spans = list(_references(line, kind))
        if kind == "yaml" and spans:
            setter = _SETTER.search(line)
            if setter is not None:
                spans = _for_policy(spans, setter.group("policy"), images)
        replaced = line
        # Right to left, so earlier columns stay valid after each replacement.
        for column, token in sorted(spans, reverse=True):
            edit = _edit(token, images, pin_tags, index + 1, column)
            if edit is not None:
                replaced = replaced[:column] + edit.new + replaced[column + len(token) :]
                edits.append(edit)
        lines[index] = replaced
    if not edits:
        return None
    edits.sort(key=lambda edit: (edit.line, edit.column))
    return FileChange(path, tuple(edits), bom + "".join(lines))


def _references(line: str, kind: str | None) -> Iterable[tuple[int, str]]:
    if kind == "dockerfile":
        match = _FROM.match(line)
        if match:
            yield match.start("image"), match.group("image")
        if re.match(r"^\s*(COPY|RUN|ADD)\b", line, re.IGNORECASE):
            for found in _COPY_FROM.finditer(line):
                yield found.start("image"), found.group("image")
    elif kind == "yaml":
        match = _YAML_IMAGE.match(line)
        if match:
            yield match.start("image"), match.group("image")


def _for_policy(
    spans: list[tuple[int, str]], policy: str, images: Sequence[RolledImage]
) -> list[tuple[int, str]]:
    """Keep a setter line's references only when a rolled-out image manages its policy."""
    key = ":".join(policy.split(":")[:2])
    if len(policy.split(":")) > 2:
        # NOTE: ":tag" and ":name" setters edit part of a reference; they are left to Flux.
        return []
    managed = {image.flux_policy for image in images if image.flux_policy}
    return spans if key in managed else []


def _edit(
    token: str, images: Sequence[RolledImage], pin_tags: bool, line: int, column: int
) -> Edit | None:
    try:
        reference = parse_reference(token)
    except ReferenceError:
        return None
    for image in images:
        if reference.name != image.reference.name:
            continue
        if reference.tag is not None and reference.tag != (image.reference.tag or "latest"):
            continue
        untagged = reference.tag is None and reference.digest is None
        if untagged and (image.reference.tag or "latest") != "latest":
            continue
        if reference.digest == image.digest:
            return None
        if reference.digest is None and not pin_tags:
            return None
        written = token.split("@", 1)[0]
        return Edit(line, column, token, f"{written}@{image.digest}", image.name)
    return None


def apply_changes(changes: Iterable[FileChange]) -> None:
    """Write each change beside its file and rename it over, keeping the file's mode."""
    for change in changes:
        mode = change.path.stat().st_mode & 0o7777
        descriptor, partial = tempfile.mkstemp(
            prefix=f".{change.path.name}.", dir=change.path.parent
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
                handle.write(change.text)
            Path(partial).chmod(mode)
            Path(partial).replace(change.path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


def commit_message(images: Sequence[RolledImage], changed: Iterable[str]) -> str:
    """Return an imperative commit message naming the rolled-out images and digests."""
    names = sorted(set(changed))
    subject = f"Pin {', '.join(names)} to new digests"
    if len(subject) > 72:
        subject = f"Pin {len(names)} images to new digests"
    body = [
        f"- {image.reference.tagged}@{image.digest}"
        for image in sorted(images, key=lambda i: i.name)
        if image.name in names
    ]
    return subject + "\n\nRolled out by hardbase rollout:\n\n" + "\n".join(body) + "\n"


def commit_changes(changes: Sequence[FileChange], images: Sequence[RolledImage]) -> str | None:
    """Commit the changed files when they lie in one git work tree; return the commit id.

    Returns None outside a git work tree. Raises InputError when the files
    span several work trees.
    """
    if not changes:
        return None
    trees = {git.toplevel(change.path) for change in changes}
    if trees == {None}:
        return None
    if len(trees) > 1 or None in trees:
        raise InputError(
            "the changed files lie in several git work trees or partly outside one",
            hint="roll out one repository at a time, or pass --no-commit",
        )
    (tree,) = trees
    if tree is None:
        raise AssertionError("unreachable: None was ruled out above")
    changed = [edit.image for change in changes for edit in change.edits]
    return git.commit(tree, [c.path for c in changes], commit_message(images, changed))


def webhook_payloads(
    result: RolloutResult, images: Sequence[RolledImage]
) -> list[dict[str, object]]:
    """Return one JSON payload per rolled-out image: reference, digest, files and commit."""
    payloads: list[dict[str, object]] = []
    for image in sorted(images, key=lambda i: i.name):
        files = sorted(
            str(c.path) for c in result.changes if any(e.image == image.name for e in c.edits)
        )
        if not files:
            continue
        payloads.append(
            {
                "event": "hardbase.rollout",
                "image": image.name,
                "reference": image.reference.tagged,
                "digest": image.digest,
                "pinned": f"{image.reference.tagged}@{image.digest}",
                "files": files,
                "commit": result.commit,
            }
        )
    return payloads


def post_webhooks(url: str, payloads: Sequence[dict[str, object]], *, timeout: float = 10) -> None:
    """POST each payload as JSON to ``url``; raise NetworkError naming the ones that failed."""
    import httpx

    if not re.match(r"^https?://", url):
        raise InputError(f"--webhook {url}: expected an http:// or https:// URL")
    failed: list[str] = []
    with httpx.Client(timeout=timeout) as client:
        for payload in payloads:
            try:
                response = client.post(
                    url,
                    content=json.dumps(payload).encode(),
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()
            except httpx.HTTPError as error:
                # The NetworkError below names every failure; a warning here would repeat it.
                logger.debug("webhook %s for %s failed: %s", url, payload["image"], error)
                failed.append(f"{payload['image']} ({error})")
    if failed:
        raise NetworkError(
            f"webhook {url} failed for {', '.join(failed)}",
            hint="the files are already rolled out; send the events again by hand",
        )
