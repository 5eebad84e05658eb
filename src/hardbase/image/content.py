"""Regular-file content of an unpacked image: byte ranges of a pack file or of the input.

Content read from a compressed stream is appended to one pack file in the
work folder and found again by offset and size. One pack file instead of one
host file per image file keeps unpacking fast (creating thousands of small
files costs far more than writing their bytes once) and means no name from
the image ever becomes a host path. Content of an uncompressed tar on disk is
not copied at all: its byte range in that file is recorded instead.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hardbase.image.compression import Readable

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Place of one file's content: a byte range of the pack file or of an input file."""

    offset: int
    size: int
    source: int = 0
    """Index of the file holding the content: 0 is the pack file, others come from
    ``ContentStore.add_source``."""


class ShortContentError(Exception):
    """A source stream ended before the size that its header declared."""

    def __init__(self, expected: int, written: int) -> None:
        super().__init__(f"expected {expected} bytes, read {written}")
        self.expected = expected
        self.written = written


class ContentStore:
    """An append-only pack file: ``add`` copies content in, ``open`` reads it back."""

    def __init__(self, path: Path) -> None:
        self._sources = [path]
        self._writer: BinaryIO | None = path.open("xb")
        self._size = 0

    @property
    def size(self) -> int:
        """Bytes written to the pack file so far."""
        return self._size

    def add_source(self, path: Path) -> int:
        """Register an input file whose byte ranges contain file content, and return its index.

        NOTE: content is read from the input file when opened, so changing the
        file while the image is open changes what the view returns, as for a
        root filesystem read in place.
        """
        self._sources.append(path)
        return len(self._sources) - 1

    def add(self, source: Readable, size: int) -> BlobRef:
        """Copy exactly ``size`` bytes from ``source`` and return where they are stored.

        Raises ShortContentError when ``source`` ends early, and OSError when
        the pack file cannot be written (for example, the disk is full).
        """
        if self._writer is None:
            raise ValueError("the content store is closed")
        offset = self._size
        written = 0
        while written < size:
            chunk = source.read(min(_CHUNK, size - written))
            if not chunk:
                break
            self._writer.write(chunk)
            written += len(chunk)
        self._size += written
        if written != size:
            raise ShortContentError(size, written)
        return BlobRef(offset, size)

    def open(self, ref: BlobRef) -> BinaryIO:
        """Open the content stored at ``ref`` for reading."""
        if self._writer is not None:
            self._writer.flush()
        return io.BufferedReader(Section(self._sources[ref.source], ref.offset, ref.size))

    def close_writer(self) -> None:
        """Close the pack file for writing. Stored content stays readable until it is removed."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Section(io.RawIOBase):
    """A read-only, seekable window onto a byte range of a file."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._start = offset
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._size - self._position)
        if count <= 0:
            return 0
        data = os.pread(self._fd, count, self._start + self._position)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()
