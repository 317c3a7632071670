"""The organizer's journal (``host/src/capabilities/dataset/journal.rs``, the same file format):
the moves of a run, written atomically before the first one, so a run killed at any point can be
finished by the next.

It lives beside the annotation file and is read, written and removed through that folder's
descriptor (:class:`~.files.Folder`): a regular file only, at most :data:`MAX_BYTES`. Whoever can
write in the folder can forge one, so nothing read from it is ever repeated in a message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple, Optional

from .dataset import FileId
from .files import Folder

__all__ = ["MAX_BYTES", "Journal", "JournalMove", "name_for", "path_for"]

#: The largest journal read (512 MiB: a move names two paths, a clip of the annotation file one).
MAX_BYTES = 512 << 20


class JournalMove(NamedTuple):
    """One planned move."""

    index: int
    clip_id: str
    source: str
    target: str
    file: FileId


def _malformed(where: str) -> ValueError:
    return ValueError(f"it is not an organizer journal (malformed {where})")


class Journal(NamedTuple):
    """A run's moves."""

    root: str
    moves: list

    def write(self, folder: Folder, name: str) -> None:
        """Writes it durably as ``name`` in ``folder``."""
        document = {
            "root": self.root,
            "moves": [
                {
                    "index": move.index,
                    "clip_id": move.clip_id,
                    "from": move.source,
                    "to": move.target,
                    "file": move.file._asdict(),
                }
                for move in self.moves
            ],
        }
        folder.replace(name, json.dumps(document).encode("utf-8"), None, 0o600)

    @classmethod
    def read(cls, folder: Folder, name: str) -> Optional["Journal"]:
        """The journal ``name`` of ``folder``, if there is one: ``FileError`` when it is not a
        regular file of at most :data:`MAX_BYTES`, ``ValueError`` when it is malformed (where,
        never what)."""
        read = folder.read(name, MAX_BYTES)
        if read is None:
            return None
        os.close(read.fd)
        try:
            document = json.loads(read.data)
        except json.JSONDecodeError as error:
            raise _malformed(f"at line {error.lineno}, column {error.colno}") from None
        except UnicodeDecodeError:
            raise _malformed("text: not UTF-8") from None
        try:
            moves = [
                JournalMove(
                    int(move["index"]),
                    _text(move["clip_id"]),
                    _text(move["from"]),
                    _text(move["to"]),
                    FileId(*(int(move["file"][key]) for key in FileId._fields)),
                )
                for move in document["moves"]
            ]
            return cls(_text(document["root"]), moves)
        except (KeyError, TypeError, ValueError, IndexError):
            raise _malformed("content: not the moves of a run") from None

    @staticmethod
    def remove(folder: Folder, name: str) -> None:
        """Removes the journal ``name`` of ``folder`` (the run is complete)."""
        folder.remove(name)


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def name_for(annotations: str) -> str:
    """The journal's name for the annotation file named ``annotations``: ``.<name>.organize-journal``."""
    return f".{annotations}.organize-journal"


def path_for(annotations: Path) -> Path:
    """The journal of the annotation file ``annotations``: ``.<name>.organize-journal`` beside it."""
    annotations = Path(annotations)
    return annotations.with_name(name_for(annotations.name))
