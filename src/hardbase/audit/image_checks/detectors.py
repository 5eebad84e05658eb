"""Recognize credentials in file content by their format, never by file name alone.

Each detector runs only when its marker bytes occur in the content, so most
files cost a few substring searches. A match carries a redacted preview and
non-secret details; the secret itself never leaves this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hardbase.audit.image_checks import rules
from hardbase.audit.image_checks.rules import Rule
from hardbase.scan.findings import Severity

#: Matches kept per file; a file with more is reported with its first ones.
MAX_MATCHES_PER_FILE = 20

#: Part of AWS's documented example keys (``AKIAIOSFODNN7EXAMPLE``), which grant nothing.
_EXAMPLE = b"EXAMPLE"


@dataclass(frozen=True)
class SecretMatch:
    """One credential found in a piece of content."""

    rule: Rule
    kind: str
    """Machine name of the credential type, such as ``rsa-private-key``."""
    description: str
    """The credential type in words, such as ``RSA private key``."""
    offset: int
    """Byte offset of the match in the content."""
    preview: str
    """A redacted form that shows only the non-secret prefix of the credential."""
    details: dict[str, object] = field(default_factory=dict)
    """Non-secret facts, such as the registry host or whether a key is encrypted."""
    severity: Severity | None = None
    """Severity when it differs from the rule's."""


@dataclass(frozen=True)
class Detector:
    """A credential format: a cheap test for its markers and the function that finds matches."""

    name: str
    prefilter: Callable[[bytes], bool]
    """Test that returns True when the content may contain the credential. It runs on
    every file, so it is a few substring searches or a pattern that starts with a literal."""
    find: Callable[[bytes], list[SecretMatch]]


def _contains_any(*markers: bytes) -> Callable[[bytes], bool]:
    return lambda data: any(marker in data for marker in markers)


def _contains_all(*markers: bytes) -> Callable[[bytes], bool]:
    return lambda data: all(marker in data for marker in markers)


def _matches(pattern: bytes) -> Callable[[bytes], bool]:
    compiled = re.compile(pattern)
    return lambda data: compiled.search(data) is not None


