"""The catalog of hardening rules for images: stable ids, severities, fixes and references.

``docs/hardening.md`` lists the same rules, and a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardbase.scan.findings import Finding, FindingKind, Severity

CIS_4_1 = "CIS Docker Benchmark 4.1: Ensure that a user for the container has been created"
CIS_4_3 = "CIS Docker Benchmark 4.3: Ensure that unnecessary packages are not installed"
CIS_4_8 = "CIS Docker Benchmark 4.8: Ensure setuid and setgid permissions are removed"
CIS_4_10 = "CIS Docker Benchmark 4.10: Ensure secrets are not stored in Dockerfiles"
DOCKLE_CIS_DI_0001 = "Dockle CIS-DI-0001: Create a user for the container"
DOCKLE_CIS_DI_0008 = "Dockle CIS-DI-0008: Confirm safety of setuid and setgid files"
DOCKLE_CIS_DI_0010 = "Dockle CIS-DI-0010: Do not store secrets in Dockerfiles"
DOCKLE_DKL_DI_0001 = "Dockle DKL-DI-0001: Avoid sudo command"
DOCKLE_DKL_DI_0005 = "Dockle DKL-DI-0005: Clear apt-get caches"
DOCKLE_DKL_LI_0001 = "Dockle DKL-LI-0001: Avoid empty password"
DOCKLE_DKL_LI_0002 = "Dockle DKL-LI-0002: Be unique UID/GROUPs"
DOCKLE_DKL_LI_0003 = "Dockle DKL-LI-0003: Only put necessary files"


@dataclass(frozen=True)
class Rule:
    """One hardening rule: what every finding with its id has in common."""

    id: str
    """Stable identifier such as ``HB-USER-001``, which ignore files and reports key on."""
    severity: Severity
    """Default severity. Some findings differ for a documented reason, such as an encrypted key."""
    name: str
    """Short name of what the rule detects."""
    fix: str
    """The change to make in the image, in one line."""
    references: tuple[str, ...] = ()
    """Benchmark items and Dockle checkpoints that the rule matches."""

    def finding(
        self,
        title: str,
        evidence: Mapping[str, Any],
        *,
        severity: Severity | None = None,
        package: str | None = None,
        fix: str | None = None,
    ) -> Finding:
        """Build a hardening finding of this rule."""
        return Finding(
            rule_id=self.id,
            kind=FindingKind.HARDENING,
            severity=self.severity if severity is None else severity,
            title=title,
            fix=self.fix if fix is None else fix,
            evidence=dict(evidence),
            package=package,
            references=self.references,
        )


ROOT_USER = Rule(
    "HB-USER-001",
    Severity.HIGH,
    "Image runs as root",
    "Create an account with a uid of 1000 or more and set USER to it in the Dockerfile",
    (CIS_4_1, DOCKLE_CIS_DI_0001),
)
NO_CONFIG_USER = Rule(
    "HB-USER-002",
    Severity.LOW,
    "No user configured (root filesystem without an image configuration)",
    "Set a non-root USER in the image configuration that is built from this root filesystem",
    (CIS_4_1, DOCKLE_CIS_DI_0001),
)
UID_WITHOUT_ACCOUNT = Rule(
    "HB-USER-003",
    Severity.NEGLIGIBLE,
    "Configured uid has no /etc/passwd entry",
    "Add an /etc/passwd entry for the uid if the program needs a name or home folder",
)
UNKNOWN_USER = Rule(
    "HB-USER-004",
    Severity.LOW,
    "Configured user name is not in /etc/passwd",
    "Create the account in the image or set USER to a numeric uid",
)
NO_RUN_ACCOUNT = Rule(
    "HB-USER-005",
    Severity.LOW,
    "No non-root account to run as",
    "Create an unprivileged account, such as `useradd --uid 1000 app`, and run as it",
    (CIS_4_1, DOCKLE_CIS_DI_0001),
)
EMPTY_PASSWORD = Rule(
    "HB-ACCT-001",
    Severity.HIGH,
    "Account with an empty password",
    "Lock the account: set its password field to `*` or `!` (`passwd -l NAME`)",
    (DOCKLE_DKL_LI_0001,),
)
PASSWD_HASH = Rule(
    "HB-ACCT-002",
    Severity.MEDIUM,
    "Password hash in the world-readable /etc/passwd",
    "Move the hash to /etc/shadow (`pwconv`) or lock the account",
)
DUPLICATE_UID = Rule(
    "HB-ACCT-003",
    Severity.MEDIUM,
    "Two or more accounts share a uid",
    "Give each account its own uid in /etc/passwd, or remove the extra account",
    (DOCKLE_DKL_LI_0002,),
)
DUPLICATE_GID = Rule(
    "HB-ACCT-004",
    Severity.MEDIUM,
    "Two or more groups share a gid",
    "Give each group its own gid in /etc/group, or remove the extra group",
    (DOCKLE_DKL_LI_0002,),
)
SETUID_FILE = Rule(
    "HB-PERM-001",
    Severity.MEDIUM,
    "setuid or setgid executable",
    "Remove the bit where it is not needed: `chmod u-s,g-s FILE`, or remove the package",
    (CIS_4_8, DOCKLE_CIS_DI_0008),
)
WORLD_WRITABLE_FILE = Rule(
    "HB-PERM-002",
    Severity.MEDIUM,
    "World-writable file",
    "Remove write permission for others: `chmod o-w FILE`",
)
WORLD_WRITABLE_DIR = Rule(
    "HB-PERM-003",
    Severity.MEDIUM,
    "World-writable folder without the sticky bit",
    "Remove write permission for others (`chmod o-w DIR`) or set the sticky bit (`chmod +t DIR`)",
)
SHELL = Rule(
    "HB-TOOL-001",
    Severity.LOW,
    "Shell present",
    "Remove shells from the final image (distroless or a multi-stage build) unless needed",
    (CIS_4_3,),
)
PACKAGE_MANAGER = Rule(
    "HB-TOOL-002",
    Severity.LOW,
    "Package manager present",
    "Remove the package manager from the final image, or build the final stage without it",
    (CIS_4_3,),
)
PRIVILEGE_TOOL = Rule(
    "HB-TOOL-003",
    Severity.LOW,
    "Privilege tool present (sudo, su, doas, pkexec)",
    "Remove the tool, and run any step that needs root as root instead",
    (DOCKLE_DKL_DI_0001,),
)
PRIVATE_KEY = Rule(
    "HB-SECRET-001",
    Severity.HIGH,
    "Private key",
    "Remove the key from every layer, mount it at run time as a secret, and rotate it",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
AWS_KEY = Rule(
    "HB-SECRET-002",
    Severity.CRITICAL,
    "AWS access key",
    "Deactivate the key in AWS IAM now, then remove it from every layer",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
GCP_SERVICE_ACCOUNT = Rule(
    "HB-SECRET-003",
    Severity.CRITICAL,
    "Google Cloud service-account key",
    "Delete the key in Google Cloud IAM now, then remove the file from every layer",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
REGISTRY_AUTH = Rule(
    "HB-SECRET-004",
    Severity.HIGH,
    "Registry credentials in a Docker config.json",
    "Remove the file from every layer, revoke the credentials, and pass them at build time only",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
NETRC_PASSWORD = Rule(
    "HB-SECRET-005",
    Severity.HIGH,
    "Password in a .netrc file",
    "Remove the file from every layer, change the password, and use a build secret instead",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
URL_CREDENTIALS = Rule(
    "HB-SECRET-006",
    Severity.HIGH,
    "URL with a password (.git-credentials)",
    "Remove the file from every layer, revoke the credential, and use a build secret instead",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
FORGE_TOKEN = Rule(
    "HB-SECRET-007",
    Severity.CRITICAL,
    "GitHub or GitLab token",
    "Revoke the token now, then remove it from every layer",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
SLACK_TOKEN = Rule(
    "HB-SECRET-008",
    Severity.HIGH,
    "Slack token or webhook URL",
    "Revoke the token or webhook in Slack, then remove it from every layer",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
ENV_SECRET = Rule(
    "HB-SECRET-010",
    Severity.HIGH,
    "Secret-named variable in the image configuration's Env",
    "Pass the value at run time (a secret mount or `--env`), not in ENV, and rotate it",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
HISTORY_SECRET = Rule(
    "HB-SECRET-011",
    Severity.HIGH,
    "Secret in the image history (a build argument or ENV step)",
    "Use `RUN --mount=type=secret` instead of ARG or ENV for secrets, and rotate the value",
    (CIS_4_10, DOCKLE_CIS_DI_0010),
)
PACKAGE_CACHE = Rule(
    "HB-SIZE-001",
    Severity.LOW,
    "Package caches or index lists left in the image",
    "Clean in the same RUN step: `apt-get clean && rm -rf /var/lib/apt/lists/*`, "
    "`apk add --no-cache`, `pip install --no-cache-dir`",
    (DOCKLE_DKL_DI_0005, DOCKLE_DKL_LI_0003),
)
DOCUMENTATION = Rule(
    "HB-SIZE-002",
    Severity.NEGLIGIBLE,
    "Documentation, manual pages and translations",
    "Exclude them with dpkg `path-exclude` rules (keep /usr/share/doc/*/copyright) "
    "or delete them in the build",
    (DOCKLE_DKL_LI_0003,),
)

#: Every rule, in the order the documentation lists them.
RULES: tuple[Rule, ...] = (
    ROOT_USER,
    NO_CONFIG_USER,
    UID_WITHOUT_ACCOUNT,
    UNKNOWN_USER,
    NO_RUN_ACCOUNT,
    EMPTY_PASSWORD,
    PASSWD_HASH,
    DUPLICATE_UID,
    DUPLICATE_GID,
    SETUID_FILE,
    WORLD_WRITABLE_FILE,
    WORLD_WRITABLE_DIR,
    SHELL,
    PACKAGE_MANAGER,
    PRIVILEGE_TOOL,
    PRIVATE_KEY,
    AWS_KEY,
    GCP_SERVICE_ACCOUNT,
    REGISTRY_AUTH,
    NETRC_PASSWORD,
    URL_CREDENTIALS,
    FORGE_TOKEN,
    SLACK_TOKEN,
    ENV_SECRET,
    HISTORY_SECRET,
    PACKAGE_CACHE,
    DOCUMENTATION,
)
