"""The organizer's journal (``host/src/capabilities/dataset/journal.rs``, the same file format):
the moves of a run, written atomically before the first one, so a run killed at any point can be
finished by the next."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple, Optional

from ..fs.atomic import write_atomically
from .dataset import FileId

__all__ = ["Journal", "JournalMove", "path_for"]


class JournalMove(NamedTuple):
    """One planned move."""

    index: int
    clip_id: str
    source: str
    target: str
    file: FileId


class Journal(NamedTuple):
    """A run's moves."""

    root: str
    moves: list

    def write(self, path: Path) -> None:
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
        write_atomically(path, json.dumps(document).encode("utf-8"))

    @classmethod
    def read(cls, path: Path) -> Optional["Journal"]:
        """The journal at ``path``, if there is one (``ValueError`` when it is malformed)."""
        try:
            document = json.loads(Path(path).read_bytes())
        except FileNotFoundError:
            return None
        try:
            moves = [
                JournalMove(
                    int(move["index"]), str(move["clip_id"]), str(move["from"]), str(move["to"]), FileId(**move["file"])
                )
                for move in document["moves"]
            ]
            return cls(str(document["root"]), moves)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the organizer journal {path} is malformed: {error}") from None

    @staticmethod
    def remove(path: Path) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def path_for(annotations: Path) -> Path:
    """The journal of the annotation file ``annotations``: ``.<name>.organize-journal`` beside it."""
    annotations = Path(annotations)
    return annotations.with_name(f".{annotations.name}.organize-journal")
