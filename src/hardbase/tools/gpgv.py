"""gpgv: verify OpenPGP clearsigned files, such as a Debian archive's InRelease, against a keyring.

The signed content is taken from gpgv's ``--output`` and never from the input
text, so unsigned text around the signature cannot reach the caller. A
signature counts only when gpgv reports both GOODSIG and VALIDSIG for it with a
hash algorithm other than MD5, SHA-1 or RIPEMD-160, as APT decides.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hardbase.errors import InputError, ToolError, VerificationError
from hardbase.tools._run import run

logger = logging.getLogger(__name__)

#: Oldest gpgv accepted: 2.1 introduced the status lines parsed here in their current form.
MIN_VERSION = (2, 1)

#: OpenPGP hash algorithm ids (RFC 4880, section 9.4) that no longer count as a signature.
_WEAK_HASH_ALGORITHMS = {"1": "MD5", "2": "SHA1", "3": "RIPEMD160"}

_STATUS_PREFIX = "[GNUPG:] "
_VERSION = re.compile(r"^gpgv \(GnuPG\) (\d+)\.(\d+)(?:\.(\d+))?", re.MULTILINE)
_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class SignedContent:
    """The content of a clearsigned file whose signature verified."""

    content: bytes
    """The signed text exactly as gpgv wrote it with ``--output``."""
    fingerprints: tuple[str, ...]
    """Primary key fingerprints of the keys whose signatures verified."""


@dataclass
class _Signature:
    good: bool = False
    valid_fingerprint: str | None = None
    hash_algorithm: str | None = None
    problem: str | None = None


@functools.cache
def gpgv_version() -> tuple[int, int, int]:
    """Return gpgv's version, raising ToolError when gpgv is missing or older than 2.1."""
    completed = run("gpgv", ["--version"], timeout=_TIMEOUT_SECONDS)
    text = completed.stdout.decode("utf-8", "replace")
    match = _VERSION.search(text)
    if match is None:
        raise ToolError("gpgv --version printed no version", hint="install gpgv from GnuPG 2")
    version = (int(match[1]), int(match[2]), int(match[3] or 0))
    if version[:2] < MIN_VERSION:
        found = ".".join(map(str, version))
        raise ToolError(f"gpgv {found} is too old", hint="install gpgv 2.1 or later")
    logger.debug("using gpgv %s", ".".join(map(str, version)))
    return version


def check_keyring(keyring: Path) -> Path:
    """Return ``keyring`` as an absolute path, raising InputError when gpgv cannot use it.

    gpgv reads binary keyrings only, so an ASCII-armored ``.asc`` file is rejected
    with a hint to convert it.
    """
    path = keyring.expanduser().absolute()
    if not path.is_file():
        raise InputError(
            f"keyring {path} not found",
            hint="install debian-archive-keyring (or ubuntu-keyring), or pass the keyring path",
        )
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.lstrip().startswith(b"-----BEGIN PGP"):
        raise InputError(
            f"keyring {path} is ASCII-armored, which gpgv cannot read",
            hint=f"convert it with: gpg --dearmor < {path} > {path.with_suffix('.gpg').name}",
        )
    return path


def verify_clearsigned(data: bytes, keyring: Path) -> bytes:
    """Verify the clearsigned ``data`` against ``keyring`` and return the signed content.

    Raises:
        VerificationError: the signature is bad, made by no key in the keyring,
            made with a weak hash, or the input contains no or several signed messages.
            The message carries gpgv's reason.
        InputError: the keyring is missing or unreadable by gpgv.
        ToolError: gpgv is missing, too old, or did not run.
    """
    return verify_clearsigned_detailed(data, keyring).content


