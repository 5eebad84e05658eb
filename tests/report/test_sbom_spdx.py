"""SPDX 2.3 SBOMs of real package databases, checked against the official SPDX 2.3 schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema
import pytest

from conftest import REPO, shared_data
from hardbase.image.fs import HostDirView
from hardbase.packages import Inventory, read_inventory
from hardbase.report._sbom import SbomSubject
from hardbase.report.spdx import spdx_json, supplier

SCHEMA = json.loads((REPO / "tests" / "assets" / "report" / "spdx-schema-2.3.json").read_text())
NAMESPACE_ID = UUID("00000000-0000-4000-8000-000000000002")
WHEN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SUBJECT = SbomSubject(name="example/image:1", transport="oci", digest="sha256:" + "cd" * 32)
REAL_IMAGES = [
    "alpine37-julia",
    "alpine310-mbl-armv7",
    "alpine321-php",
    "bookworm-laravel",
    "bullseye-postgres",
    "buster-base-rootfs",
    "stretch-nginx-proxy",
    "ubuntu1604-held",
    "ubuntu2004-owncloud",
    "ubuntu2404-vet",
]


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def real_inventory(folder: str) -> Inventory:
    root = shared_data("real-images", folder)
    return read_inventory(HostDirView(root, folder), files=False)


def sbom_of(inventory: Inventory) -> dict[str, Any]:
    text = spdx_json(inventory, SUBJECT, namespace_id=NAMESPACE_ID, created=WHEN)
    document: dict[str, Any] = json.loads(text)
    return document


def packages_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        p["name"]: p for p in document["packages"] if p.get("primaryPackagePurpose") == "LIBRARY"
    }


def relationships(document: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {
        (r["spdxElementId"], r["relatedSpdxElement"])
        for r in document["relationships"]
        if r["relationshipType"] == kind
    }


@pytest.mark.parametrize("folder", REAL_IMAGES)
def test_real_image_sbom_valid(folder: str) -> None:
    document = sbom_of(real_inventory(folder))

    assert schema_errors(document) == []
    assert document["spdxVersion"] == "SPDX-2.3"


def test_output_is_deterministic() -> None:
    first = spdx_json(
        real_inventory("ubuntu1604-held"), SUBJECT, namespace_id=NAMESPACE_ID, created=WHEN
    )
    second = spdx_json(
        real_inventory("ubuntu1604-held"), SUBJECT, namespace_id=NAMESPACE_ID, created=WHEN
    )

    assert first == second


def test_document_metadata() -> None:
    document = sbom_of(real_inventory("buster-base-rootfs"))

    assert document["creationInfo"]["created"] == "2024-05-01T12:00:00Z"
    assert document["creationInfo"]["creators"] == ["Tool: hardbase-0.1.0"]
    assert document["dataLicense"] == "CC0-1.0"
    assert document["documentNamespace"].endswith(str(NAMESPACE_ID))
    assert document["name"] == "example/image:1"


def test_config_files_packages_left_out() -> None:
    document = sbom_of(real_inventory("ubuntu1604-held"))

    packages = packages_by_name(document)

    assert len(packages) == 162
    assert "dbus" not in packages
    assert "libmpc3" not in packages


def test_held_package_comment() -> None:
    document = sbom_of(real_inventory("ubuntu1604-held"))

    apt = packages_by_name(document)["apt"]
    bash = packages_by_name(document)["bash"]

    assert apt["comment"] == "package state installed, selection hold"
    assert "comment" not in bash


def test_purl_external_reference() -> None:
    document = sbom_of(real_inventory("bookworm-laravel"))

    bash = packages_by_name(document)["bash"]

    assert bash["externalRefs"] == [
        {
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=debian-12"
            "&upstream=bash%405.2.15-2",
        }
    ]
    assert bash["versionInfo"] == "5.2.15-2+b7"
    assert bash["sourceInfo"] == "built from source package bash 5.2.15-2"


def test_describes_and_contains() -> None:
    document = sbom_of(real_inventory("alpine321-php"))

    contained = {target for _, target in relationships(document, "CONTAINS")}
    package_ids = {p["SPDXID"] for p in document["packages"]} - {"SPDXRef-Image"}

    assert relationships(document, "DESCRIBES") == {("SPDXRef-DOCUMENT", "SPDXRef-Image")}
    assert contained == package_ids


def test_depends_on_resolves() -> None:
    document = sbom_of(real_inventory("alpine310-mbl-armv7"))

    packages = packages_by_name(document)
    depends = relationships(document, "DEPENDS_ON")

    assert (packages[".python-rundeps"]["SPDXID"], packages["musl"]["SPDXID"]) in depends
    assert (packages["busybox"]["SPDXID"], packages["musl"]["SPDXID"]) in depends


def test_apk_license_expression() -> None:
    document = sbom_of(real_inventory("alpine321-php"))

    packages = packages_by_name(document)

    assert packages["musl"]["licenseDeclared"] == "MIT"
    assert packages["musl"]["licenseConcluded"] == "NOASSERTION"


def test_non_spdx_license_no_assertion() -> None:
    document = sbom_of(real_inventory("alpine310-mbl-armv7"))

    packages = packages_by_name(document)
    # libgcc records "GPL LGPL", which names no SPDX license.
    libgcc = packages["libgcc"]

    assert libgcc["licenseDeclared"] == "NOASSERTION"
    assert libgcc["licenseComments"] == "Licenses as recorded by the package: GPL; LGPL"


def test_supplier_from_maintainer() -> None:
    document = sbom_of(real_inventory("bookworm-laravel"))

    apt = packages_by_name(document)["apt"]

    assert apt["supplier"] == "Organization: APT Development Team (deity@lists.debian.org)"


@pytest.mark.parametrize(
    ("maintainer", "expected"),
    [
        ("Natanael Copa <ncopa@alpinelinux.org>", "Person: Natanael Copa (ncopa@alpinelinux.org)"),
        (
            "Ubuntu Developers <u@lists.ubuntu.com>",
            "Organization: Ubuntu Developers (u@lists.ubuntu.com)",
        ),
        ("Jane Doe", "Person: Jane Doe"),
        ("", "NOASSERTION"),
        (None, "NOASSERTION"),
    ],
)
def test_supplier_cases(maintainer: str | None, expected: str) -> None:
    assert str(supplier(maintainer)) == expected


@pytest.mark.slow
def test_bookworm_sbom_valid(bookworm_dir: Path) -> None:
    document = sbom_of(read_inventory(HostDirView(bookworm_dir, "bookworm"), files=False))

    packages = packages_by_name(document)

    assert schema_errors(document) == []
    assert packages["adduser"]["licenseDeclared"] == "GPL-2.0-or-later"
    # In the order of apt's copyright file: GPL-2+, GPL-2, BSD-3-clause, Expat.
    assert packages["apt"]["licenseDeclared"] == (
        "GPL-2.0-or-later AND GPL-2.0-only AND BSD-3-Clause AND MIT"
    )
