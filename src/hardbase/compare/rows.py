"""Build the comparison rows from the facts of each image, each with a one-line verdict.

A row builder takes every image's facts and returns the cells, the images
it favours and why. "Better" means smaller, fewer, newer or more verifiable,
as each builder states. When no image is better, the verdict states why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from hardbase.compare.libc import MUSL_CAVEATS
from hardbase.compare.model import Comparison, ImageFacts, Row
from hardbase.compare.provenance import describe_index
from hardbase.compare.support import support_status
from hardbase.errors import InputError
from hardbase.scan.findings import Severity

#: Names listed in a "packages only here" cell before the rest are counted.
MAX_LISTED_PACKAGES = 12

RowBuilder = Callable[[Sequence[ImageFacts], str], Row]


def build_comparison(images: Sequence[ImageFacts], today: dt.date | None = None) -> Comparison:
    """Return the comparison of ``images`` (in the given order) as of ``today``."""
    day = (today or dt.date.today()).isoformat()
    rows = tuple(builder(images, day) for builder in ROW_BUILDERS)
    return Comparison(tuple(images), rows, day)


# ----------------------------------------------------------------------------- helpers


def format_bytes(size: int) -> str:
    """Return ``size`` in binary units with one decimal: ``3.3 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable: GiB returns")


def _names(images: Sequence[ImageFacts], indices: Sequence[int]) -> str:
    return ", ".join(images[i].label for i in indices)


_PLURAL_VERBS = {"has": "have", "is": "are", "runs": "run", "uses": "use"}


def _severity_rank(name: str) -> int:
    try:
        return int(Severity.parse(name))
    except InputError:
        return -1


def _who(images: Sequence[ImageFacts], indices: Sequence[int], verb: str) -> str:
    """Return the images' names and ``verb`` in agreement: ``a, b have``."""
    agreed = verb if len(indices) == 1 else _PLURAL_VERBS[verb]
    return f"{_names(images, indices)} {agreed}"


def _lowest(values: Sequence[int | None]) -> tuple[int, ...]:
    known = [v for v in values if v is not None]
    if not known:
        return ()
    low = min(known)
    return tuple(i for i, v in enumerate(values) if v == low)


def _ratio_text(small: int, large: int) -> str:
    if small <= 0:
        return "far smaller"
    ratio = large / small
    if ratio >= 2:
        return f"{ratio:.0f}x smaller"
    return f"{(1 - small / large) * 100:.0f}% smaller"


def _fewest(
    images: Sequence[ImageFacts], values: Sequence[int | None], noun: str
) -> tuple[str, tuple[int, ...]]:
    """Return the verdict and favoured images when fewer is better."""
    best = _lowest(values)
    known = [v for v in values if v is not None]
    if not best:
        return f"no image could be checked for {noun}", ()
    if len(best) == len(known) == len(images):
        return f"all have the same number of {noun} ({known[0]})", ()
    count = values[best[0]]
    worst = max(known)
    return (
        f"{_who(images, best, 'has')} the fewest {noun} ({count} vs up to {worst})",
        best,
    )


# ----------------------------------------------------------------------------- sizes


def _size_unpacked(images: Sequence[ImageFacts], _today: str) -> Row:
    values = [f.sizes.unpacked_bytes for f in images]
    return _size_row(
        "size-unpacked", "Size unpacked", images, values, [format_bytes(v) for v in values]
    )


def _size_stored(images: Sequence[ImageFacts], _today: str) -> Row:
    values = [f.sizes.stored_bytes for f in images]
    cells = []
    for facts in images:
        sizes = facts.sizes
        how = (
            f"{sizes.compression} {sizes.stored_as}"
            if sizes.compression
            else (f"{sizes.stored_as}, not compressed")
        )
        cells.append(f"{format_bytes(sizes.stored_bytes)} ({how})")
    row = _size_row("size-stored", "Size compressed (as stored)", images, values, cells)
    plain = [i for i, f in enumerate(images) if not f.sizes.compression]
    if plain and row.best:
        verdict = f"{row.verdict}; {_who(images, plain, 'is')} stored uncompressed"
        return Row(row.key, row.title, row.values, verdict, row.best, row.data)
    return row