def line_of(data: bytes, offset: int) -> int:
    """Return the 1-based line number of ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


# PEM private keys. "\\n" also matches a key embedded in a JSON string.
_NEWLINE = rb"(?:\r?\n|\\n)"
_PEM_KEY = re.compile(
    rb"-----BEGIN (?P<label>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
    + _NEWLINE
    + rb"(?P<headers>(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n\\]*"
    + _NEWLINE
    + rb")*)(?:"
    + _NEWLINE
    + rb")?(?P<body>[A-Za-z0-9+/]{40,})"
)
_PEM_KINDS = {
    b"RSA PRIVATE KEY": ("rsa-private-key", "RSA private key"),
    b"EC PRIVATE KEY": ("ec-private-key", "EC private key"),
    b"DSA PRIVATE KEY": ("dsa-private-key", "DSA private key"),
    b"OPENSSH PRIVATE KEY": ("openssh-private-key", "OpenSSH private key"),
    b"ENCRYPTED PRIVATE KEY": ("encrypted-private-key", "encrypted PKCS #8 private key"),
    b"PRIVATE KEY": ("pkcs8-private-key", "PKCS #8 private key"),
    b"PGP PRIVATE KEY BLOCK": ("pgp-private-key", "PGP private key block"),
}


def _find_private_keys(data: bytes) -> list[SecretMatch]:
    matches = []
    for found in _PEM_KEY.finditer(data):
        label = found.group("label")
        kind, description = _PEM_KINDS.get(label, ("private-key", "private key"))
        encrypted = _is_encrypted(label, found.group("headers"), found.group("body"))
        matches.append(
            SecretMatch(
                rules.PRIVATE_KEY,
                kind,
                description,
                found.start(),
                f"-----BEGIN {label.decode()}----- (key material redacted)",
                {"encrypted": encrypted},
                # A passphrase still protects an encrypted key that leaked.
                Severity.MEDIUM if encrypted else None,
            )
        )
    return matches


def _is_encrypted(label: bytes, headers: bytes, body: bytes) -> bool | None:
    if label.startswith(b"ENCRYPTED") or b"ENCRYPTED" in headers:
        return True
    if label == b"OPENSSH PRIVATE KEY":
        return _openssh_cipher(body) not in (None, b"none")
    if label.startswith(b"PGP"):
        # Whether a PGP secret key is protected is in its packets, which are not parsed.
        return None
    return False


def _openssh_cipher(body: bytes) -> bytes | None:
    # openssh-key-v1 format: magic, then a length-prefixed cipher name ("none" if clear).
    try:
        head = base64.b64decode(body[:64])
    except (binascii.Error, ValueError):
        return None
    magic = b"openssh-key-v1\x00"
    if not head.startswith(magic) or len(head) < len(magic) + 4:
        return None
    length = int.from_bytes(head[len(magic) : len(magic) + 4], "big")
    return head[len(magic) + 4 : len(magic) + 4 + length]


_AWS_KEY_ID = re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_AWS_SECRET = re.compile(
    rb"(?i)aws_?secret_?access_?key[\"']?\s*[=:]\s*[\"']?(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)


def _find_aws_key_ids(data: bytes) -> list[SecretMatch]:
    return [
        SecretMatch(
            rules.AWS_KEY,
            "aws-access-key-id",
            "AWS access key id",
            found.start(),
            found.group()[:4].decode() + "****",
        )
        for found in _AWS_KEY_ID.finditer(data)
        if _EXAMPLE not in found.group()
    ]


def _find_aws_secrets(data: bytes) -> list[SecretMatch]:
    return [
        SecretMatch(
            rules.AWS_KEY,
            "aws-secret-access-key",
            "AWS secret access key",
            found.start(),
            "aws_secret_access_key = ****",
        )
        for found in _AWS_SECRET.finditer(data)
        if _EXAMPLE not in found.group("value")
    ]


_GCP_TYPE = re.compile(rb'"type"\s*:\s*"service_account"')
_GCP_KEY = re.compile(rb'"private_key"\s*:\s*"-----BEGIN')
_GCP_EMAIL = re.compile(rb'"client_email"\s*:\s*"(?P<value>[^"\\\s]{1,254})"')
_GCP_PROJECT = re.compile(rb'"project_id"\s*:\s*"(?P<value>[^"\\\s]{1,100})"')


def _find_gcp_service_accounts(data: bytes) -> list[SecretMatch]:
    kind = _GCP_TYPE.search(data)
    if kind is None or _GCP_KEY.search(data) is None:
        return []
    details: dict[str, object] = {}
    for name, pattern in (("client_email", _GCP_EMAIL), ("project_id", _GCP_PROJECT)):
        found = pattern.search(data)
        if found:
            details[name] = found.group("value").decode("utf-8", "replace")
    return [
        SecretMatch(
            rules.GCP_SERVICE_ACCOUNT,
            "gcp-service-account",
            "Google Cloud service-account key",
            kind.start(),
            '"type": "service_account", "private_key": "****"',
            details,
        )
    ]


_DOCKER_AUTH = re.compile(rb'"(?:auth|password|identitytoken|registrytoken)"\s*:\s*"[^"]+"')
_DOCKER_SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken")


def _find_registry_auths(data: bytes) -> list[SecretMatch]:
    offset = data.find(b'"auths"')
    registries: list[str] | None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        # Truncated at the read limit or not JSON: fall back to the field pattern.
        if _DOCKER_AUTH.search(data, offset) is None:
            return []
        registries = None
    else:
        auths = document.get("auths") if isinstance(document, dict) else None
        if not isinstance(auths, dict):
            return []
        registries = sorted(
            str(host)
            for host, entry in auths.items()
            if isinstance(entry, dict)
            and any(isinstance(entry.get(f), str) and entry.get(f) for f in _DOCKER_SECRET_FIELDS)
        )
        if not registries:
            return []
    return [
        SecretMatch(
            rules.REGISTRY_AUTH,
            "docker-registry-auth",
            "registry credentials",
            offset,
            '"auths": {..., "auth": "****"}',
            {"registries": registries},
        )
    ]


_TOKEN = re.compile(rb"\S+")
_NETRC_STARTS = (b"machine", b"default", b"macdef")
_NETRC_COMMENT = re.compile(rb"(?m)^[ \t]*#.*$")


def _find_netrc_passwords(data: bytes) -> list[SecretMatch]:
    # netrc(5) is a stream of tokens. Only a file whose first token is an entry
    # keyword counts as one, so prose that mentions "password" is left out.
    # Blanking comments keeps the offsets of the remaining tokens.
    text = _NETRC_COMMENT.sub(lambda m: b" " * len(m.group()), data)
    first = text.split(None, 1)
    if not first or first[0] not in _NETRC_STARTS:
        return []
    matches = []
    machine: str | None = None
    tokens = list(_TOKEN.finditer(text))
    for index, token in enumerate(tokens):
        word = token.group()
        following = tokens[index + 1].group() if index + 1 < len(tokens) else None
        if word == b"machine" and following is not None:
            machine = following.decode("utf-8", "replace")
        elif word == b"default":
            machine = "default"
        elif word == b"password" and following is not None:
            matches.append(
                SecretMatch(
                    rules.NETRC_PASSWORD,
                    "netrc-password",
                    "netrc password",
                    token.start(),
                    "password ****",
                    {"machine": machine},
                )
            )
    return matches


# Matching starts at the literal "://", which is fast; the scheme is checked
# afterwards by looking back from it.
_URL_USERINFO = re.compile(
    rb"://(?P<user>[^\s:/@]+):(?P<password>[^\s/@]+)@(?P<host>[^\s/:@?#]+)\S*"
)
_SCHEME_CHARACTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-")
#: Longest URL scheme looked for; the look-back stops there, which keeps long lines linear.
_MAX_SCHEME = 32
#: First characters of template placeholders (``$PASSWORD``, ``<password>``, ``{{ pass }}``).
_PLACEHOLDER_STARTS = (b"$", b"<", b"{", b"%(")


def find_url_credentials(data: bytes, *, whole_line: bool = True) -> list[SecretMatch]:
    """Return URLs that carry a user and password, as .git-credentials stores them.

    With ``whole_line`` a URL counts only when it fills its line, as in
    .git-credentials. Prose and configuration examples that mention such URLs
    are then left out.
    """
    matches: list[SecretMatch] = []
    for found in _URL_USERINFO.finditer(data):
        if len(matches) >= MAX_MATCHES_PER_FILE:
            break
        if found.group("password").startswith(_PLACEHOLDER_STARTS):
            continue
        scheme_start = _scheme_start(data, found.start())
        scheme = data[scheme_start : found.start()]
        if not scheme[:1].isalpha():
            continue
        if whole_line:
            line_start = data.rfind(b"\n", 0, scheme_start) + 1
            line_end = data.find(b"\n", found.end())
            after = data[found.end() : len(data) if line_end < 0 else line_end]
            if data[line_start:scheme_start].strip() or after.strip():
                continue
        host = found.group("host").decode("utf-8", "replace")
        matches.append(
            SecretMatch(
                rules.URL_CREDENTIALS,
                "url-credentials",
                "URL with a password",
                scheme_start,
                f"{scheme.decode()}://****:****@{host}",
                {"scheme": scheme.decode(), "host": host},
            )
        )
    return matches


def _scheme_start(data: bytes, separator: int) -> int:
    start = separator
    while start > 0 and separator - start < _MAX_SCHEME and data[start - 1] in _SCHEME_CHARACTERS:
        start -= 1
    return start


_FORGE_TOKEN = re.compile(
    rb"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}"
    rb"|glpat-[A-Za-z0-9_-]{20,})(?![A-Za-z0-9_])"
)


def _find_forge_tokens(data: bytes) -> list[SecretMatch]:
    matches = []
    for found in _FORGE_TOKEN.finditer(data):
        token = found.group()
        if token.startswith(b"glpat-"):
            kind, description, prefix = "gitlab-token", "GitLab personal access token", "glpat-"
        elif token.startswith(b"github_pat_"):
            kind, description, prefix = "github-token", "GitHub access token", "github_pat_"
        else:
            kind, description, prefix = "github-token", "GitHub access token", token[:4].decode()
        matches.append(
            SecretMatch(rules.FORGE_TOKEN, kind, description, found.start(), prefix + "****")
        )
    return matches


_SLACK_TOKEN = re.compile(rb"(?<![A-Za-z0-9-])xox[abeoprs]-[0-9A-Za-z-]{10,}")
_SLACK_WEBHOOK = re.compile(
    rb"https://hooks\.slack\.com/(?:services|workflows)/T[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9]{20,}"
)


def _find_slack_tokens(data: bytes) -> list[SecretMatch]:
    matches = [
        SecretMatch(
            rules.SLACK_TOKEN,
            "slack-token",
            "Slack token",
            found.start(),
            found.group()[:5].decode() + "****",
        )
        for found in _SLACK_TOKEN.finditer(data)
    ]
    matches.extend(
        SecretMatch(
            rules.SLACK_TOKEN,
            "slack-webhook",
            "Slack webhook URL",
            found.start(),
            "https://hooks.slack.com/****",
        )
        for found in _SLACK_WEBHOOK.finditer(data)
    )
    return matches


DETECTORS: tuple[Detector, ...] = (
    Detector("private-key", _contains_any(b"PRIVATE KEY"), _find_private_keys),
    Detector("aws-access-key-id", _matches(rb"A[KS]IA"), _find_aws_key_ids),
    Detector("aws-secret-access-key", _contains_any(b"ecret", b"ECRET"), _find_aws_secrets),
    Detector("gcp-service-account", _contains_any(b"service_account"), _find_gcp_service_accounts),
    Detector("docker-registry-auth", _contains_any(b'"auths"'), _find_registry_auths),
    Detector("netrc", _contains_any(b"password"), _find_netrc_passwords),
    Detector("url-credentials", _contains_all(b"://", b"@"), find_url_credentials),
    Detector("forge-token", _matches(rb"g(?:h[pousr]_|ithub_pat_|lpat-)"), _find_forge_tokens),
    Detector("slack", _contains_any(b"xox", b"hooks.slack.com/"), _find_slack_tokens),
)

#: Detectors of single tokens, which also apply to configuration values.
TOKEN_DETECTORS: tuple[Detector, ...] = tuple(
    d for d in DETECTORS if d.name in ("aws-access-key-id", "forge-token", "slack")
)


def detect_secrets(data: bytes, detectors: tuple[Detector, ...] = DETECTORS) -> list[SecretMatch]:
    """Return the credentials in ``data``, in order of offset, at most MAX_MATCHES_PER_FILE."""
    matches: list[SecretMatch] = []
    for detector in detectors:
        if detector.prefilter(data):
            matches.extend(detector.find(data))
    if any(m.kind == "gcp-service-account" for m in matches):
        # The key inside a service-account file is the same credential: report the file once.
        matches = [m for m in matches if m.rule is not rules.PRIVATE_KEY]
    matches.sort(key=lambda m: m.offset)
    return matches[:MAX_MATCHES_PER_FILE]
