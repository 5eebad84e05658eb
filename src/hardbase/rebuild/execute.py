"""Run a rebuild plan: build each level in parallel, push, record digests, spare failures' siblings.

Each image is built against the digest its parent got in this run (or has
in the registry now, for parents outside the plan): a Dockerfile's ``FROM``
lines are rewritten in a temporary copy to ``HOST/NAME@sha256:...``, and a
spec's ``base.digest`` is set. A failed image blocks only the images below
it. After every image the state file is rewritten, so ``--resume`` can
finish a run that failed or was interrupted without rebuilding what built.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from hardbase.errors import HardbaseError, InputError, ToolError
from hardbase.rebuild.dockerfile_refs import read_dockerfile, rewrite_bases
from hardbase.rebuild.graph import ImageGraph, ImageNode
from hardbase.rebuild.plan import RebuildPlan, make_plan
from hardbase.rebuild.staleness import Probe, input_hash
from hardbase.rebuild.state import (
    ImageRecord,
    RunRecord,
    StateStore,
    StepRecord,
    write_json_atomic,
)
from hardbase.tools import buildah, skopeo

logger = logging.getLogger(__name__)

BuilderName = Literal["auto", "buildah", "docker"]

#: Reports each image's progress: its name and a status word.
StepCallback = Callable[[str, str], None]


class ResumeError(InputError):
    """``--resume`` with no unfinished run to resume."""


@dataclass(frozen=True)
class ExecuteOptions:
    """How to run a plan."""

    jobs: int = 2
    """Images of one level built at the same time."""
    tls_verify: bool = True
    builder: BuilderName = "auto"
    storage: Path | None = None
    """Parent folder of buildah's temporary store; None means the system's temporary folder."""
    log: Path | None = None
    """Path of the JSON log of the run."""


@dataclass(frozen=True)
class StepOutcome:
    """Outcome for one image of the plan."""

    name: str
    status: str
    """``built``, ``failed``, ``blocked``, or ``skipped`` (built by the run being resumed)."""
    reasons: tuple[str, ...]
    digest: str | None = None
    error: str | None = None
    seconds: float | None = None
    parents: Mapping[str, str] | None = None


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run."""

    run_id: str
    outcomes: tuple[StepOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(outcome.status in ("built", "skipped") for outcome in self.outcomes)

    def by_status(self, status: str) -> tuple[str, ...]:
        return tuple(o.name for o in self.outcomes if o.status == status)


class Builder(Protocol):
    """Builds one image and pushes it to its reference, returning the pushed digest."""

    def build(
        self, graph: ImageGraph, node: ImageNode, parents: Mapping[str, str], work: Path
    ) -> str: ...


def resume_plan(graph: ImageGraph, store: StateStore) -> RebuildPlan:
    """Return the plan of the unfinished run in ``store``, raising ResumeError when none is."""
    run = store.state.run
    if run is None or run.complete:
        raise ResumeError(
            f"{store.path}: no unfinished rebuild to resume", hint="run hardbase rebuild"
        )
    missing = [name for name in run.steps if name not in graph.nodes]
    if missing:
        raise ResumeError(
            f"{store.path}: the unfinished run names images no longer in the repository: "
            f"{', '.join(missing)}",
            hint="run hardbase rebuild without --resume",
        )
    return make_plan(graph, list(run.steps))


def execute(
    graph: ImageGraph,
    plan: RebuildPlan,
    store: StateStore,
    probe: Probe,
    options: ExecuteOptions,
    *,
    resume: bool = False,
    builders: Mapping[str, Builder] | None = None,
    progress: StepCallback | None = None,
) -> RunResult:
    """Build ``plan`` level by level and return each image's outcome.

    With ``resume``, images the stored run built are skipped and their
    digests used. ``builders`` maps ``spec`` and ``dockerfile`` to builders;
    the default builders are made from ``options``. Raises only for problems
    before the first build (no reference, no builder tool); build failures
    become outcomes.
    """
    report = progress or (lambda _name, _status: None)
    for step in plan.steps:
        if graph.nodes[step.name].reference is None:
            raise InputError(
                f"image {step.name} ({graph.nodes[step.name].source}) has no reference to push to",
                hint="name it in hardbase.yaml or set registry there",
            )
    previous = store.state.run if resume else None
    run_id = previous.id if previous is not None else uuid.uuid4().hex[:12]
    started = _now()
    steps = {
        step.name: (
            previous.steps[step.name]
            if previous is not None and previous.steps.get(step.name, _PENDING).status == "built"
            else StepRecord(status="pending", reasons=step.reasons)
        )
        for step in plan.steps
    }
    state = store.state
    store.replace(
        state.model_copy(update={"run": RunRecord(id=run_id, started_at=started, steps=steps)})
    )

    work = Path(tempfile.mkdtemp(prefix="hardbase-rebuild-", dir=options.storage))
    chosen = dict(builders) if builders is not None else {}
    storage: buildah.Storage | None = None
    try:
        if "dockerfile" not in chosen and any(
            graph.nodes[s.name].kind == "dockerfile" for s in plan.steps
        ):
            storage = buildah.Storage(work / "storage" / "root", work / "storage" / "runroot")
            chosen["dockerfile"] = dockerfile_builder(options, storage, run_id)
        chosen.setdefault("spec", SpecBuilder(options.tls_verify))
        outcomes = _run_levels(graph, plan, store, probe, options, chosen, work, report)
    finally:
        if storage is not None and storage.root.exists():
            buildah.remove_storage(storage)
        shutil.rmtree(work, ignore_errors=True)

    run = store.state.run
    if run is not None:
        finished = run.model_copy(update={"finished_at": _now()})
        store.replace(store.state.model_copy(update={"run": finished}))
    result = RunResult(run_id, tuple(outcomes[step.name] for step in plan.steps))
    if options.log is not None:
        write_json_atomic(options.log, run_log(result, graph, started))
    return result


_PENDING = StepRecord(status="pending")


def _run_levels(
    graph: ImageGraph,
    plan: RebuildPlan,
    store: StateStore,
    probe: Probe,
    options: ExecuteOptions,
    builders: Mapping[str, Builder],
    work: Path,
    report: StepCallback,
) -> dict[str, StepOutcome]:
    outcomes: dict[str, StepOutcome] = {}
    run = store.state.run
    if run is None:
        raise AssertionError("execute starts a run before building")
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        for level in plan.levels:
            futures: dict[str, Future[StepOutcome]] = {}
            for name in level:
                step = plan.step(name)
                recorded = run.steps[name]
                if recorded.status == "built" and recorded.digest is not None:
                    outcomes[name] = StepOutcome(name, "skipped", step.reasons, recorded.digest)
                    report(name, "skipped, built by the resumed run")
                    continue
                failed = [p for p in step.parents if outcomes[p].status in ("failed", "blocked")]
                if failed:
                    outcome = StepOutcome(
                        name, "blocked", step.reasons, error=f"parent {failed[0]} did not build"
                    )
                    outcomes[name] = outcome
                    store.record_step(name, StepRecord(status="blocked", reasons=step.reasons))
                    report(name, "blocked")
                    continue
                parents = _parent_digests(graph, graph.nodes[name], outcomes, probe)
                folder = work / "images" / name
                folder.mkdir(parents=True)
                builder = builders[graph.nodes[name].kind]
                report(name, "building")
                futures[name] = pool.submit(
                    _build_one, graph, graph.nodes[name], step.reasons, parents, builder, folder
                )
            for name, future in futures.items():
                outcome = future.result()
                outcomes[name] = outcome
                _record(graph, store, probe, outcome)
                report(name, outcome.status)
    return outcomes


def _parent_digests(
    graph: ImageGraph, node: ImageNode, outcomes: Mapping[str, StepOutcome], probe: Probe
) -> dict[str, str]:
    """Return the digest to build on for each parent reference (``REGISTRY/REPO:TAG``)."""
    digests: dict[str, str] = {}
    for edge in node.edges:
        digest: str | None = None
        if edge.parent is not None:
            outcome = outcomes.get(edge.parent)
            if outcome is not None and outcome.digest is not None:
                digest = outcome.digest
            else:
                parent = graph.nodes[edge.parent].reference
                digest = probe.digest(parent) if parent is not None else None
        elif edge.reference.digest is not None:
            digest = edge.reference.digest
        if digest is not None:
            digests[edge.reference.tagged] = digest
    return digests


def _build_one(
    graph: ImageGraph,
    node: ImageNode,
    reasons: tuple[str, ...],
    parents: Mapping[str, str],
    builder: Builder,
    work: Path,
) -> StepOutcome:
    started = time.monotonic()
    logger.info("building %s (%s)", node.name, "; ".join(reasons))
    try:
        digest = builder.build(graph, node, parents, work)
    except HardbaseError as error:
        logger.warning("building %s failed: %s", node.name, error)
        return StepOutcome(
            node.name, "failed", reasons, error=str(error), seconds=time.monotonic() - started
        )
    except Exception as error:
        # A bug or an unexpected failure in one build must not stop its siblings.
        logger.exception("building %s failed unexpectedly", node.name)
        return StepOutcome(
            node.name, "failed", reasons, error=repr(error), seconds=time.monotonic() - started
        )
    return StepOutcome(
        node.name, "built", reasons, digest, seconds=time.monotonic() - started, parents=parents
    )


def _record(graph: ImageGraph, store: StateStore, probe: Probe, outcome: StepOutcome) -> None:
    node = graph.nodes[outcome.name]
    step = StepRecord(
        status="built" if outcome.status == "built" else "failed",
        reasons=outcome.reasons,
        digest=outcome.digest,
        error=outcome.error,
        seconds=outcome.seconds,
    )
    image = None
    if outcome.status == "built" and outcome.digest is not None and node.reference is not None:
        probe.forget(node.reference)
        image = ImageRecord(
            reference=str(node.reference),
            digest=outcome.digest,
            inputs=input_hash(graph.root, node),
            parents=dict(outcome.parents or {}),
            built_at=_now(),
        )
    store.record_step(outcome.name, step, image)


def run_log(result: RunResult, graph: ImageGraph, started: str) -> dict[str, Any]:
    """Return the JSON log of a run: what was built, why, and with which parents."""
    return {
        "run": result.run_id,
        "started_at": started,
        "finished_at": _now(),
        "ok": result.ok,
        "images": [
            {
                "name": o.name,
                "reference": str(graph.nodes[o.name].reference),
                "status": o.status,
                "reasons": list(o.reasons),
                "digest": o.digest,
                "parents": dict(o.parents or {}),
                "seconds": round(o.seconds, 3) if o.seconds is not None else None,
                "error": o.error,
            }
            for o in result.outcomes
        ],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SpecBuilder:
    """Builds a hardbase spec with `hardbase.build.build` and pushes it."""

    def __init__(self, tls_verify: bool) -> None:
        self.tls_verify = tls_verify

    def build(
        self, graph: ImageGraph, node: ImageNode, parents: Mapping[str, str], work: Path
    ) -> str:
        from hardbase.build import BuildOptions, OutputTarget, load_spec
        from hardbase.build import build as build_spec
        from hardbase.build.spec import BaseImage

        if node.reference is None:
            raise AssertionError("execute checks references before building")
        path = graph.root / node.source
        spec = load_spec(path)
        base = next((edge for edge in node.edges if edge.role == "base"), None)
        if spec.base is not None and base is not None and base.reference.tagged in parents:
            pinned = BaseImage(name=spec.base.name, digest=parents[base.reference.tagged])
            spec = spec.model_copy(update={"base": pinned})
        options = BuildOptions(
            output=OutputTarget("oci", work / "layout", "latest"),
            push=f"docker://{node.reference.tagged}",
            push_tls_verify=self.tls_verify,
            sbom=False,
        )
        result = build_spec(spec, options, source=node.source)
        return result.manifest_digest


class BuildahBuilder:
    """Builds a Dockerfile with buildah into a private vfs store, then pushes with skopeo."""

    def __init__(self, storage: buildah.Storage, tls_verify: bool, run_id: str) -> None:
        self.storage = storage
        self.tls_verify = tls_verify
        self.run_id = run_id

    def build(
        self, graph: ImageGraph, node: ImageNode, parents: Mapping[str, str], work: Path
    ) -> str:
        if node.reference is None:
            raise AssertionError("execute checks references before building")
        dockerfile = pinned_dockerfile(graph, node, parents, work)
        tag = f"localhost/hardbase-rebuild/{node.name}:{self.run_id}"
        buildah.bud(
            buildah.BudRun(
                dockerfile=dockerfile,
                context=graph.root / node.context,
                tag=tag,
                build_args=node.build_args,
                platform=node.platform,
                tls_verify=self.tls_verify,
            ),
            self.storage,
        )
        digest_file = work / "digest"
        skopeo.copy(
            self.storage.transport(tag),
            f"docker://{node.reference.tagged}",
            tls_verify=self.tls_verify,
            digest_file=digest_file,
        )
        return _read_digest(digest_file)


class BuildxBuilder:
    """Builds and pushes a Dockerfile with ``docker buildx build --push``."""

    def __init__(self, tls_verify: bool) -> None:
        self.tls_verify = tls_verify

    def build(
        self, graph: ImageGraph, node: ImageNode, parents: Mapping[str, str], work: Path
    ) -> str:
        if node.reference is None:
            raise AssertionError("execute checks references before building")
        dockerfile = pinned_dockerfile(graph, node, parents, work)
        metadata = work / "metadata.json"
        buildah.buildx_build(
            dockerfile=dockerfile,
            context=graph.root / node.context,
            reference=node.reference.tagged,
            build_args=node.build_args,
            platform=node.platform,
            metadata_file=metadata,
        )
        return buildah.buildx_digest(metadata)


def dockerfile_builder(options: ExecuteOptions, storage: buildah.Storage, run_id: str) -> Builder:
    """Return the Dockerfile builder: buildx when asked or when ``auto`` finds an engine."""
    if options.builder == "docker" or (options.builder == "auto" and buildah.docker_engine()):
        logger.info("building Dockerfiles with docker buildx")
        return BuildxBuilder(options.tls_verify)
    logger.info("building Dockerfiles with buildah")
    return BuildahBuilder(storage, options.tls_verify, run_id)


def pinned_dockerfile(
    graph: ImageGraph, node: ImageNode, parents: Mapping[str, str], work: Path
) -> Path:
    """Write a copy of the node's Dockerfile whose FROM lines name parents by digest."""
    text = read_dockerfile(node.source, (graph.root / node.source).read_bytes())
    replacements: dict[int, str] = {}
    for edge in node.edges:
        if edge.line is None or edge.reference.tagged not in parents:
            continue
        replacements[edge.line] = edge.reference.pinned(parents[edge.reference.tagged])
    # NOTE: COPY --from=IMAGE sources are not pinned; they are read as the registry has them.
    path = work / "Dockerfile"
    path.write_text(rewrite_bases(text, replacements), encoding="utf-8")
    return path


def _read_digest(path: Path) -> str:
    try:
        digest = path.read_text(encoding="ascii").strip()
    except OSError as error:
        raise ToolError(f"skopeo wrote no digest file {path}") from error
    if not digest.startswith("sha256:"):
        raise ToolError(f"skopeo wrote {digest[:80]!r} to {path}, not a digest")
    return digest