def _size_row(
    key: str, title: str, images: Sequence[ImageFacts], values: list[int], cells: list[str]
) -> Row:
    best = _lowest(values)
    data = {"bytes": values}
    if len(images) < 2 or len(best) == len(images):
        return Row(key, title, tuple(cells), "all the same size", (), data)
    verdict = f"{_who(images, best, 'is')} {_ratio_text(values[best[0]], max(values))}"
    largest = values.index(max(values))
    verdict += f" than {images[largest].label}"
    return Row(key, title, tuple(cells), verdict, best, data)


def _layers(images: Sequence[ImageFacts], _today: str) -> Row:
    values: list[int | None] = [f.sizes.layers for f in images]
    verdict, best = _fewest(images, values, "layers")
    return Row("layers", "Layers", tuple(str(v) for v in values), verdict, best, {"layers": values})


# ----------------------------------------------------------------------------- packages


def _package_count(images: Sequence[ImageFacts], _today: str) -> Row:
    values: list[int | None] = [len(f.packages) for f in images]
    cells = [f"{len(f.packages)} {f.ecosystem or 'no database'}" for f in images]
    verdict, best = _fewest(images, values, "packages")
    if best:
        verdict += ": less to patch and to attack"
    return Row("packages", "Packages", tuple(cells), verdict, best, {"packages": values})


def _package_difference(images: Sequence[ImageFacts], _today: str) -> Row:
    cells: list[str] = []
    only: dict[str, list[str]] = {}
    for index, facts in enumerate(images):
        peers = [
            other
            for position, other in enumerate(images)
            if position != index and other.ecosystem == facts.ecosystem
        ]
        if not peers:
            others = sorted({o.ecosystem or "none" for o in images if o is not facts})
            cells.append(
                f"{len(facts.packages)} {facts.ecosystem or 'no database'} packages; "
                f"not comparable by name with {', '.join(others) or 'any other image'}"
            )
            continue
        seen = set().union(*(set(p.packages) for p in peers))
        unique = sorted(set(facts.packages) - seen)
        only[facts.label] = unique
        cells.append(_listed(unique))
    ecosystems = sorted({f.ecosystem or "none" for f in images})
    if len(ecosystems) > 1:
        verdict = (
            f"ecosystems differ ({' vs '.join(ecosystems)}): package names are compared "
            "only between images of the same ecosystem"
        )
    else:
        verdict = "names listed are in this image and in no other"
    return Row(
        "packages-only-here", "Packages only here", tuple(cells), verdict, (), {"only": only}
    )


def _listed(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:MAX_LISTED_PACKAGES])
    rest = len(names) - MAX_LISTED_PACKAGES
    suffix = f" … (+{rest} more)" if rest > 0 else ""
    return f"{len(names)}: {shown}{suffix}"


# ----------------------------------------------------------------------------- libc


