"""Saved portraits: JPEG files in the capture folder, an SQLite index, and the same facts in
each image's metadata so other photo tools (and a rebuilt index) see them.

Writes are atomic: each file is written to a temporary name and renamed, and the index row is
added only once both files are in place. Opening the store reconciles the two, so a crash or a
full disk never leaves an index row without its files; files without a row are indexed again
from their own metadata.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import stat
import time
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from kpopcam.files import reason_of, write_bytes_atomic
from kpopcam.stars import name_key

INDEX_NAME = "captures.sqlite"
META_KEY = "kpopcam"
EXIF_DESCRIPTION, EXIF_SOFTWARE, EXIF_DATETIME_ORIGINAL = 0x010E, 0x0131, 0x9003
EXIF_IFD, EXIF_USER_COMMENT = 0x8769, 0x9286

SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    star TEXT NOT NULL,
    emotion TEXT NOT NULL,
    score REAL NOT NULL,
    taken REAL NOT NULL,
    source TEXT NOT NULL,
    frame INTEGER NOT NULL,
    original TEXT NOT NULL UNIQUE,
    portrait TEXT NOT NULL UNIQUE,
    face_box TEXT,  -- the star's face: JSON [x1, y1, x2, y2] in frame pixels; NULL in old rows
    session TEXT,  -- the watch run that saved it (old rows: given one by _add_session_column)
    favourite INTEGER NOT NULL DEFAULT 0,
    trashed REAL  -- when it was deleted (files moved to TRASH_DIR, undoable); NULL: kept
);
CREATE INDEX IF NOT EXISTS captures_taken ON captures(taken);
"""
COLUMNS = ("id, star, emotion, score, taken, source, frame, original, portrait, face_box, "
           "session, favourite")
FIELDS = tuple(name.strip() for name in COLUMNS.split(","))
TRASH_DIR = ".trash"  # deleted captures wait here until the undo is no longer offered
TRASH_KEPT_S = 24 * 3600  # trash a closed app did not purge goes at the next open after this
OLD_SESSION_GAP_S = 30 * 60  # old captures of one source this close together: one session


class CaptureError(OSError):
    """A capture that could not be saved (e.g. the disk is full); nothing half-written stays."""


@dataclass(frozen=True)
class Capture:
    id: int
    star: str
    emotion: str
    score: float
    taken: float  # seconds since the epoch
    source: str
    frame: int
    original: Path
    portrait: Path
    face_box: tuple[float, float, float, float] | None = None  # the star's face, frame pixels
    session: str | None = None  # the watch run that saved it
    favourite: bool = False

    @property
    def folder(self) -> Path:
        return self.original.parent

    @property
    def facts(self) -> dict:
        return capture_facts(self.star, self.emotion, self.score, self.taken, self.source,
                             self.frame, self.face_box, self.session)


