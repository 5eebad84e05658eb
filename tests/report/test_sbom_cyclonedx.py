"""CycloneDX SBOMs of real package databases, checked against CycloneDX's own JSON schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import cyclonedx.schema._res as cyclonedx_schemas
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7

from conftest import REPO, shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.report._sbom import SbomSubject
from hardbase.report.cyclonedx import component_licenses, cyclonedx_json

SCHEMA_DIR = Path(cyclonedx_schemas.__file__).parent
SERIAL = UUID("00000000-0000-4000-8000-000000000001")
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
REAL_IMAGES = [
    "alpine37-julia",
    "alpine310-mbl-armv7",
    "alpine321-php",
    "bookworm-langflow-backend",
    "bookworm-laravel",
    "bullseye-container",
    "bullseye-postgres",
    "buster-base-rootfs",
    "buster-drupal",
    "stretch-nginx-proxy",
    "ubuntu1604-held",
    "ubuntu2004-owncloud",
    "ubuntu2204-lowerdir",
    "ubuntu2404-vet",
]


def validator(spec_version: str) -> jsonschema.Draft7Validator:
    """Return a validator for the CycloneDX schema that cyclonedx-python-lib ships."""
    resources = []
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((SCHEMA_DIR / name).read_text())
        resources.append((f"http://cyclonedx.org/schema/{name}", DRAFT7.create_resource(contents)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMA_DIR / f"bom-{spec_version}.SNAPSHOT.schema.json").read_text())
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def schema_errors(document: dict[str, Any], spec_version: str = "1.6") -> list[str]:
    errors = validator(spec_version).iter_errors(document)
    return [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def real_inventory(folder: str) -> Inventory:
    root = shared_data("real-images", folder)
    return read_inventory(HostDirView(root, folder), files=False)


def sbom_of(inventory: Inventory, spec_version: str = "1.6") -> dict[str, Any]:
    subject = SbomSubject(name="example/image:1", transport="oci", digest="sha256:" + "ab" * 32)
    text = cyclonedx_json(
        inventory, subject, spec_version=spec_version, serial_number=SERIAL, timestamp=WHEN
    )
    document: dict[str, Any] = json.loads(text)
    return document


def libraries(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document["components"] if c["type"] == "library"}


def properties(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


@pytest.mark.parametrize("folder", REAL_IMAGES)
def test_real_image_sbom_valid(folder: str) -> None:
    document = sbom_of(real_inventory(folder))

    assert schema_errors(document) == []


def test_spec_1_5_valid() -> None:
    document = sbom_of(real_inventory("ubuntu1604-held"), "1.5")

    assert document["specVersion"] == "1.5"
    assert schema_errors(document, "1.5") == []


def test_distroless_sbom_valid() -> None:
    root = REPO / "tests" / "assets" / "packages" / "distroless"
    document = sbom_of(read_inventory(HostDirView(root, "distroless")))

    assert schema_errors(document) == []
    assert sorted(libraries(document)) == ["busybox", "libssl3"]


def test_output_is_deterministic() -> None:
    inventory = real_inventory("bullseye-container")
    subject = SbomSubject(name="example/image:1", transport="oci")

    first = cyclonedx_json(inventory, subject, serial_number=SERIAL, timestamp=WHEN)
    second = cyclonedx_json(
        real_inventory("bullseye-container"), subject, serial_number=SERIAL, timestamp=WHEN
    )

    assert first == second


def test_config_files_packages_left_out() -> None:
    document = sbom_of(real_inventory("ubuntu1604-held"))

    components = libraries(document)

    assert len(components) == 162
    assert "dbus" not in components
    assert "libmpc3" not in components


def test_held_package_properties() -> None:
    document = sbom_of(real_inventory("ubuntu1604-held"))

    apt = properties(libraries(document)["apt"])

    assert apt["hardbase:package:selection"] == "hold"
    assert apt["hardbase:package:state"] == "installed"
    assert apt["hardbase:package:source-name"] == "apt"


def test_binnmu_source_properties() -> None:
    document = sbom_of(real_inventory("bookworm-laravel"))

    bash = libraries(document)["bash"]

    assert properties(bash)["hardbase:package:source-version"] == "5.2.15-2"
    assert bash["version"] == "5.2.15-2+b7"
    assert bash["purl"].endswith("&upstream=bash%405.2.15-2")
    assert bash["bom-ref"] == bash["purl"]


def test_image_and_os_components() -> None:
    document = sbom_of(real_inventory("ubuntu2204-lowerdir"))

    image = document["metadata"]["component"]
    systems = [c for c in document["components"] if c["type"] == "operating-system"]

    assert image["type"] == "container"
    assert image["name"] == "example/image:1"
    assert image["version"] == "sha256:" + "ab" * 32
    assert [(s["name"], s["version"]) for s in systems] == [("ubuntu", "22.04")]
    assert document["serialNumber"] == f"urn:uuid:{SERIAL}"


def test_dependencies_resolve_to_components() -> None:
    document = sbom_of(real_inventory("bookworm-laravel"))

    refs = {c["bom-ref"] for c in document["components"]} | {"image"}
    by_ref = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    apt = libraries(document)["apt"]

    assert all(target in refs for targets in by_ref.values() for target in targets)
    assert libraries(document)["libc6"]["bom-ref"] in by_ref[apt["bom-ref"]]


def test_apk_so_provides_resolve() -> None:
    document = sbom_of(real_inventory("alpine310-mbl-armv7"))

    components = libraries(document)
    by_ref = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    rundeps = by_ref[components[".python-rundeps"]["bom-ref"]]

    assert components["musl"]["bom-ref"] in rundeps
    assert components["libssl1.1"]["bom-ref"] in rundeps
    assert components[".python-rundeps"]["bom-ref"] not in rundeps


@pytest.mark.slow
def test_debian_license_names_become_ids(bookworm_dir: Path) -> None:
    document = sbom_of(read_inventory(HostDirView(bookworm_dir, "bookworm"), files=False))

    apt = libraries(document)["apt"]

    # apt's copyright file names BSD-3-clause, Expat, GPL-2 and GPL-2+.
    assert apt["licenses"] == [
        {"license": {"id": "BSD-3-Clause"}},
        {"license": {"id": "GPL-2.0-only"}},
        {"license": {"id": "GPL-2.0-or-later"}},
        {"license": {"id": "MIT"}},
    ]


def test_license_expression_alone() -> None:
    licenses = component_licenses(("GPL-2+ or Artistic-2.0",))

    assert [str(license.value) for license in licenses] == ["GPL-2.0-or-later OR Artistic-2.0"]


def test_unknown_license_kept_as_name() -> None:
    licenses = component_licenses(("public-domain", "MIT"))

    names = sorted((license.id or "", license.name or "") for license in licenses)  # type: ignore[union-attr]

    assert names == [("", "public-domain"), ("MIT", "")]


def test_expression_among_others_named() -> None:
    licenses = component_licenses(("MIT", "GPL-2+ or Artistic-2.0"))

    names = sorted((license.id or "", license.name or "") for license in licenses)  # type: ignore[union-attr]

    assert names == [("", "GPL-2+ or Artistic-2.0"), ("MIT", "")]


@pytest.mark.slow
def test_bookworm_sbom_valid(bookworm_dir: Path) -> None:
    document = sbom_of(read_inventory(HostDirView(bookworm_dir, "bookworm"), files=False))

    assert schema_errors(document) == []
    assert len(libraries(document)) > 50
