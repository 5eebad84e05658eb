"""Error types shared by every layer.

Each error carries a message that names the input, says what is wrong and
what to do next. The command line prints that message on one line and maps
the error class to an exit status, so library code raises and never exits.
"""

from __future__ import annotations


class HardbaseError(Exception):
    """Base class of every error that hardbase reports to its user."""

    #: Exit status the command line uses for this kind of error.
    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}: {self.hint}"
        return self.message


class InputError(HardbaseError):
    """An image, feed, manifest, profile or option that cannot be used as given."""


class ImageError(InputError):
    """An image that cannot be read: missing, malformed or hostile."""


class ToolError(HardbaseError):
    """An outside tool (gpgv, mmdebstrap, skopeo, ...) is missing or failed."""


class NetworkError(HardbaseError):
    """A remote service could not be reached or returned an unusable response."""


class VerificationError(HardbaseError):
    """A signature or checksum did not verify, so the data must not be used."""
