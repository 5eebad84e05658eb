"""gpgv verification of a real bookworm-security InRelease, intact and modified."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hardbase.errors import InputError, VerificationError
from hardbase.tools.gpgv import verify_clearsigned, verify_clearsigned_detailed

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "archive"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# Primary fingerprints of the two keys that sign bookworm-security.
BULLSEYE_SECURITY_KEY = "AC530D520F2F3269F5E98313A48449044AAD5C5D"
BOOKWORM_SECURITY_KEY = "05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0"
BOOKWORM_RELEASE_KEY = "4D64FEC119C2029067D6E791F8D2585B8783D481"

pytestmark = pytest.mark.skipif(
    shutil.which("gpgv") is None or not DEBIAN_KEYRING.is_file(),
    reason="needs gpgv and debian-archive-keyring",
)


@pytest.fixture
def inrelease() -> bytes:
    return (ASSETS / "bookworm-security.InRelease").read_bytes()


def export_keyring(tmp_path: Path, *fingerprints: str) -> Path:
    """Write a keyring with only the given keys of Debian's keyring."""
    if shutil.which("gpg") is None:
        pytest.skip("needs gpg to export keys")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    exported = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--no-default-keyring",
            "--keyring",
            str(DEBIAN_KEYRING),
            "--export",
            *fingerprints,
        ],
        capture_output=True,
        check=True,
    ).stdout
    keyring = tmp_path / "partial.gpg"
    keyring.write_bytes(exported)
    return keyring


def test_verify_returns_signed_content(inrelease: bytes) -> None:
    content = verify_clearsigned(inrelease, DEBIAN_KEYRING)
    assert content.startswith(b"Origin: Debian\nLabel: Debian-Security\n")
    assert b"-----BEGIN PGP" not in content


def test_verify_names_both_signing_keys(inrelease: bytes) -> None:
    signed = verify_clearsigned_detailed(inrelease, DEBIAN_KEYRING)
    assert set(signed.fingerprints) == {BULLSEYE_SECURITY_KEY, BOOKWORM_SECURITY_KEY}


def test_unsigned_text_around_signature_is_dropped(inrelease: bytes) -> None:
    wrapped = b"Codename: injected-before\n\n" + inrelease + b"\nCodename: injected-after\n"
    content = verify_clearsigned(wrapped, DEBIAN_KEYRING)
    assert b"injected-before" not in content
    assert b"injected-after" not in content
    assert content == verify_clearsigned(inrelease, DEBIAN_KEYRING)


def test_one_changed_byte_is_rejected(inrelease: bytes) -> None:
    position = inrelease.index(b"Debian-Security")
    tampered = inrelease[:position] + b"d" + inrelease[position + 1 :]
    with pytest.raises(VerificationError, match="BAD signature"):
        verify_clearsigned(tampered, DEBIAN_KEYRING)


def test_second_message_appended_is_rejected(inrelease: bytes) -> None:
    with pytest.raises(VerificationError):
        verify_clearsigned(inrelease + inrelease, DEBIAN_KEYRING)


def test_unsigned_file_is_rejected() -> None:
    with pytest.raises(VerificationError, match="no OpenPGP signed message"):
        verify_clearsigned(b"Origin: Debian\nCodename: bookworm\n", DEBIAN_KEYRING)


def test_keyring_without_signing_keys_rejects(inrelease: bytes, tmp_path: Path) -> None:
    keyring = export_keyring(tmp_path, BOOKWORM_RELEASE_KEY)
    with pytest.raises(VerificationError, match="not in the keyring"):
        verify_clearsigned(inrelease, keyring)


def test_one_known_signing_key_is_enough(inrelease: bytes, tmp_path: Path) -> None:
    keyring = export_keyring(tmp_path, BOOKWORM_SECURITY_KEY)
    signed = verify_clearsigned_detailed(inrelease, keyring)
    assert signed.fingerprints == (BOOKWORM_SECURITY_KEY,)


def test_missing_keyring_is_input_error(inrelease: bytes, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        verify_clearsigned(inrelease, tmp_path / "absent.gpg")


def test_armored_keyring_is_input_error(inrelease: bytes, tmp_path: Path) -> None:
    armored = tmp_path / "archive.asc"
    armored.write_text(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    with pytest.raises(InputError, match="ASCII-armored"):
        verify_clearsigned(inrelease, armored)
