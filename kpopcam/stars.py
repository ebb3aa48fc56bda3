"""The star gallery: enrolled stars, their face embeddings, and who a new face is (SQLite)."""

from __future__ import annotations

import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kpopcam.settings import IDENTITY_MARGINS, IDENTITY_THRESHOLDS
from kpopcam.types import StarMatch
from kpopcam.vision.gallery_crop import GalleryCrop, crop_of_thumbnail, read_crop

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
# Added after the first release; older galleries get them on open (their faces have none).
CROP_COLUMNS = {"crop": "BLOB", "crop_face": "TEXT"}


class GalleryError(ValueError):
    """A gallery operation a fan asked for that cannot be done (the message says why)."""


class GalleryNeedsMigration(GalleryError):
    """The gallery's faces were embedded by another embedder than the one asked for; the
    gallery can embed them again (migrate_gallery)."""

    def __init__(self, path: Path, stored: str, wanted: str):
        super().__init__(
            f"{path} holds faces embedded with {stored}, not {wanted}; "
            f"run `kpopcam stars migrate` to embed them again with {wanted}, "
            f'or set identity.weights = "{stored}"'
        )
        self.path, self.stored, self.wanted = path, stored, wanted


@dataclass(frozen=True)
class EnrolledFace:
    embedding: np.ndarray
    photo: str
    thumbnail: bytes | None = None  # JPEG bytes
    crop: GalleryCrop | None = None  # what the face can be embedded again from


@dataclass(frozen=True)
class Star:
    name: str
    face_count: int
    thumbnail: bytes | None  # JPEG of the first enrolled face


@dataclass(frozen=True)
class _Centroids:
    """One immutable snapshot of the stars' centroids: replaced whole, never edited, so a
    thread matching against it never sees it half built."""

    names: tuple[str, ...]
    matrix: np.ndarray  # (stars, dim), read-only


@dataclass
class MigrationReport:
    embedder: str
    backup: Path | None = None  # the gallery as it was before
    from_crops: int = 0
    from_thumbnails: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # star -> faces that could not be