class CaptureStore:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / INDEX_NAME, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            self._add_face_box_column()
            self._add_favourite_and_trash_columns()
            self._add_session_column()
            self._opened = _identity(self.folder)
        except (OSError, sqlite3.Error) as exc:
            raise CaptureError(f"the capture folder {self.folder} cannot be used: "
                               f"{_folder_trouble(self.folder, exc)}") from exc
        self.reconcile()

    def _check_folder_is_still_there(self) -> None:
        """A folder that vanished (a disk pulled out) or was replaced is not made again: the
        pictures would land on another disk and their index row in the file that went away."""
        try:
            same = _identity(self.folder) == self._opened
        except OSError:
            same = False
        if not same:
            raise CaptureError(f"the capture could not be saved: the capture folder "
                               f"{self.folder} is gone or was replaced (was its disk removed?); "
                               "plug the disk in again or choose another folder")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CaptureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def save(self, original_rgb: np.ndarray, portrait_rgb: np.ndarray, star: str, emotion: str,
             score: float, source: str, frame: int, taken: float | None = None,
             face_box: tuple[float, float, float, float] | None = None,
             session: str | None = None) -> Capture:
        """Write both JPEGs, then the index row; on any failure nothing of it remains.
        face_box: the star's face (x1, y1, x2, y2) in the original's pixels; session: the
        watch run saving it."""
        self._check_folder_is_still_there()
        taken = time.time() if taken is None else taken
        stem = self._free_stem(file_stem(taken, star, emotion))
        facts = capture_facts(star, emotion, score, taken, source, frame, face_box, session)
        original, portrait = self.folder / f"{stem}.jpg", self.folder / f"{stem}_portrait.jpg"
        written: list[Path] = []
        try:
            for path, rgb in ((original, original_rgb), (portrait, portrait_rgb)):
                write_jpeg_atomic(path, rgb, facts)
                written.append(path)
            row_id = self._insert(facts, original, portrait)
        except BaseException as exc:
            for path in written:
                with contextlib.suppress(OSError):  # the folder itself may be gone
                    path.unlink(missing_ok=True)
            if isinstance(exc, OSError | sqlite3.Error):
                raise CaptureError(f"the capture could not be saved in {self.folder}: {exc}") \
                    from exc
            raise
        return Capture(row_id, star, emotion, float(score), taken, source, int(frame),
                       original, portrait, _box(facts.get("face_box")), session)

    def list(self, star: str | None = None, emotion: str | None = None,
             since: float | None = None, until: float | None = None,
             favourites: bool = False) -> list[Capture]:
        """Captures newest first (deleted ones aside), filtered by star, emotion, time (epoch
        seconds) and, if asked, favourites only."""
        return list(self.rows(star, emotion, since, until, favourites))

    def rows(self, star: str | None = None, emotion: str | None = None,
             since: float | None = None, until: float | None = None,
             favourites: bool = False) -> CaptureRows:
        """As list(), each Capture made when it is first read (the gallery reads those on
        screen)."""
        where, params = ["trashed IS NULL"], []
        if favourites:
            where.append("favourite = 1")
        self._db.create_function("name_key", 1, name_key, deterministic=True)  # 'lisa' = 'Lisa'
        for clause, value in (("name_key(star) = ?", star), ("emotion = ?", emotion),
                              ("taken >= ?", since), ("taken < ?", until)):
            if value is not None:
                where.append(clause)
                params.append(name_key(value) if clause.startswith("name_key") else value)
        sql = f"SELECT {COLUMNS} FROM captures WHERE " + " AND ".join(where)
        rows = self._db.execute(sql + " ORDER BY taken DESC, id DESC", params).fetchall()
        return CaptureRows(self.folder, rows)

    def stars(self) -> list[str]:
        """Every star with a capture, in alphabetical order (case aside)."""
        rows = self._db.execute(
            "SELECT DISTINCT star FROM captures WHERE trashed IS NULL").fetchall()
        return sorted((star for (star,) in rows), key=str.casefold)

    def get(self, capture_id: int) -> Capture | None:
        """A kept capture by its id (None when there is none, or it is in the trash)."""
        row = self._db.execute(f"SELECT {COLUMNS} FROM captures WHERE id = ? AND trashed IS "
                               "NULL", (capture_id,)).fetchone()
        return self._capture(row) if row else None

    def set_favourite(self, capture_id: int, favourite: bool) -> None:
        self._db.execute("UPDATE captures SET favourite = ? WHERE id = ?",
                         (int(favourite), capture_id))

    def trash(self, capture_ids: list[int]) -> list[int]:
        """Delete, undoably: the files move into the trash folder, the row is flagged.
        Returns the ids trashed (unknown ones are skipped)."""
        done = []
        for capture_id in capture_ids:
            capture = self.get(capture_id)
            if capture is None:
                continue
            self._db.execute("UPDATE captures SET trashed = ? WHERE id = ?",
                             (time.time(), capture_id))
            trash = self.folder / TRASH_DIR
            trash.mkdir(exist_ok=True)
            for path in (capture.original, capture.portrait):
                with contextlib.suppress(FileNotFoundError):
                    path.replace(trash / path.name)
            done.append(capture_id)
        return done

    def restore(self, capture_ids: list[int]) -> list[Capture]:
        """Undo trash(): files back in place, rows kept again."""
        restored = []
        for capture_id in capture_ids:
            row = self._db.execute("SELECT original, portrait FROM captures WHERE id = ? AND "
                                   "trashed IS NOT NULL", (capture_id,)).fetchone()
            if row is None:
                continue
            for name in row:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / TRASH_DIR / name).replace(self.folder / name)
            self._db.execute("UPDATE captures SET trashed = NULL WHERE id = ?", (capture_id,))
            restored.append(self.get(capture_id))
        return [c for c in restored if c is not None]

    def purge_trash(self, older_than_s: float = 0.0) -> int:
        """Delete for good what was trashed at least `older_than_s` ago; returns how many."""
        rows = self._db.execute("SELECT id, original, portrait FROM captures WHERE trashed <= ?",
                                (time.time() - older_than_s,)).fetchall()
        for capture_id, *names in rows:
            self._db.execute("DELETE FROM captures WHERE id = ?", (capture_id,))
            for name in names:
                (self.folder / TRASH_DIR / name).unlink(missing_ok=True)
        return len(rows)

    def delete(self, capture_id: int) -> None:
        """The row goes first: a crash part-way leaves files that reconcile indexes again."""
        capture = self.get(capture_id)
        if capture is None:
            raise KeyError(f"no capture {capture_id}")
        self._db.execute("DELETE FROM captures WHERE id = ?", (capture_id,))
        capture.original.unlink(missing_ok=True)
        capture.portrait.unlink(missing_ok=True)

    def reconcile(self) -> tuple[int, int]:
        """Drop rows whose files are gone and index files that have no row (from their own
        metadata); also removes temporary files a crash left. Returns (dropped, adopted)."""
        for stale in self.folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        self.purge_trash(older_than_s=TRASH_KEPT_S)  # left by a run that ended before it purged
        # one listing of the folder, not a stat per file: 20,000 captures open at once
        names = {entry.name for entry in os.scandir(self.folder) if entry.name.endswith(".jpg")}
        dropped = 0
        for capture_id, original, portrait in self._db.execute(
                "SELECT id, original, portrait FROM captures WHERE trashed IS NULL").fetchall():
            if original not in names or portrait not in names:
                self._db.execute("DELETE FROM captures WHERE id = ?", (capture_id,))
                dropped += 1
        known = {row[0] for row in self._db.execute("SELECT original FROM captures")}
        adopted = 0
        for name in sorted(names - known):
            original = self.folder / name
            portrait = original.with_name(f"{original.stem}_portrait.jpg")
            if name.endswith("_portrait.jpg"):
                continue
            facts = read_facts(original)
            if facts and portrait.name in names:
                self._insert(facts, original, portrait)
                adopted += 1
        if adopted:
            self._give_sessions()
        return dropped, adopted

    def _insert(self, facts: dict, original: Path, portrait: Path) -> int:
        box = _box(facts.get("face_box"))
        cursor = self._db.execute(
            "INSERT INTO captures(star, emotion, score, taken, source, frame, original, portrait,"
            " face_box, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unicodedata.normalize("NFC", facts["star"]), facts["emotion"], facts["score"],
             facts["taken"], facts["source"], facts["frame"], original.name, portrait.name,
             json.dumps(list(box)) if box else None, facts.get("session")),
        )
        return int(cursor.lastrowid)

    def _capture(self, row) -> Capture:
        return capture_of_row(self.folder, row)

    def _add_face_box_column(self) -> None:
        """An index made before captures carried their face box gains the column (NULL)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(captures)")}
        if "face_box" not in columns:
            self._db.execute("ALTER TABLE captures ADD COLUMN face_box TEXT")

    def _add_favourite_and_trash_columns(self) -> None:
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(captures)")}
        for name, kind in (("favourite", "INTEGER NOT NULL DEFAULT 0"), ("trashed", "REAL")):
            if name not in columns:
                self._db.execute(f"ALTER TABLE captures ADD COLUMN {name} {kind}")

    def _add_session_column(self) -> None:
        """Once, for an index made before captures carried their watch run: the column, and
        a session for each old row."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(captures)")}
        if "session" not in columns:
            self._db.execute("ALTER TABLE captures ADD COLUMN session TEXT")
            self._give_sessions()

    def _give_sessions(self) -> None:
        """Rows without a session (older kpopcam, or files indexed again from their metadata)
        get one: captures of one source with less than OLD_SESSION_GAP_S between them belong
        to one run."""
        rows = self._db.execute("SELECT id, source, taken FROM captures WHERE session IS NULL "
                                "ORDER BY source, taken").fetchall()
        last_source, last_taken, session = None, 0.0, None
        self._db.execute("BEGIN")
        try:
            for capture_id, source, taken in rows:
                if source != last_source or taken - last_taken > OLD_SESSION_GAP_S:
                    session = old_session_id(source, taken)
                last_source, last_taken = source, taken
                self._db.execute("UPDATE captures SET session = ? WHERE id = ?",
                                 (session, capture_id))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _free_stem(self, stem: str) -> str:
        candidate, n = stem, 1
        while (self.folder / f"{candidate}.jpg").exists():
            n += 1
            candidate = f"{stem}-{n}"
        return candidate