def verify_clearsigned_detailed(data: bytes, keyring: Path) -> SignedContent:
    """Verify like `verify_clearsigned` and also return the fingerprints of the signing keys."""
    gpgv_version()
    keyring_path = check_keyring(keyring)
    with tempfile.TemporaryDirectory(prefix="hardbase-gpgv-") as scratch:
        folder = Path(scratch)
        signed = folder / "InRelease"
        output = folder / "content"
        signed.write_bytes(data)
        # --homedir keeps gpgv away from the user's ~/.gnupg.
        completed = run(
            "gpgv",
            [
                "--homedir",
                str(folder),
                "--status-fd",
                "1",
                "--keyring",
                str(keyring_path),
                "--output",
                str(output),
                str(signed),
            ],
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
        status = completed.stdout.decode("utf-8", "replace")
        reason = _last_line(completed.stderr.decode("utf-8", "replace"))
        fingerprints = _judge(status, reason)
        if not output.is_file():
            raise VerificationError(f"gpgv wrote no signed content ({reason})")
        content = output.read_bytes()
    logger.debug("signature verified, keys %s", ", ".join(fingerprints))
    return SignedContent(content, fingerprints)


def _judge(status: str, reason: str) -> tuple[str, ...]:
    """Return the fingerprints of the good signatures in gpgv's status output, or raise."""
    signatures: list[_Signature] = []
    plaintexts = 0
    for line in status.splitlines():
        if not line.startswith(_STATUS_PREFIX):
            continue
        keyword, _, rest = line[len(_STATUS_PREFIX) :].partition(" ")
        fields = rest.split()
        if keyword == "PLAINTEXT":
            plaintexts += 1
        elif keyword == "NEWSIG":
            signatures.append(_Signature())
        elif keyword == "BADSIG":
            raise VerificationError(f"BAD signature from {rest}", hint="the file was modified")
        elif keyword == "ERROR":
            # gpgv reports, for example, a second signed message appended to the first.
            raise VerificationError(f"gpgv reported an error: {rest} ({reason})")
        elif signatures:
            _record(signatures[-1], keyword, fields)

    if plaintexts == 0:
        raise VerificationError(f"no OpenPGP signed message found ({reason})")
    if plaintexts > 1:
        raise VerificationError(f"{plaintexts} signed messages found where one is allowed")
    good = [s.valid_fingerprint for s in signatures if s.good and s.valid_fingerprint]
    if not good:
        problems = "; ".join(s.problem for s in signatures if s.problem) or reason
        raise VerificationError(
            f"no valid signature by a key in the keyring: {problems}",
            hint="check the keyring, and that the file came from the archive",
        )
    return tuple(good)


def _record(signature: _Signature, keyword: str, fields: list[str]) -> None:
    if keyword == "GOODSIG":
        signature.good = True
    elif keyword == "VALIDSIG" and len(fields) >= 8:
        signature.hash_algorithm = fields[7]
        weak = _WEAK_HASH_ALGORITHMS.get(fields[7])
        if weak is not None:
            signature.good = False
            signature.problem = f"signature by {fields[0]} uses the weak hash {weak}"
        else:
            # The last field is the primary key's fingerprint; a subkey may have signed.
            signature.valid_fingerprint = fields[-1] if len(fields) >= 10 else fields[0]
    elif keyword in ("EXPKEYSIG", "REVKEYSIG", "EXPSIG"):
        signature.good = False
        state = {"EXPKEYSIG": "expired key", "REVKEYSIG": "revoked key", "EXPSIG": "expired"}
        signature.problem = f"{state[keyword]} signature from {' '.join(fields)}"
    elif keyword == "ERRSIG":
        signature.problem = f"cannot check signature by key {fields[0] if fields else '?'}"
    elif keyword == "NO_PUBKEY":
        signature.problem = f"public key {fields[0] if fields else '?'} is not in the keyring"

    # A weak hash stays rejected even if GOODSIG arrives after VALIDSIG.
    if signature.hash_algorithm in _WEAK_HASH_ALGORITHMS:
        signature.good = False


def _last_line(text: str) -> str:
    """Return gpgv's last own message line, skipping its multi-line usage advice."""
    lines = [line.strip() for line in text.splitlines() if line.startswith("gpgv:")]
    return lines[-1] if lines else "gpgv printed no reason"
