"""Recording storage: content-addressed files under one root, written atomically.

A file is stored once whatever how many times it is imported, a crash never leaves a half-written
file under its final name, and a stored path never leaves the root.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".webm": "audio/webm",
}


class StorageError(ValueError):
    pass


@dataclass(frozen=True)
class StoredFile:
    relpath: str
    sha256: str
    size: int
    content_type: str


class RecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, stream: BinaryIO, filename: str) -> StoredFile:
        suffix = Path(filename).suffix.lower()
        if suffix not in AUDIO_TYPES:
            raise StorageError(
                f"{filename!r} is not a recording qm takes; use one of "
                f"{', '.join(sorted(AUDIO_TYPES))}."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise StorageError(f"{filename!r} is empty.")
            sha = digest.hexdigest()
            relpath = f"{sha[:2]}/{sha[2:4]}/{sha}{suffix}"
            final = self.root / relpath
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                os.unlink(tmp_name)
            else:
                os.replace(tmp_name, final)
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise
        return StoredFile(relpath, sha, size, AUDIO_TYPES[suffix])

    def put_path(self, path: Path) -> StoredFile:
        if not path.is_file():
            raise StorageError(f"recording file {str(path)!r} not found.")
        with path.open("rb") as stream:
            return self.put(stream, path.name)

    def path(self, relpath: str) -> Path:
        full = (self.root / relpath).resolve()
        if self.root.resolve() not in full.parents:
            raise StorageError("recording path leaves the recording store")
        return full