class StarGallery:
    """Stars with several embeddings each. `match` is open-set: below `threshold` a face is
    unknown. Each star is matched by its centroid: the mean of its unit embeddings (chosen
    over best-single-embedding and a trained classifier by training/eval_identity.py).

    The gallery remembers which embedder made its embeddings; opening it with another one
    raises GalleryNeedsMigration. Names are matched without regard to case or Unicode form
    ('lisa' is the star 'Lisa'); a star keeps the spelling it was first enrolled with.

    Thread-safe: the analysis, pool and GUI threads share one gallery. Every use of the
    connection holds one lock, and `match` reads an immutable centroid snapshot.
    """

    def __init__(self, path: str | Path, embedder: str = "dlib-onnx",
                 threshold: float | None = None, margin: float | None = None):
        """threshold, margin: None for the embedder's own calibrated ones (IDENTITY_THRESHOLDS,
        IDENTITY_MARGINS)."""
        self.path = Path(path)
        self.threshold = IDENTITY_THRESHOLDS[embedder] if threshold is None else threshold
        self.margin = IDENTITY_MARGINS[embedder] if margin is None else margin
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = _connect(self.path)
        self._centroids: _Centroids | None = None
        stored = _stored_embedder(self._db)
        if stored is None:
            self._db.execute("INSERT INTO meta(key, value) VALUES ('embedder', ?)", (embedder,))
        elif stored != embedder:
            self._db.close()
            raise GalleryNeedsMigration(self.path, stored, embedder)
        self.embedder = embedder

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StarGallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- enrolment and editing -------------------------------------------------------------

    def add_faces(self, name: str, faces: Iterable[EnrolledFace]) -> int:
        """Add faces to a star in one transaction; returns how many were added. A name that
        differs from an enrolled star's only in case joins that star; a new name makes one."""
        name = clean_name(name)
        faces = list(faces)
        if not faces:
            return 0
        with self._lock, self._transaction():
            self._check_dims(faces)
            star_id = self._star_id(name)
            if star_id is None:
                star_id = self._db.execute(
                    "INSERT INTO stars(name, created) VALUES (?, ?)", (name, time.time())
                ).lastrowid
            self._db.executemany(
                "INSERT INTO faces(star_id, embedding, photo, thumbnail, added, crop, crop_face) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(star_id, *_face_row(f)) for f in faces],
            )
            self._centroids = None
        return len(faces)

    def rename(self, old: str, new: str) -> None:
        new = clean_name(new)
        with self._lock, self._transaction():
            star_id = self._require(old)
            other = self._star_id(new)
            if other is not None and other != star_id:
                raise GalleryError(f"there is already a star called {self._name_of(other)!r}")
            self._db.execute("UPDATE stars SET name = ? WHERE id = ?", (new, star_id))
            self._centroids = None

    def remove(self, name: str) -> None:
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM stars WHERE id = ?", (self._require(name),))
            self._centroids = None

    def find(self, name: str) -> str | None:
        """The enrolled star's name as stored for a name typed in any case, or None."""
        with self._lock:
            star_id = self._star_id(clean_name(name))
            return None if star_id is None else self._name_of(star_id)

    def stars(self) -> list[Star]:
        with self._lock:
            rows = self._db.execute(
                """SELECT s.name, COUNT(f.id),
                          (SELECT thumbnail FROM faces WHERE star_id = s.id ORDER BY id LIMIT 1)
                   FROM stars s LEFT JOIN faces f ON f.star_id = s.id
                   GROUP BY s.id ORDER BY s.name COLLATE NOCASE"""
            ).fetchall()
        return [Star(name, count, thumb) for name, count, thumb in rows]

    def embeddings(self, name: str) -> np.ndarray:
        with self._lock:
            rows = self._db.execute(
                "SELECT embedding FROM faces WHERE star_id = ? ORDER BY id",
                (self._require(name),),
            ).fetchall()
        return np.stack([_from_blob(b) for (b,) in rows]) if rows else np.zeros((0, 0))

    # -- matching ----------------------------------------------------------------------------

    def match(self, embedding: np.ndarray) -> StarMatch:
        """The enrolled star this face is, or StarMatch(None, similarity) for an unknown face:
        below the threshold, or not `margin` ahead of the second most alike star."""
        similarities = self.similarities(embedding)
        if not similarities:
            return StarMatch(None, 0.0)
        ranked = sorted(similarities.items(), key=lambda kv: kv[1], reverse=True)
        name, similarity = ranked[0]
        lead = similarity - ranked[1][1] if len(ranked) > 1 else 1.0
        known = similarity >= self.threshold and lead >= self.margin
        return StarMatch(name if known else None, similarity)

    def similarities(self, embedding: np.ndarray) -> dict[str, float]:
        """Cosine similarity of a face to each enrolled star's centroid."""
        snapshot = self._centroids or self._load_centroids()
        if not snapshot.names:
            return {}
        vector = _unit(np.asarray(embedding, dtype=np.float32).reshape(-1))
        if vector.size != snapshot.matrix.shape[1]:
            raise GalleryError(
                f"an embedding of {vector.size} values cannot be matched against this "
                f"gallery's {snapshot.matrix.shape[1]}-value ones ({self.embedder})"
            )
        return dict(zip(snapshot.names, (snapshot.matrix @ vector).tolist(), strict=True))

    def centroids(self) -> dict[str, np.ndarray]:
        """Each enrolled star's centroid (read-only unit vectors)."""
        snapshot = self._centroids or self._load_centroids()
        return dict(zip(snapshot.names, snapshot.matrix, strict=True))

    def _load_centroids(self) -> _Centroids:
        with self._lock:
            if self._centroids is not None:
                return self._centroids
            rows = self._db.execute(
                "SELECT s.name, f.embedding FROM faces f JOIN stars s ON s.id = f.star_id"
            ).fetchall()
            by_star: dict[str, list[np.ndarray]] = {}
            for name, blob in rows:
                by_star.setdefault(name, []).append(_from_blob(blob))
            names = tuple(sorted(by_star))
            matrix = np.zeros((0, 0), np.float32)
            if names:
                matrix = np.stack([centroid(np.stack(by_star[n])) for n in names])
            matrix.setflags(write=False)
            self._centroids = _Centroids(names, matrix)
            return self._centroids

    # -- gallery files -----------------------------------------------------------------------

    def export(self, path: str | Path) -> None:
        """Write the whole gallery to a standalone file another kpopcam can import."""
        with self._lock:
            _backup(self._db, Path(path))

    def import_from(self, path: str | Path) -> int:
        """Merge the stars of an exported gallery file into this one; returns faces added.
        Faces this gallery already has (the same embedding) are skipped."""
        path = Path(path)
        try:
            other = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                kind = _stored_embedder(other)
                rows = other.execute(_select_faces(other)).fetchall()
            finally:
                other.close()
        except sqlite3.Error as exc:
            raise GalleryError(f"{path}: not a kpopcam gallery file ({exc})") from exc
        if kind and kind != self.embedder:
            raise GalleryError(
                f"{path} was made with the {kind} embedder, this gallery uses "
                f"{self.embedder}; their faces cannot be compared (migrate that gallery first)"
            )
        with self._lock:
            have = {b for (b,) in self._db.execute("SELECT embedding FROM faces")}
        by_star: dict[str, list[EnrolledFace]] = {}
        for name, blob, photo, thumb, crop, crop_face in rows:
            if blob in have:
                continue
            have.add(blob)
            face = EnrolledFace(_from_blob(blob), photo, thumb, _crop(crop, crop_face))
            by_star.setdefault(name, []).append(face)
        return sum(self.add_faces(name, faces) for name, faces in by_star.items())

    # -- internals ---------------------------------------------------------------------------

    def _check_dims(self, faces: list[EnrolledFace]) -> None:
        row = self._db.execute("SELECT embedding FROM faces LIMIT 1").fetchone()
        dims = {np.asarray(f.embedding).size for f in faces}
        if row is not None:
            dims.add(len(row[0]) // 4)
        if len(dims) > 1:
            raise GalleryError(
                f"embeddings of {' and '.join(map(str, sorted(dims)))} values cannot share a "
                "gallery: they come from different embedders"
            )

    def _star_id(self, name: str) -> int | None:
        key = name_key(name)
        for star_id, stored in self._db.execute("SELECT id, name FROM stars ORDER BY id"):
            if name_key(stored) == key:
                return star_id
        return None

    def _name_of(self, star_id: int) -> str:
        return self._db.execute("SELECT name FROM stars WHERE id = ?", (star_id,)).fetchone()[0]

    def _require(self, name: str) -> int:
        name = clean_name(name)
        star_id = self._star_id(name)
        if star_id is None:
            raise GalleryError(f"no star called {name!r}")
        return star_id

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


# -- migration to another embedder ---------------------------------------------------------


def gallery_embedder(path: str | Path) -> str | None:
    """Which embedder made a gallery file's embeddings (None: a new or empty gallery)."""
    path = Path(path)
    if not path.exists():
        return None
    db = _connect(path)
    try:
        return _stored_embedder(db)
    finally:
        db.close()


def migrate_gallery(
    path: str | Path, embedder, on_progress: Callable[[int, int], None] | None = None,
    flip: bool = True,
) -> MigrationReport:
    """Embed every face of a gallery again with `embedder` (an object with `kind` and
    `embed_faces`), from the crop it kept, or from its thumbnail when it has no crop and the
    face in it is big enough. Faces with neither are dropped and counted per star: those stars
    need enrolling again. All or nothing: the gallery changes in one transaction at the end,
    and a copy of it as it was is kept beside it. on_progress(done, total) after each face;
    flip: as enrolment does it (identity.flip)."""
    path = Path(path)
    db = _connect(path)
    try:
        backup = path.with_name(f"{path.stem}.{_stored_embedder(db)}{path.suffix}")
        _backup(db, backup)
        rows = db.execute(
            "SELECT f.id, s.name, f.thumbnail, f.crop, f.crop_face "
            "FROM faces f JOIN stars s ON s.id = f.star_id ORDER BY f.id"
        ).fetchall()
        report = MigrationReport(embedder.kind, backup)
        updates, dropped_ids = [], []
        for done, (face_id, name, thumbnail, crop, crop_face) in enumerate(rows, 1):
            kept = _crop(crop, crop_face)
            source = kept or (thumbnail and crop_of_thumbnail(thumbnail))
            if source:
                vector = embedder.embed_faces(source.rgb(), [source.face], flip=flip)[0]
                updates.append((_to_blob(vector), face_id))
                report.from_crops += kept is not None
                report.from_thumbnails += kept is None
            else:
                dropped_ids.append((face_id,))
                report.dropped[name] = report.dropped.get(name, 0) + 1
            if on_progress:
                on_progress(done, len(rows))
        with _Transaction(db):
            db.executemany("UPDATE faces SET embedding = ? WHERE id = ?", updates)
            db.executemany("DELETE FROM faces WHERE id = ?", dropped_ids)
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?)",
                       (embedder.kind,))
        return report
    finally:
        db.close()


