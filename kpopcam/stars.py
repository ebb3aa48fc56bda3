"""The star gallery: enrolled stars, their face embeddings, and who a new face is (SQLite)."""

from __future__ import annotations

import sqlite3
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kpopcam.types import StarMatch

EMBEDDING_DIM = 512

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stars (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    star_id INTEGER NOT NULL REFERENCES stars(id) ON DELETE CASCADE,
    embedding BLOB NOT NULL,
    photo TEXT NOT NULL,
    thumbnail BLOB,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_star ON faces(star_id);
"""


class GalleryError(ValueError):
    """A gallery operation a fan asked for that cannot be done (the message says why)."""


@dataclass(frozen=True)
class EnrolledFace:
    embedding: np.ndarray
    photo: str
    thumbnail: bytes | None = None  # JPEG bytes


@dataclass(frozen=True)
class Star:
    name: str
    face_count: int
    thumbnail: bytes | None  # JPEG of the first enrolled face


class StarGallery:
    """Stars with several embeddings each. `match` is open-set: below `threshold` a face is
    unknown. Each star is matched by its centroid: the mean of its unit embeddings (chosen
    over best-single-embedding and a trained classifier by training/eval_identity.py).

    The gallery remembers which embedder made its embeddings (`embedder`); opening it with
    another one is an error, since their embeddings cannot be compared.
    """

    def __init__(self, path: str | Path, embedder: str = "casia-webface", threshold: float = 0.75):
        self.path = Path(path)
        self.threshold = threshold
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._check_embedder(embedder)
        self._centroids: tuple[list[str], np.ndarray] | None = None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StarGallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- enrolment and editing -------------------------------------------------------------

    def add_faces(self, name: str, faces: Iterable[EnrolledFace]) -> int:
        """Add faces to a star (made if new) in one transaction; returns how many were added."""
        name = clean_name(name)
        rows = [
            (_to_blob(f.embedding), f.photo, f.thumbnail, time.time()) for f in faces
        ]
        if not rows:
            return 0
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO stars(name, created) VALUES (?, ?)", (name, time.time())
            )
            (star_id,) = self._db.execute("SELECT id FROM stars WHERE name = ?", (name,)).fetchone()
            self._db.executemany(
                "INSERT INTO faces(star_id, embedding, photo, thumbnail, added) "
                "VALUES (?, ?, ?, ?, ?)",
                [(star_id, *row) for row in rows],
            )
        self._centroids = None
        return len(rows)

    def rename(self, old: str, new: str) -> None:
        old, new = clean_name(old), clean_name(new)
        self._require(old)
        if old != new and self._exists(new):
            raise GalleryError(f"there is already a star called {new!r}")
        with self._transaction():
            self._db.execute("UPDATE stars SET name = ? WHERE name = ?", (new, old))
        self._centroids = None

    def remove(self, name: str) -> None:
        name = clean_name(name)
        self._require(name)
        with self._transaction():
            self._db.execute("DELETE FROM stars WHERE name = ?", (name,))
        self._centroids = None

    def stars(self) -> list[Star]:
        rows = self._db.execute(
            """SELECT s.name, COUNT(f.id),
                      (SELECT thumbnail FROM faces WHERE star_id = s.id ORDER BY id LIMIT 1)
               FROM stars s LEFT JOIN faces f ON f.star_id = s.id
               GROUP BY s.id ORDER BY s.name COLLATE NOCASE"""
        ).fetchall()
        return [Star(name, count, thumb) for name, count, thumb in rows]

    def embeddings(self, name: str) -> np.ndarray:
        name = clean_name(name)
        self._require(name)
        rows = self._db.execute(
            "SELECT f.embedding FROM faces f JOIN stars s ON s.id = f.star_id "
            "WHERE s.name = ? ORDER BY f.id",
            (name,),
        ).fetchall()
        return np.stack([_from_blob(b) for (b,) in rows]) if rows else np.zeros((0, EMBEDDING_DIM))

    # -- matching ----------------------------------------------------------------------------

    def match(self, embedding: np.ndarray) -> StarMatch:
        """The enrolled star this face is, or StarMatch(None, similarity) for an unknown face."""
        names, centroids = self._load_centroids()
        if not names:
            return StarMatch(None, 0.0)
        similarities = centroids @ _unit(np.asarray(embedding, dtype=np.float32))
        best = int(np.argmax(similarities))
        similarity = float(similarities[best])
        return StarMatch(names[best] if similarity >= self.threshold else None, similarity)

    def _load_centroids(self) -> tuple[list[str], np.ndarray]:
        if self._centroids is None:
            rows = self._db.execute(
                "SELECT s.name, f.embedding FROM faces f JOIN stars s ON s.id = f.star_id"
            ).fetchall()
            by_star: dict[str, list[np.ndarray]] = {}
            for name, blob in rows:
                by_star.setdefault(name, []).append(_from_blob(blob))
            names = sorted(by_star)
            centroids = np.zeros((0, EMBEDDING_DIM), np.float32)
            if names:
                centroids = np.stack([centroid(np.stack(by_star[n])) for n in names])
            self._centroids = (names, centroids)
        return self._centroids

    # -- gallery files -----------------------------------------------------------------------

    def export(self, path: str | Path) -> None:
        """Write the whole gallery to a standalone file another kpopcam can import."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        target = sqlite3.connect(tmp)
        try:
            self._db.backup(target)
        finally:
            target.close()
        tmp.replace(path)

    def import_from(self, path: str | Path) -> int:
        """Merge the stars of an exported gallery file into this one; returns faces added."""
        path = Path(path)
        try:
            other = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            rows = other.execute(
                "SELECT s.name, f.embedding, f.photo, f.thumbnail FROM faces f "
                "JOIN stars s ON s.id = f.star_id ORDER BY f.id"
            ).fetchall()
            kind = other.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
            other.close()
        except sqlite3.Error as exc:
            raise GalleryError(f"{path}: not a kpopcam gallery file ({exc})") from exc
        if kind and kind[0] != self._embedder():
            raise GalleryError(
                f"{path} was made with the {kind[0]} embedder, this gallery uses "
                f"{self._embedder()}; their faces cannot be compared"
            )
        by_star: dict[str, list[EnrolledFace]] = {}
        for name, blob, photo, thumb in rows:
            by_star.setdefault(name, []).append(EnrolledFace(_from_blob(blob), photo, thumb))
        return sum(self.add_faces(name, faces) for name, faces in by_star.items())

    # -- internals ---------------------------------------------------------------------------

    def _check_embedder(self, embedder: str) -> None:
        stored = self._embedder()
        if stored is None:
            self._db.execute("INSERT INTO meta(key, value) VALUES ('embedder', ?)", (embedder,))
        elif stored != embedder:
            raise GalleryError(
                f"{self.path} holds faces embedded with {stored}, not {embedder}; "
                f"set identity.weights = \"{stored}\" or enrol the stars again in a new gallery"
            )

    def _embedder(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        return row[0] if row else None

    def _exists(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM stars WHERE name = ?", (name,)).fetchone()
        return row is not None

    def _require(self, name: str) -> None:
        if not self._exists(name):
            raise GalleryError(f"no star called {name!r}")

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def clean_name(name: str) -> str:
    """A star's name as stored: Unicode NFC (so Hangul typed two ways is one star), trimmed."""
    name = unicodedata.normalize("NFC", str(name)).strip()
    if not name:
        raise GalleryError("a star needs a name")
    return name


def centroid(embeddings: np.ndarray) -> np.ndarray:
    return _unit(_unit(embeddings).mean(axis=0))


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norm, 1e-12)).astype(np.float32)


def _to_blob(embedding: np.ndarray) -> bytes:
    vector = np.asarray(embedding, dtype="<f4").reshape(-1)
    if vector.size != EMBEDDING_DIM:
        raise GalleryError(f"an embedding has {EMBEDDING_DIM} values, got {vector.size}")
    return vector.tobytes()


def _from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
