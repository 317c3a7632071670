"""The organizer's journal (``host/src/capabilities/dataset/journal.rs``, the same file format):
the moves of a run, written atomically before the first one, so a run killed at any point can be
finished by the next.

It records the root it was written for by identity (:class:`~.dataset.RootId`: device and inode),
with its canonical path for people, and is used only in that root (:meth:`Journal.is_of`).

It lives beside the annotation file and is read, written and removed through that folder's
descriptor (:class:`~.files.Folder`): a regular file only, at most :data:`MAX_BYTES`. Whoever can
write in the folder can forge one, so nothing read from it is ever repeated in a message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple, Optional

from .dataset import Dataset, FileId, RootId
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
    """A run's moves: the dataset root's canonical absolute path (in older journals: as it was
    typed, perhaps relative to a directory the journal does not record), the moves, and which
    directory the root is (``None`` in older journals)."""

    root: str
    moves: list
    root_id: Optional[RootId] = None

    def write(self, folder: Folder, name: str) -> None:
        """Writes it durably as ``name`` in ``folder``."""
        document: dict = {"root": self.root}
        if self.root_id is not None:
            document["root_id"] = self.root_id._asdict()
        document.update(
            moves=[
                {
                    "index": move.index,
                    "clip_id": move.clip_id,
                    "from": move.source,
                    "to": move.target,
                    "file": move.file._asdict(),
                }
                for move in self.moves
            ]
        )
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
        except RecursionError:
            raise _malformed("text: nested too deeply") from None
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
            root_id = document.get("root_id")
            if root_id is not None:
                root_id = RootId(*(_number(root_id[key]) for key in RootId._fields))
            return cls(_text(document["root"]), moves, root_id)
        except (KeyError, TypeError, ValueError, IndexError):
            raise _malformed("content: not the moves of a run") from None

    def is_of(self, dataset: Dataset) -> bool:
        """Whether this is a journal of ``dataset``'s root (the native host's ``is_of``). A journal
        records the root's device and inode: the same directory, whatever path reaches it now
        (renamed, a bind mount), and no other. An older journal recorded the root as it was typed:
        an absolute path must name this root now; a relative one was relative to a directory it
        does not record, so it must name this root from the current directory *and* every file it
        lists must be in this root, at its source or at its target (the same file: inode, size,
        modification time). Anything else cannot be told from another dataset's journal: not this
        root's."""
        now = dataset.id()
        if self.root_id is not None:
            return self.root_id == now
        try:
            if not self.root or RootId.of_path(self.root) != now:
                return False
        except (OSError, ValueError):
            return False
        if os.path.isabs(self.root):
            return True
        return bool(self.moves) and all(
            dataset.holds(move.source, move.file) or dataset.holds(move.target, move.file) for move in self.moves
        )

    @staticmethod
    def remove(folder: Folder, name: str) -> None:
        """Removes the journal ``name`` of ``folder`` (the run is complete)."""
        folder.remove(name)


def _number(value) -> int:
    """A JSON integer that fits an unsigned 64-bit one (as the native host reads it)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 64:
        raise TypeError("not a number")
    return value


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