def capture_of_row(folder: Path, row: tuple) -> Capture:
    (id_, star, emotion, score, taken, source, frame, original, portrait, face_box, session,
     favourite) = row
    return Capture(id_, star, emotion, score, taken, source, frame, folder / original,
                   folder / portrait, _box(json.loads(face_box)) if face_box else None, session,
                   bool(favourite))


class CaptureRows(Sequence):
    """Captures as the index lists them (rows of COLUMNS), each made a Capture when read:
    20,000 rows list in a fraction of the time 20,000 Captures with two Paths each take.
    Immutable, like the Captures it hands out."""

    def __init__(self, folder: Path, items: list):
        self.folder, self._items = folder, items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        item = self._items[i]
        # made anew each time, not kept: 20,000 kept Captures (two Paths each) made each of
        # Python's full garbage collections take half a second while the fan scrolled
        return capture_of_row(self.folder, item) if isinstance(item, tuple) else item

    def column(self, name: str) -> list:
        """One field of every capture, without making Captures."""
        k = FIELDS.index(name)
        return [x[k] if isinstance(x, tuple) else getattr(x, name) for x in self._items]

    def index_of(self, capture_id: int) -> int:
        return next((i for i, x in enumerate(self.column("id")) if x == capture_id), -1)

    def head(self, n: int) -> CaptureRows:
        return CaptureRows(self.folder, self._items[:n])

    def with_first(self, capture: Capture) -> CaptureRows:
        return CaptureRows(self.folder, [capture, *self._items])

    def without(self, capture_ids: set[int]) -> CaptureRows:
        return CaptureRows(self.folder, [x for x in self._items if
                                         (x[0] if isinstance(x, tuple) else x.id)
                                         not in capture_ids])

    def replaced(self, capture: Capture) -> CaptureRows:
        """The same captures, `capture` in place of the one with its id."""
        items = list(self._items)
        i = self.index_of(capture.id)
        if i >= 0:
            items[i] = capture
        return CaptureRows(self.folder, items)