def _libc(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = []
    for facts in images:
        libc = facts.libc
        text = f"{libc.family or 'none found'} {libc.version or ''}".strip()
        if libc.family == "musl":
            text += f" ({len(MUSL_CAVEATS)} caveats)"
        cells.append(text)
    families = [f.libc.family for f in images]
    glibc = tuple(i for i, family in enumerate(families) if family == "glibc")
    musl = [i for i, family in enumerate(families) if family == "musl"]
    if glibc and musl:
        verdict = (
            f"{_who(images, glibc, 'uses')} glibc: manylinux wheels and glibc-built binaries run "
            f"unchanged; {_who(images, musl, 'uses')} musl (see the caveats)"
        )
        best = glibc
    elif len(set(families)) == 1:
        verdict, best = f"all use {families[0] or 'no known C library'}", ()
    else:
        verdict, best = "C libraries differ; check what your programs link against", ()
    data = {
        "libc": [
            {"family": f.libc.family, "version": f.libc.version, "evidence": f.libc.evidence}
            for f in images
        ],
        "caveats": list(MUSL_CAVEATS) if musl else [],
    }
    return Row("libc", "C library", tuple(cells), verdict, best, data)


# ----------------------------------------------------------------------------- attack surface


def _user(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = []
    for facts in images:
        user = facts.user
        if user.configured is None:
            cells.append("unset: root" if user.runs_as_root is not False else "unset")
        elif user.runs_as_root:
            cells.append(f"{user.configured} (root)")
        else:
            cells.append(f"{user.configured} (non-root)")
    best = tuple(i for i, f in enumerate(images) if f.user.runs_as_root is False)
    if best and len(best) < len(images):
        verdict = f"{_who(images, best, 'runs')} as a non-root user by default"
    elif best:
        verdict, best = "all run as a non-root user", ()
    else:
        verdict = "none sets a non-root user: set USER in the image or at run time"
    runs_as_root = [f.user.runs_as_root for f in images]
    return Row("user", "Default user", tuple(cells), verdict, best, {"runs_as_root": runs_as_root})


def _setuid(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = tuple(f"setuid {f.user.setuid}, setgid {f.user.setgid}" for f in images)
    totals: list[int | None] = [f.user.setuid + f.user.setgid for f in images]
    best = _lowest(totals)
    if len(best) == len(images):
        verdict, best = f"all have {totals[0]} setuid or setgid files", ()
    elif totals[best[0]] == 0:
        verdict = f"{_who(images, best, 'has')} no setuid or setgid file to escalate through"
    else:
        verdict = f"{_who(images, best, 'has')} the fewest setuid and setgid files"
    data = {"setuid": [f.user.setuid for f in images], "setgid": [f.user.setgid for f in images]}
    return Row("setuid", "setuid / setgid files", cells, verdict, best, data)


def _tools_row(key: str, title: str, noun: str, attribute: str) -> RowBuilder:
    def build(images: Sequence[ImageFacts], _today: str) -> Row:
        found = [tuple(getattr(f.user, attribute)) for f in images]
        cells = tuple(", ".join(paths) if paths else "none" for paths in found)
        counts: list[int | None] = [len(paths) for paths in found]
        best = _lowest(counts)
        if len(best) == len(images):
            verdict = f"all have no {noun}" if counts[0] == 0 else f"all have {noun}s"
            best = ()
        elif counts[best[0]] == 0:
            verdict = f"{_who(images, best, 'has')} no {noun}"
        else:
            verdict = f"{_who(images, best, 'has')} the fewest {noun}s"
        return Row(key, title, cells, verdict, best, {attribute: [list(p) for p in found]})

    return build


# ----------------------------------------------------------------------------- security data


def _vulnerabilities(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = []
    totals: list[int | None] = []
    for facts in images:
        vulns = facts.vulnerabilities
        if not vulns.checked:
            cells.append(vulns.message)
            totals.append(None)
            continue
        totals.append(vulns.total)
        parts = []
        for state, counts in vulns.by_state.items():
            ordered = sorted(counts.items(), key=lambda item: -_severity_rank(item[0]))
            severities = ", ".join(f"{name} {count}" for name, count in ordered)
            parts.append(f"{state} {sum(counts.values())} ({severities})")
        cells.append(f"{vulns.total}: " + "; ".join(parts) if parts else "0")
    best = _lowest(totals)
    checked = [t for t in totals if t is not None]
    if not checked:
        verdict = "no image was matched against advisories"
    elif len(best) == len(checked):
        verdict, best = f"all checked images have {checked[0]} reported vulnerabilities", ()
    else:
        verdict = (
            f"{_who(images, best, 'has')} the fewest reported vulnerabilities ({totals[best[0]]})"
        )
    data = {
        "totals": totals,
        "by_state": [dict(f.vulnerabilities.by_state) for f in images],
    }
    return Row("vulnerabilities", "Vulnerabilities", tuple(cells), verdict, best, data)


def _pending(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = []
    totals: list[int | None] = []
    for facts in images:
        pending = facts.pending
        if not pending.checked:
            cells.append(pending.message)
            totals.append(None)
            continue
        total = pending.security + pending.other
        totals.append(total)
        cells.append(f"{total} ({pending.security} security)")
    best = _lowest(totals)
    checked = [t for t in totals if t is not None]
    if not checked:
        verdict = "no image could be compared with a signed archive"
    elif len(best) == len(checked):
        verdict, best = f"all checked images have {checked[0]} pending updates", ()
    else:
        verdict = f"{_who(images, best, 'has')} the fewest pending updates ({totals[best[0]]})"
    data = {
        "totals": totals,
        "security": [f.pending.security if f.pending.checked else None for f in images],
    }
    return Row("pending-updates", "Pending updates", tuple(cells), verdict, best, data)


def _support(images: Sequence[ImageFacts], today: str) -> Row:
    cells = []
    ends: list[str | None] = []
    for facts in images:
        support = facts.support
        if not support.known:
            cells.append(f"{support.release_name}: {support.message}")
            ends.append(None)
            continue
        parts = [support.release_name]
        if support.released:
            parts.append(f"released {support.released}")
        if support.end_of_support:
            parts.append(f"security support until {support.end_of_support}")
        if support.end_of_lts:
            parts.append(f"LTS until {support.end_of_lts}")
        parts.append(f"status: {support_status(support, today)}")
        cells.append("; ".join(parts))
        ends.append(support.last_day)
    known = [e for e in ends if e]
    if not known:
        return Row("support", "Release support", tuple(cells), "no release dates known", (), {})
    latest = max(known)
    best = tuple(i for i, e in enumerate(ends) if e == latest)
    if len(best) == len(images):
        verdict, best = f"all are supported until {latest}", ()
    else:
        verdict = f"{_who(images, best, 'is')} supported longest, until {latest}"
    data = {
        "released": [f.support.released for f in images],
        "end_of_support": [f.support.end_of_support for f in images],
        "end_of_lts": [f.support.end_of_lts for f in images],
        "status": [support_status(f.support, today) for f in images],
    }
    return Row("support", "Release support", tuple(cells), verdict, best, data)


def _index(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = tuple(describe_index(f.index) for f in images)
    complete = tuple(i for i, f in enumerate(images) if f.index.checked and not f.index.not_found)
    if complete and len(complete) < len(images):
        verdict = (
            f"{_names(images, complete)}: every installed version is in a gpgv-verified "
            "archive index"
        )
    elif complete:
        verdict, complete = "every installed version of every image is in a verified index", ()
    else:
        verdict = "no image has every installed version in a verified index"
    data = {
        "found": [f.index.found for f in images],
        "not_found": [list(f.index.not_found) for f in images],
        "checked": [f.index.checked for f in images],
    }
    return Row("provenance-index", "Signed repository index", cells, verdict, complete, data)


def _files(images: Sequence[ImageFacts], _today: str) -> Row:
    cells = []
    changed: list[int | None] = []
    for facts in images:
        files = facts.files
        if not files.checked:
            cells.append(files.message)
            changed.append(None)
            continue
        changed.append(len(files.changed))
        text = (
            f"{files.matched} matched, {len(files.changed)} changed, "
            f"{len(files.missing)} missing ({files.algorithm})"
        )
        if files.config_changed:
            edited = len(files.config_changed)
            text += f"; {edited} configuration file{'' if edited == 1 else 's'} edited"
        cells.append(text)
    best = _lowest(changed)
    checked = [c for c in changed if c is not None]
    if not checked:
        verdict = "no image records file checksums"
    elif len(best) == len(checked):
        verdict, best = f"all checked images have {checked[0]} changed package files", ()
    else:
        verdict = (
            f"{_who(images, best, 'has')} the fewest changed package files ({changed[best[0]]})"
        )
    missing = [i for i, f in enumerate(images) if f.files.missing]
    if missing:
        verdict += f"; files removed after install in {_names(images, missing)}"
    data = {
        "matched": [f.files.matched for f in images],
        "changed": [list(f.files.changed) for f in images],
        "missing": [len(f.files.missing) for f in images],
        "config_changed": [list(f.files.config_changed) for f in images],
    }
    return Row(
        "provenance-files",
        "Installed files vs package checksums",
        tuple(cells),
        verdict,
        best,
        data,
    )


ROW_BUILDERS: tuple[RowBuilder, ...] = (
    _size_unpacked,
    _size_stored,
    _layers,
    _package_count,
    _package_difference,
    _libc,
    _user,
    _setuid,
    _tools_row("shells", "Shells", "shell", "shells"),
    _tools_row("package-managers", "Package managers", "package manager", "package_managers"),
    _tools_row("privilege-tools", "Privilege tools", "privilege tool", "privilege_tools"),
    _vulnerabilities,
    _pending,
    _support,
    _index,
    _files,
)
