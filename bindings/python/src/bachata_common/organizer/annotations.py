"""Annotation files (the native host's rules, ``host/src/capabilities/dataset/annotations.rs``):
JSON (``{"clips": [{"clip_id", "video_path", "move_label", …}], …}``) or CSV with a header row of
the same columns. Rewriting changes only the clips' ``video_path``: every other key, field and
column is written back as it was read (keys in their order, numbers as written), the previous
file kept as ``<file>.bak`` (once per run).

The file is read and rewritten through its folder's descriptor (:class:`~.files.Folder`): a regular
file only (never a link, a FIFO or a device), at most :data:`MAX_BYTES`, and the rewrite replaces
only the file that was read.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, NamedTuple, Optional

from .files import Folder

__all__ = ["MAX_BYTES", "AnnotationError", "Annotations", "ClipRow"]

#: The largest annotation file read (256 MiB).
MAX_BYTES = 256 << 20


class AnnotationError(ValueError):
    """The annotation file cannot be used; ``field`` says where (``clips[3].video_path``,
    ``line 4``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ClipRow(NamedTuple):
    """One clip's columns the organizer reads."""

    clip_id: str
    video_path: str
    move_label: str


class _Number(str):
    """A JSON number kept as written (``1.50`` stays ``1.50``)."""


def _render(value: Any, indent: int) -> str:
    """JSON text of a value read by :func:`_load`: objects and lists pretty-printed, numbers as
    they were written."""
    pad = "  " * (indent + 1)
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(key, ensure_ascii=False)}: {_render(item, indent + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + _render(item, indent + 1) for item in value) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _load(text: str) -> Any:
    return json.loads(text, parse_float=_Number, parse_int=_Number)


def _text_of(value: Any):
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


class Annotations:
    """An annotation file in memory: CSV when its name ends in ``.csv`` (any case), JSON
    otherwise."""

    def __init__(self, path, folder: Optional[Folder] = None, name: Optional[str] = None) -> None:
        """Reads ``path``, or the file ``name`` of ``folder`` (``path`` naming it in messages):
        ``FileError`` when it is not a regular file of at most :data:`MAX_BYTES`."""
        self.path = Path(path)
        self._read_fd = -1
        if folder is None or name is None:
            self._folder, name = Folder.of_file(self.path)
        else:
            self._folder = folder.duplicate()
        self._name = name
        try:
            read = self._folder.read_existing(name, MAX_BYTES)
        except BaseException:
            self._folder.close()
            raise
        self._read_fd, self._read_identity = read.fd, read.identity
        self._current = read.identity
        try:
            text = read.data.decode("utf-8")
        except UnicodeDecodeError as error:
            self.close()
            raise AnnotationError("annotations", f"the file is not UTF-8: {error}") from None
        # A byte-order mark (spreadsheet exports) is not part of the first key or column; the
        # rewrite keeps it.
        self.bom = text.startswith("\ufeff")
        if self.bom:
            text = text[1:]
        self.csv = Path(name).suffix.lower() == ".csv"
        self._backed_up = False
        try:
            if self.csv:
                self._read_csv(text)
            else:
                self._read_json(text)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Lets go of the file read and the folder."""
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1
        self._folder.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _read_json(self, text: str) -> None:
        try:
            top = _load(text)
        except json.JSONDecodeError as error:
            raise AnnotationError("body", f'not a JSON object with a "clips" list: {error}') from None
        except RecursionError:
            raise AnnotationError("body", "nested too deeply to be an annotation file") from None
        if not isinstance(top, dict):
            raise AnnotationError("body", 'not a JSON object with a "clips" list')
        if "clips" not in top:
            raise AnnotationError("clips", 'the file has no "clips" list')
        clips = top["clips"]
        if not isinstance(clips, list) or not all(isinstance(clip, dict) for clip in clips):
            raise AnnotationError("clips", '"clips" must be a list of objects')
        rows = []
        for index, clip in enumerate(clips):
            values = []
            for name in ("clip_id", "video_path", "move_label"):
                value = _text_of(clip.get(name))
                if value is None:
                    raise AnnotationError(f"clips[{index}].{name}", f"clip {index} needs a text {name}")
                values.append(value)
            rows.append(ClipRow(*values))
        self._top = top
        self.clips = rows

    def _read_csv(self, text: str) -> None:
        self._crlf = "\r\n" in text
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            headers = next(reader)
        except StopIteration:
            raise AnnotationError("line 1", "no header row") from None
        except csv.Error as error:
            raise AnnotationError("line 1", f"no header row: {error}") from None

        def column(name: str) -> int:
            for position, header in enumerate(headers):
                if header.strip() == name:
                    return position
            raise AnnotationError("header", f"the header row has no {name} column")

        identity, path, label = column("clip_id"), column("video_path"), column("move_label")
        records, rows = [], []
        try:
            for index, record in enumerate(reader):
                line = index + 2
                if not record:
                    continue
                if len(record) != len(headers):
                    raise AnnotationError(
                        f"line {line}", f"found record with {len(record)} fields, but the header has {len(headers)}"
                    )
                rows.append(ClipRow(record[identity], record[path], record[label]))
                records.append(record)
        except csv.Error as error:
            raise AnnotationError(f"line {reader.line_num}", str(error)) from None
        self._headers, self._records, self._path_column = headers, records, path
        self.clips = rows

    def set_path(self, index: int, video_path: str) -> None:
        """Points clip ``index`` at ``video_path``."""
        if not 0 <= index < len(self.clips):
            return
        self.clips[index] = self.clips[index]._replace(video_path=video_path)
        if self.csv:
            self._records[index][self._path_column] = video_path
        else:
            self._top["clips"][index]["video_path"] = video_path

    def render(self) -> bytes:
        """The file's new text."""
        if self.csv:
            out = io.StringIO(newline="")
            writer = csv.writer(out, lineterminator="\r\n" if self._crlf else "\n")
            writer.writerow(self._headers)
            writer.writerows(self._records)
            text = out.getvalue()
        else:
            text = _render(self._top, 0) + "\n"
        return (("\ufeff" if self.bom else "") + text).encode("utf-8")

    def write(self) -> None:
        """Writes the file back through its folder's descriptor: the version read to
        ``<file>.bak`` (the first time only), then the new one, each atomically. Only when the name
        still holds the file read (or last written): otherwise ``FileError`` ``replaced`` and
        nothing is written."""
        data = self.render()
        if not self._backed_up:
            self._folder.check(self._name, self._current)
            previous = Folder.reread(self._read_fd, self._read_identity, MAX_BYTES)
            self._folder.replace(self._name + ".bak", previous, None, self._read_identity.mode)
            self._backed_up = True
        self._current = self._folder.replace(self._name, data, self._current, self._current.mode)