def capture_facts(star: str, emotion: str, score: float, taken: float, source: str,
                  frame: int, face_box=None, session: str | None = None) -> dict:
    """What the index and each image's metadata say about a capture."""
    facts = {"star": star, "emotion": emotion, "score": round(float(score), 4),
             "taken": taken, "source": source, "frame": int(frame)}
    if face_box is not None:
        facts["face_box"] = [round(float(v), 1) for v in face_box]
    if session:
        facts["session"] = session
    return facts


def new_session_id(started: float | None = None) -> str:
    """The id a watch run stamps on each capture it saves: sortable, unique."""
    started = time.time() if started is None else started
    return f"{datetime.fromtimestamp(started):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"


def old_session_id(source: str, taken: float) -> str:
    """A session for a capture saved without one (older kpopcam): its source and the time
    of the first capture of the run."""
    return f"old-{datetime.fromtimestamp(taken):%Y%m%d-%H%M%S}-{source}"


def _box(value) -> tuple[float, float, float, float] | None:
    """A face box read back from JSON, or None when it is missing or malformed."""
    try:
        box = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return box if len(box) == 4 else None


def file_stem(taken: float, star: str, emotion: str) -> str:
    """'20261128-091502-123_리사_happy': sortable by time, readable, safe on every system."""
    when = datetime.fromtimestamp(taken)
    name = unicodedata.normalize("NFC", star)
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", name).strip(" .-") or "star"
    return f"{when:%Y%m%d-%H%M%S}-{when.microsecond // 1000:03d}_{name[:60]}_{emotion}"


def _identity(folder: Path) -> tuple[int, int]:
    """(device, inode) of a folder: another folder at the same path has others."""
    info = folder.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(str(folder))
    return info.st_dev, info.st_ino


def write_jpeg_atomic(path: Path, rgb: np.ndarray, facts: dict, quality: int = 92) -> None:
    """A JPEG carrying the capture's facts in EXIF and its comment, written to a temporary file
    in the same folder, flushed to disk, then renamed into place."""
    write_bytes_atomic(path, encode_jpeg(rgb, facts, quality))


def encode_jpeg(rgb: np.ndarray, facts: dict, quality: int = 92) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(rgb))
    text = json.dumps({META_KEY: facts}, ensure_ascii=False)
    exif = Image.Exif()
    exif[EXIF_DESCRIPTION] = f"{facts['star']} - {facts['emotion']} ({facts['score']:.2f})"
    exif[EXIF_SOFTWARE] = "kpopcam"
    exif[EXIF_DATETIME_ORIGINAL] = datetime.fromtimestamp(facts["taken"]).strftime(
        "%Y:%m:%d %H:%M:%S")
    exif.get_ifd(EXIF_IFD)[EXIF_USER_COMMENT] = b"UNICODE\x00" + text.encode("utf-16-be")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif, comment=text.encode("utf-8"))
    return out.getvalue()


def read_facts(path: Path) -> dict | None:
    """The capture facts kpopcam wrote into a JPEG, or None if it has none."""
    try:
        with Image.open(path) as image:
            comment = image.info.get("comment", b"")
        facts = json.loads(comment.decode("utf-8"))[META_KEY]
        return facts if {"star", "emotion", "score", "taken", "source", "frame"} <= set(facts) \
            else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _folder_trouble(folder: Path, exc: Exception) -> str:
    if folder.exists() and not folder.is_dir():
        return "it is a file, not a folder"
    if isinstance(exc, OSError):
        return reason_of(exc)
    return f"its index {INDEX_NAME} cannot be opened ({exc}); is the folder writable?"
