"""Build an image from a spec: mmdebstrap, the hardening pass, then a reproducible writer.

All work happens in a temporary folder; the output appears under its final
name only once it is complete, so a failed build leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hardbase.build.accounts import apply_accounts
from hardbase.build.harden import harden, package_epoch, release_epoch
from hardbase.build.prune import read_status
from hardbase.build.spec import BuildSpec, Hardening
from hardbase.errors import InputError
from hardbase.image.oci import host_platform
from hardbase.image.writer import (
    ContainerConfig,
    ImageBlobs,
    Platform,
    image_blobs,
    rfc3339,
    write_docker_archive,
    write_layer,
    write_oci_layout,
)
from hardbase.tools import mmdebstrap, skopeo

logger = logging.getLogger(__name__)

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TAG = "latest"

#: Debian architecture name to OCI platform (architecture, variant).
DEBIAN_TO_OCI: dict[str, tuple[str, str | None]] = {
    "amd64": ("amd64", None),
    "arm64": ("arm64", "v8"),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v5"),
    "i386": ("386", None),
    "ppc64el": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
    "mips64el": ("mips64le", None),
}

_OCI = "org.opencontainers.image"

#: Reports build progress: a short step name.
StepCallback = Callable[[str], None]


class OutputError(InputError):
    """An --output or --push value that cannot be used."""


@dataclass(frozen=True)
class OutputTarget:
    """Where the image is written."""

    transport: str
    """``oci`` or ``docker-archive``."""
    path: Path
    name: str
    """Tag in an OCI layout, ``NAME:TAG`` in a docker archive."""

    def __str__(self) -> str:
        return f"{self.transport}:{self.path}:{self.name}"


@dataclass(frozen=True)
class BuildOptions:
    """How to run one build."""

    output: OutputTarget
    source_date_epoch: int | None = None
    """Fixed epoch for timestamps; None means the newest package's date (see docs/build.md)."""
    package_cache: Path | None = None
    """Folder of .deb files reused before downloading and refilled after."""
    push: str | None = None
    """``docker://HOST/NAME:TAG`` to push the image to after writing it."""
    push_tls_verify: bool = True
    sbom: bool = True
    """Write a CycloneDX SBOM beside the output when the SBOM writer is available."""


@dataclass(frozen=True)
class BuildResult:
    """What a build produced."""

    output: str
    manifest_digest: str
    config_digest: str
    epoch: int
    packages: tuple[str, ...]
    """``NAME=VERSION`` of every package left in the image."""
    removed_packages: tuple[str, ...]
    uncompressed_size: int
    compressed_size: int
    bootstrap_seconds: float
    total_seconds: float
    pushed: str | None = None
    sbom_path: Path | None = None
    cleared_setid: tuple[str, ...] = field(default=())


def parse_output(text: str, spec: BuildSpec) -> OutputTarget:
    """Parse ``oci:DIR[:TAG]`` or ``docker-archive:FILE[:NAME:TAG]``."""
    transport, _, rest = text.partition(":")
    if transport == "oci" and rest:
        path, _, tag = rest.partition(":")
        tag = tag or DEFAULT_TAG
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag):
            raise OutputError(f"--output {text}: {tag!r} is not a valid tag")
        return OutputTarget("oci", Path(path), tag)
    if transport == "docker-archive" and rest:
        parts = rest.split(":")
        if len(parts) >= 3:
            # NOTE: a registry port in NAME (host:5000/name:tag) is read as part of FILE.
            path, name = ":".join(parts[:-2]), f"{parts[-2]}:{parts[-1]}"
        elif len(parts) == 1:
            path, name = rest, f"{spec.name}:{DEFAULT_TAG}"
        else:
            raise OutputError(
                f"--output {text}: expected docker-archive:FILE or docker-archive:FILE:NAME:TAG"
            )
        return OutputTarget("docker-archive", Path(path), name)
    raise OutputError(
        f"--output {text}: unsupported output",
        hint="use oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]",
    )


def check_push(reference: str) -> str:
    """Return ``reference`` if it is a ``docker://HOST/NAME[:TAG]`` reference, else raise."""
    if not re.fullmatch(r"docker://[^/\s]+/[^\s@]+", reference):
        raise OutputError(f"--push {reference}: expected docker://HOST/NAME:TAG")
    return reference


def platform_for(architecture: str | None) -> tuple[str, Platform]:
    """Return the Debian architecture and OCI platform to build for."""
    if architecture is None:
        host = host_platform().split("/")[1]
        for debian, (oci, _) in DEBIAN_TO_OCI.items():
            if oci == host:
                architecture = debian
                break
        else:
            raise InputError(f"cannot map the host platform {host} to a Debian architecture")
    if architecture not in DEBIAN_TO_OCI:
        raise InputError(
            f"architecture {architecture!r} is not supported",
            hint=f"use one of {', '.join(DEBIAN_TO_OCI)}",
        )
    oci, variant = DEBIAN_TO_OCI[architecture]
    return architecture, Platform(oci, "linux", variant)


