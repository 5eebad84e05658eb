"""The example specs, built for real and read back by umoci, skopeo, buildah and hardbase."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from built_images import EPOCH, BuiltImage, cached_example

from hardbase.image.reader import open_image
from hardbase.packages import read_inventory

pytestmark = [pytest.mark.slow, pytest.mark.network]

EXAMPLE_NAMES = ("debian-base", "debian-runtime", "php-cli")
SHELLS = ("/usr/bin/sh", "/usr/bin/bash", "/usr/bin/dash", "/bin/sh", "/bin/bash")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return found


@pytest.fixture(scope="session", params=EXAMPLE_NAMES)
def example(request: pytest.FixtureRequest) -> BuiltImage:
    return cached_example(request.param)


@pytest.fixture(scope="session")
def base_image() -> BuiltImage:
    return cached_example("debian-base")


@pytest.fixture(scope="session")
def runtime_image() -> BuiltImage:
    return cached_example("debian-runtime")


@pytest.fixture(scope="session")
def php_image() -> BuiltImage:
    return cached_example("php-cli")


def _buildah(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        _tool("buildah"),
        "--storage-driver",
        "vfs",
        "--root",
        str(tmp_path / "storage"),
        "--runroot",
        str(tmp_path / "run"),
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def _run_in(image: BuiltImage, tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    # buildah derives an image name from the layout's path, and a hidden folder such as
    # ~/.cache is not valid in one, so it gets the layout through a plain link name.
    link = tmp_path / "layout"
    link.symlink_to(image.layout)
    created = _buildah(tmp_path, "from", "--quiet", "--pull-never", f"oci:{link}:{image.tag}")
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    try:
        return _buildah(tmp_path, "run", "--isolation", "chroot", container, "--", *command)
    finally:
        _buildah(tmp_path, "rm", container)


def test_umoci_unpacks_example(example: BuiltImage, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    result = subprocess.run(
        [_tool("umoci"), "unpack", "--image", f"{example.layout}:{example.tag}", str(bundle)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (bundle / "rootfs" / "etc" / "os-release").exists()
    config = json.loads((bundle / "config.json").read_text())
    assert config["process"]["user"]["uid"] == 1000


def test_skopeo_inspect_matches_digest(example: BuiltImage) -> None:
    result = subprocess.run(
        [_tool("skopeo"), "inspect", example.reference],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["Digest"] == example.manifest_digest
    assert document["Created"] == "2023-11-14T22:13:20Z"


def test_config_runs_as_uid_1000(example: BuiltImage) -> None:
    with open_image(example.reference) as image:
        assert image.config is not None
        assert image.config.user == "1000:1000"
        assert image.config.labels["org.opencontainers.image.title"] == example.name
        assert image.config.history == (f"hardbase build {example.name}",)


def test_passwd_has_uid_1000(example: BuiltImage) -> None:
    with open_image(example.reference) as image:
        passwd = image.fs.read_text("/etc/passwd")
        group = image.fs.read_text("/etc/group")
    assert any(line.split(":")[2] == "1000" for line in passwd.splitlines())
    assert any(line.split(":")[2] == "1000" for line in group.splitlines())


def test_docs_stripped_except_copyright(example: BuiltImage) -> None:
    with open_image(example.reference) as image:
        files = [entry.path for entry in image.fs.walk() if entry.is_file]
    doc_files = [path for path in files if path.startswith("/usr/share/doc/")]
    man_pages = [path for path in files if path.startswith("/usr/share/man/")]
    assert doc_files
    assert all(path.endswith("/copyright") for path in doc_files)
    assert man_pages == []


def test_no_setuid_files(example: BuiltImage) -> None:
    with open_image(example.reference) as image:
        flagged = [entry.path for entry in image.fs.walk() if entry.is_file and entry.mode & 0o6000]
    assert flagged == []


def test_package_database_matches_files(example: BuiltImage) -> None:
    with open_image(example.reference) as image:
        inventory = read_inventory(image.fs)
        missing = []
        for package in inventory.installed:
            regular = [path for path in package.files if image.fs.is_file(path)]
            if package.files and not regular and not any(image.fs.lstat(p) for p in package.files):
                missing.append(package.name)
        names = {package.name for package in inventory.installed}
    assert missing == []
    assert {name.split("=")[0] for name in example.packages} == names


def test_hardening_scan_finds_nothing_medium(example: BuiltImage) -> None:
    audit = pytest.importorskip("hardbase.audit.image")
    from hardbase.scan.findings import Severity

    with open_image(example.reference) as image:
        inventory = read_inventory(image.fs)
        findings = audit.check_image(image, inventory)
    serious = [f"{f.rule_id} {f.title}" for f in findings if f.severity >= Severity.MEDIUM]
    assert serious == []


def test_sbom_written_beside_image(example: BuiltImage) -> None:
    if example.sbom is None:
        pytest.skip("the CycloneDX writer is not available in this tree")
    document = json.loads(Path(example.sbom).read_text())
    names = {component["name"] for component in document.get("components", [])}
    assert "libc6" in names


def test_base_runs_id_as_1000_in_buildah(base_image: BuiltImage, tmp_path: Path) -> None:
    result = _run_in(base_image, tmp_path, "id", "-u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1000"


def test_base_has_shell_and_dpkg_not_apt(base_image: BuiltImage) -> None:
    names = {entry.split("=")[0] for entry in base_image.packages}
    assert {"bash", "dpkg", "coreutils"} <= names
    assert "apt" not in names


def test_runtime_has_no_shell_or_package_manager(runtime_image: BuiltImage) -> None:
    with open_image(runtime_image.reference) as image:
        shells = [path for path in SHELLS if image.fs.lstat(path) is not None]
        dpkg = image.fs.lstat("/usr/bin/dpkg")
        apt = image.fs.lstat("/usr/bin/apt")
    assert shells == []
    assert dpkg is None
    assert apt is None


def test_runtime_keeps_glibc_certificates_zones(runtime_image: BuiltImage) -> None:
    with open_image(runtime_image.reference) as image:
        assert image.fs.is_file("/etc/ssl/certs/ca-certificates.crt")
        assert image.fs.is_file("/usr/share/zoneinfo/Europe/Berlin")
        assert image.fs.resolve("/lib64/ld-linux-x86-64.so.2") is not None
        names = {p.name for p in read_inventory(image.fs).installed}
    assert {"libc6", "ca-certificates", "tzdata", "netbase", "base-files"} <= names
    assert not names & {"bash", "dash", "dpkg", "debconf", "perl-base", "mawk"}


def test_runtime_removed_stanzas_and_info(runtime_image: BuiltImage) -> None:
    with open_image(runtime_image.reference) as image:
        status = image.fs.read_text("/var/lib/dpkg/status")
        info = image.fs.listdir("/var/lib/dpkg/info")
    assert "Package: dash\n" not in status
    assert "Package: dpkg\n" not in status
    assert not [name for name in info if name.startswith(("dash.", "dpkg.", "debconf."))]
    assert "dash" in {entry.split("=")[0] for entry in runtime_image.removed_packages}


def test_runtime_size_target(runtime_image: BuiltImage) -> None:
    assert runtime_image.uncompressed_size <= 25 * 1000 * 1000


def test_base_size_target(base_image: BuiltImage) -> None:
    assert base_image.uncompressed_size <= 45 * 1000 * 1000


def test_php_runs_without_shell(php_image: BuiltImage, tmp_path: Path) -> None:
    result = _run_in(php_image, tmp_path, "/usr/bin/php8.2", "-r", "echo getmyuid(), PHP_EOL;")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1000"


def test_php_keeps_its_libraries_only(php_image: BuiltImage) -> None:
    names = {entry.split("=")[0] for entry in php_image.packages}
    assert "php8.2-cli" in names
    assert "libssl3" in names
    assert not names & {"bash", "dash", "dpkg", "debconf", "ucf", "perl-base"}


def test_epoch_fixed_in_layer_times(runtime_image: BuiltImage) -> None:
    with open_image(runtime_image.reference) as image:
        newest = max(entry.mtime for entry in image.fs.walk())
    assert newest <= EPOCH
