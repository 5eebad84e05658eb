"""Find credentials in an image: in file content, in the configuration's Env and in its history.

Evidence names the place, the credential type and a redacted prefix; the
secret value itself never enters a finding or a log line.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from typing import Any

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.context import ImageContext
from hardbase.audit.image_checks.detectors import (
    DETECTORS,
    TOKEN_DETECTORS,
    SecretMatch,
    detect_secrets,
    find_url_credentials,
    line_of,
)
from hardbase.errors import ImageError
from hardbase.image.fs import FileEntry
from hardbase.image.model import ImageConfig
from hardbase.scan.findings import Finding, Severity

logger = logging.getLogger(__name__)

#: Bytes read from the start of each regular file. Keys and credential files are a
#: few kilobytes; a secret further into a larger file is not found.
READ_LIMIT = 64 * 1024

#: First block of a file; a NUL byte in it marks the file as binary, which is skipped.
#: UTF-16 text has NUL bytes too, so it is skipped with the binaries.
BINARY_PROBE = 4096

#: Folder names that mark a package's own test data or examples.
_TEST_FOLDERS = frozenset({"test", "tests", "testdata", "testing", "example", "examples"})

#: Words of a variable name that mark its value as a secret.
_SECRET_WORDS = frozenset(
    {"PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "PWD"}
    | {"SECRET", "SECRETS", "TOKEN", "TOKENS", "APIKEY", "CREDENTIAL", "CREDENTIALS"}
)
#: Two-word names of secrets, such as ``API_KEY`` and ``PRIVATE_KEY``.
_SECRET_PAIRS = frozenset(
    {("API", "KEY"), ("PRIVATE", "KEY"), ("ACCESS", "KEY"), ("AUTH", "KEY")}
    | {("ENCRYPTION", "KEY"), ("SIGNING", "KEY"), ("MASTER", "KEY")}
)
#: Last words of names whose value points to a secret or describes it (``DB_PASSWORD_FILE``).
_REFERENCE_WORDS = frozenset(
    {"FILE", "FILES", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "NAME", "ID"}
    | {"USER", "USERNAME", "LENGTH", "POLICY", "TYPE", "METHOD", "HASH", "PROMPT"}
)
_NAME_WORDS = re.compile(r"[A-Z0-9]+")
_ASSIGNMENT = re.compile(rb"(?<![A-Za-z0-9_$])([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S+)")


@dataclass(frozen=True)
class SecretScan:
    """Credentials found in file content, and what the scan read to find them."""

    findings: tuple[Finding, ...]
    files_read: int
    """Regular files whose content was searched."""
    bytes_read: int
    binary_files: int
    """Files skipped because their first block holds a NUL byte."""
    unreadable_files: int


def scan_files(context: ImageContext, read_limit: int = READ_LIMIT) -> SecretScan:
    """Search the first ``read_limit`` bytes of every non-empty, non-binary regular file."""
    findings: list[Finding] = []
    files_read = bytes_read = binary = unreadable = 0
    for entry in context.entries:
        if not entry.is_file or entry.size == 0:
            continue
        try:
            data = _read_text_head(context, entry, read_limit)
        except (OSError, ImageError) as error:
            # Counted in the summary, so one line per file is enough at debug level.
            logger.debug("credential search: cannot read %s: %s", entry.path, error)
            unreadable += 1
            continue
        if data is None:
            binary += 1
            continue
        files_read += 1
        bytes_read += len(data)
        for match in detect_secrets(data, DETECTORS):
            findings.append(_file_finding(context, entry, data, match))
    return SecretScan(tuple(findings), files_read, bytes_read, binary, unreadable)


def _read_text_head(context: ImageContext, entry: FileEntry, read_limit: int) -> bytes | None:
    with context.fs.open(entry.path) as handle:
        head = handle.read(min(BINARY_PROBE, read_limit))
        if b"\0" in head:
            return None
        if len(head) < BINARY_PROBE or read_limit <= BINARY_PROBE:
            return head
        return head + handle.read(read_limit - len(head))


def _file_finding(
    context: ImageContext, entry: FileEntry, data: bytes, match: SecretMatch
) -> Finding:
    line = line_of(data, match.offset)
    package = context.owner(entry.path)
    evidence: dict[str, Any] = {
        "path": entry.path,
        "line": line,
        "kind": match.kind,
        "match": match.preview,
        **match.details,
        "package": package,
    }
    severity = match.severity
    title = f"{_capitalize(match.description)} in {entry.path} line {line}"
    if package is not None and _TEST_FOLDERS.intersection(entry.path.split("/")):
        # Test data that a package ships is published in the archive, so it grants nothing.
        severity = Severity.LOW
        evidence["package_test_data"] = True
        title += f" (test data of package {package})"
    return match.rule.finding(title, evidence, severity=severity, package=package)


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def is_secret_name(name: str) -> bool:
    """Return whether a variable name says that its value is a secret.

    ``DB_PASSWORD``, ``GITHUB_TOKEN`` and ``STRIPE_API_KEY`` are secrets;
    ``DB_PASSWORD_FILE``, ``GPG_KEY``, ``TOKENIZERS_PARALLELISM`` and ``PWD`` are not.
    """
    words = _NAME_WORDS.findall(name.upper())
    if not words or name in ("PWD", "OLDPWD") or words[-1] in _REFERENCE_WORDS:
        return False
    if _SECRET_WORDS.intersection(words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def check_env(config: ImageConfig | None) -> list[Finding]:
    """Report Env variables whose value is a known token format or whose name marks a secret."""
    if config is None:
        return []
    findings = []
    for variable in config.env:
        name, sep, value = variable.partition("=")
        if not sep or not value:
            continue
        source = {"source": "config Env", "variable": name}
        token_matches = _value_matches(value.encode("utf-8", "surrogateescape"))
        for match in token_matches:
            findings.append(
                match.rule.finding(
                    f"{_capitalize(match.description)} in Env variable {name}",
                    {**source, "kind": match.kind, "match": match.preview, **match.details},
                    severity=match.severity,
                )
            )
        if not token_matches and is_secret_name(name):
            findings.append(
                rules.ENV_SECRET.finding(
                    f"Env variable {name} holds a secret in the image configuration",
                    {**source, "value": "(redacted)"},
                )
            )
    return findings


def check_history(config: ImageConfig | None) -> list[Finding]:
    """Report build steps in the history that set a secret-named variable or hold a token.

    BuildKit records the build arguments of each RUN step (``|1 TOKEN=value``),
    so an ARG secret stays readable in the history after the build.
    """
    if config is None:
        return []
    findings = []
    for index, created_by in enumerate(config.history, start=1):
        data = created_by.encode("utf-8", "surrogateescape")
        token_matches = _value_matches(data)
        for match in token_matches:
            findings.append(
                rules.HISTORY_SECRET.finding(
                    f"{_capitalize(match.description)} in history step {index}",
                    {
                        "source": "config history",
                        "step": index,
                        "kind": match.kind,
                        "match": match.preview,
                        **match.details,
                    },
                    severity=max(
                        match.severity or match.rule.severity, rules.HISTORY_SECRET.severity
                    ),
                )
            )
        offsets = {m.offset for m in token_matches}
        for found in _ASSIGNMENT.finditer(data):
            name, value = found.group(1).decode(), found.group(2).strip(b"\"'")
            if not value or value.startswith(b"$") or not is_secret_name(name):
                continue
            start, end = found.span(2)
            if any(start <= offset < end for offset in offsets):
                continue
            findings.append(
                rules.HISTORY_SECRET.finding(
                    f"History step {index} sets {name} to a value",
                    {
                        "source": "config history",
                        "step": index,
                        "variable": name,
                        "value": "(redacted)",
                    },
                )
            )
    return findings


def _value_matches(data: bytes) -> list[SecretMatch]:
    matches = detect_secrets(data, TOKEN_DETECTORS)
    matches.extend(find_url_credentials(data, whole_line=False))
    return matches