def dpkg_filters(options: Hardening) -> tuple[str, ...]:
    """Return dpkg path filters that keep stripped files from being unpacked at all."""
    filters: list[str] = []
    if options.strip_docs:
        filters += [
            "path-exclude=/usr/share/doc/*",
            "path-include=/usr/share/doc/*/copyright",
            "path-exclude=/usr/share/lintian/*",
        ]
    if options.strip_man:
        filters.append("path-exclude=/usr/share/man/*")
    if options.strip_info:
        filters.append("path-exclude=/usr/share/info/*")
    filters.append("path-exclude=/usr/share/locale/*")
    filters.append("path-include=/usr/share/locale/locale.alias")
    filters += [f"path-include=/usr/share/locale/{locale}*" for locale in options.keep_locales]
    return tuple(filters)


def bootstrap_run(
    spec: BuildSpec, target: Path, architecture: str, options: BuildOptions
) -> mmdebstrap.MmdebstrapRun:
    """Return the mmdebstrap run for ``spec``: the Essential set plus the spec's packages."""
    setup: tuple[str, ...] = ()
    customize: tuple[str, ...] = ()
    # The Release files give the default epoch; the hardening pass removes them afterwards.
    skip: tuple[str, ...] = ("cleanup/apt/lists",)
    if options.package_cache is not None:
        options.package_cache.mkdir(parents=True, exist_ok=True)
        setup, customize, cache_skip = mmdebstrap.package_cache_hooks(options.package_cache)
        skip += cache_skip
    recommends = "true" if spec.distribution.install_recommends else "false"
    environment = {}
    if options.source_date_epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = str(options.source_date_epoch)
    return mmdebstrap.MmdebstrapRun(
        suite=spec.distribution.suite,
        target=target,
        sources=tuple(spec.distribution.sources()),
        variant="essential",
        architecture=architecture,
        include=spec.packages,
        keyring=spec.distribution.keyring,
        aptopts=(f'APT::Install-Recommends "{recommends}"', 'Acquire::Languages "none"'),
        dpkgopts=dpkg_filters(spec.hardening),
        skip=skip,
        setup_hooks=setup,
        customize_hooks=customize,
        hook_dirs=(mmdebstrap.MERGED_USR_HOOKS,),
        environment=environment,
    )


def container_config(spec: BuildSpec, epoch: int) -> ContainerConfig:
    """Return the run-time config: numeric user, PATH plus the spec's env, entrypoint, labels."""
    user = spec.run_as_user()
    env = [DEFAULT_PATH] if "PATH" not in spec.env else []
    env += [f"{key}={value}" for key, value in spec.env.items()]
    labels = {**oci_annotations(spec, epoch), **spec.labels}
    return ContainerConfig(
        user=f"{user.uid}:{user.primary_gid}",
        env=tuple(env),
        entrypoint=spec.entrypoint,
        cmd=spec.cmd,
        working_dir=spec.workdir or user.home_dir,
        labels=labels,
    )


def oci_annotations(spec: BuildSpec, epoch: int) -> dict[str, str]:
    """Return the ``org.opencontainers.image.*`` annotations filled from the spec."""
    annotations = {f"{_OCI}.created": rfc3339(epoch), f"{_OCI}.title": spec.name}
    if spec.description:
        annotations[f"{_OCI}.description"] = spec.description
    if spec.base is not None:
        annotations[f"{_OCI}.base.name"] = spec.base.name
        annotations[f"{_OCI}.base.digest"] = spec.base.digest
    return annotations


