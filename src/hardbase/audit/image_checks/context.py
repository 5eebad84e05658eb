"""Shared input of the image checks: one walk of the filesystem, file owners and accounts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from hardbase.audit.image_checks.accounts import AccountDatabase, read_accounts
from hardbase.errors import ImageError
from hardbase.image.fs import FileEntry, FilesystemView, join, parent_of
from hardbase.image.model import ImageConfig
from hardbase.packages import Inventory

logger = logging.getLogger(__name__)


@dataclass
class ImageContext:
    """An image's filesystem walked once, with lookups that the checks share.

    Build it with :meth:`from_parts`; the owner index and the account
    database are read on first use.
    """

    fs: FilesystemView
    config: ImageConfig | None
    inventory: Inventory
    entries: tuple[FileEntry, ...]
    """Every entry of the merged filesystem, in path order."""
    _parents: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_parts(
        cls, fs: FilesystemView, config: ImageConfig | None, inventory: Inventory
    ) -> ImageContext:
        """Walk ``fs`` once and return the context for the checks."""
        return cls(fs=fs, config=config, inventory=inventory, entries=tuple(fs.walk()))

    @cached_property
    def accounts(self) -> AccountDatabase:
        """The image's /etc/passwd, /etc/group and /etc/shadow."""
        return read_accounts(self.fs)

    @cached_property
    def owners(self) -> dict[str, str]:
        """Canonical path of each packaged file mapped to the name of its package.

        Package databases record paths as the package shipped them (``/bin/su``).
        A merged-/usr image stores that file at ``/usr/bin/su``, so keys are
        resolved through the image's folder links.
        """
        index: dict[str, str] = {}
        for package in self.inventory.packages:
            for path in package.files:
                index.setdefault(self.canonical_path(path), package.name)
        return index

    def owner(self, path: str) -> str | None:
        """Return the name of the package that installed ``path``, if any."""
        return self.owners.get(path)

    def canonical_path(self, path: str) -> str:
        """Return ``path`` with its parent folders resolved inside the image.

        The last component is kept as is, so a link keeps its own path.
        Paths whose parent is missing or loops are returned unchanged.
        """
        parent = parent_of(path)
        resolved = self._parents.get(parent)
        if resolved is None:
            try:
                resolved = self.fs.resolve(parent) or parent
            except ImageError:
                resolved = parent
            self._parents[parent] = resolved
        name = path.rsplit("/", 1)[-1]
        return join(resolved, name) if name else resolved

    def user_name(self, uid: int) -> str | None:
        """Return the first account name of ``uid`` in /etc/passwd."""
        entry = self.accounts.user_by_uid(uid)
        return entry.name if entry else None

    def group_name(self, gid: int) -> str | None:
        """Return the first group name of ``gid`` in /etc/group."""
        entry = self.accounts.group_by_gid(gid)
        return entry.name if entry else None