# -- names and vectors ---------------------------------------------------------------------


def clean_name(name: str) -> str:
    """A star's name as stored: Unicode NFC (so Hangul typed two ways is one star), trimmed."""
    name = unicodedata.normalize("NFC", str(name)).strip()
    if not name:
        raise GalleryError("a star needs a name")
    return name


def name_key(name: str) -> str:
    """What two names must share to be one star: NFC and case-folded ('LISA' is 'lisa')."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", str(name)).strip().casefold())


def centroid(embeddings: np.ndarray) -> np.ndarray:
    return _unit(_unit(embeddings).mean(axis=0))


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norm, 1e-12)).astype(np.float32)


def _to_blob(embedding: np.ndarray) -> bytes:
    return np.asarray(embedding, dtype="<f4").reshape(-1).tobytes()


def _from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def _face_row(face: EnrolledFace) -> tuple:
    crop = face.crop
    return (_to_blob(face.embedding), face.photo, face.thumbnail, time.time(),
            None if crop is None else crop.jpeg, None if crop is None else crop.face_json())


def _crop(jpeg: bytes | None, face_json: str | None) -> GalleryCrop | None:
    return read_crop(jpeg, face_json) if jpeg and face_json else None


# -- the file ------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(SCHEMA)
    have = {row[1] for row in db.execute("PRAGMA table_info(faces)")}
    for column, kind in CROP_COLUMNS.items():
        if column not in have:
            db.execute(f"ALTER TABLE faces ADD COLUMN {column} {kind}")
    return db


def _backup(db: sqlite3.Connection, path: Path) -> None:
    """A copy of the open database, written atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    target = sqlite3.connect(tmp)
    try:
        db.backup(target)
    finally:
        target.close()
    tmp.replace(path)


def _stored_embedder(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
    return row[0] if row else None


def _select_faces(db: sqlite3.Connection) -> str:
    """The faces of a gallery file, which may be older than the crop columns."""
    have = {row[1] for row in db.execute("PRAGMA table_info(faces)")}
    crops = ", ".join(f"f.{c}" if c in have else "NULL" for c in CROP_COLUMNS)
    return (f"SELECT s.name, f.embedding, f.photo, f.thumbnail, {crops} FROM faces f "
            "JOIN stars s ON s.id = f.star_id ORDER BY f.id")