def build(
    spec: BuildSpec,
    options: BuildOptions,
    *,
    source: str,
    step: StepCallback | None = None,
) -> BuildResult:
    """Build ``spec`` and write it to ``options.output``; ``source`` names the spec in errors.

    Raises InputError (bad spec, missing package), NetworkError (mirror not
    reachable) or ToolError (mmdebstrap or skopeo failed); the output is
    then left as it was.
    """
    started = time.monotonic()
    report = step or (lambda _name: None)
    if options.push:
        check_push(options.push)
    architecture, platform = platform_for(spec.architecture)
    work = Path(tempfile.mkdtemp(prefix="hardbase-build-"))
    try:
        rootfs = work / "rootfs"
        report("bootstrap")
        run = bootstrap_run(spec, rootfs, architecture, options)
        mmdebstrap.bootstrap(run, source=source)
        bootstrap_seconds = time.monotonic() - started

        report("harden")
        release_date = release_epoch(rootfs)
        hardening = harden(rootfs, spec.hardening, spec.packages)
        epoch = _epoch(options, rootfs, release_date, source)
        apply_accounts(rootfs, spec, epoch, source)
        packages = _package_versions(rootfs)

        report("write")
        layer_dir = work / "layer"
        layer_dir.mkdir()
        layer = write_layer(rootfs, layer_dir, epoch)
        shutil.rmtree(rootfs)
        blobs = image_blobs(
            layer,
            container_config(spec, epoch),
            platform,
            epoch,
            created_by=f"hardbase build {spec.name}",
            comment=_history_comment(spec, len(packages)),
            annotations={**oci_annotations(spec, epoch), **spec.annotations},
        )
        _write_output(blobs, options.output, platform)
        pushed = _push(blobs, options, platform, work, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sbom_path = _write_sbom(options.output, blobs, epoch) if options.sbom else None
    return BuildResult(
        output=str(options.output),
        manifest_digest=blobs.manifest_digest,
        config_digest=blobs.config_digest,
        epoch=epoch,
        packages=packages,
        removed_packages=hardening.prune.removed if hardening.prune else (),
        uncompressed_size=layer.uncompressed_size,
        compressed_size=layer.size,
        bootstrap_seconds=bootstrap_seconds,
        total_seconds=time.monotonic() - started,
        pushed=pushed,
        sbom_path=sbom_path,
        cleared_setid=hardening.cleared_setid,
    )


def _epoch(options: BuildOptions, rootfs: Path, release_date: int | None, source: str) -> int:
    if options.source_date_epoch is not None:
        return options.source_date_epoch
    environment = os.environ.get("SOURCE_DATE_EPOCH")
    if environment:
        if not environment.isdigit():
            raise InputError(f"SOURCE_DATE_EPOCH={environment!r} is not a Unix time in seconds")
        return int(environment)
    newest = package_epoch(rootfs)
    if newest is not None:
        return newest
    if release_date is not None:
        return release_date
    raise InputError(
        f"{source}: no package date and no Release date found to use as SOURCE_DATE_EPOCH",
        hint="set SOURCE_DATE_EPOCH",
    )


def _package_versions(rootfs: Path) -> tuple[str, ...]:
    stanzas, installed = read_status(rootfs)
    versions = {
        s["Package"]: s.get("Version", "") for s in stanzas if s.get("Package") in installed
    }
    return tuple(f"{name}={versions[name]}" for name in sorted(versions))


def _history_comment(spec: BuildSpec, package_count: int) -> str:
    flavour = spec.hardening.flavour.value
    return f"debian {spec.distribution.suite}, {flavour} flavour, {package_count} packages"


def _write_output(blobs: ImageBlobs, output: OutputTarget, platform: Platform) -> None:
    if output.transport == "oci":
        write_oci_layout(blobs, output.path, output.name, platform)
    else:
        write_docker_archive(blobs, output.path, output.name)


def _push(
    blobs: ImageBlobs,
    options: BuildOptions,
    platform: Platform,
    work: Path,
    report: StepCallback,
) -> str | None:
    if not options.push:
        return None
    report("push")
    if options.output.transport == "oci":
        source = f"oci:{options.output.path}:{options.output.name}"
    else:
        # A docker archive stores the layer uncompressed; push the same gzip blob as the
        # OCI layout would, so the pushed digest equals the manifest digest reported.
        layout = work / "push-layout"
        write_oci_layout(blobs, layout, DEFAULT_TAG, platform)
        source = f"oci:{layout}:{DEFAULT_TAG}"
    skopeo.copy(source, options.push, tls_verify=options.push_tls_verify, preserve_digests=True)
    return options.push


def _write_sbom(output: OutputTarget, blobs: ImageBlobs, epoch: int) -> Path:
    """Write a CycloneDX SBOM of the written image beside it, as ``hardbase sbom`` does.

    The serial number and timestamp derive from the manifest digest and the
    epoch, so a reproducible image gets a reproducible SBOM.
    """
    from hardbase.image.reader import open_image
    from hardbase.packages import read_inventory
    from hardbase.report._sbom import subject_from_image
    from hardbase.report.cyclonedx import cyclonedx_json

    reference = f"{output.transport}:{output.path}:{output.name}"
    with open_image(reference) as opened:
        inventory = read_inventory(opened.fs)
        subject = subject_from_image(opened)
    text = cyclonedx_json(
        inventory,
        subject,
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"hardbase:{blobs.manifest_digest}"),
        timestamp=datetime.fromtimestamp(epoch, UTC),
    )
    path = output.path.with_name(output.path.name + ".cdx.json")
    descriptor, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(partial).chmod(0o644)
        Path(partial).replace(path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path
