"""Enrolling a star from footage: the faces of a video, followed through each shot, grouped by
person across the cuts, and the star's group picked out.

Fans have fancams, not passport photos: a video gives many looks at the star, turned, lit and
sized differently. The group that is the star is the one that matches her enrolled photos, or,
for a new star, the person seen most; the fan is shown which faces were taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kpopcam.enrollment import looks_as_faces
from kpopcam.live.analysis import distinct_faces
from kpopcam.live.face_samples import (
    FaceSample,
    album_with,
    distinct,
    face_sharpness,
    pooled,
    sample,
)
from kpopcam.live.shots import ShotChangeDetector
from kpopcam.live.sources import SourceError, VideoFileSource
from kpopcam.live.tracker import FaceTracker
from kpopcam.stars import EnrolledFace, StarGallery

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".wmv", ".flv",
                            ".mpg", ".mpeg", ".ts", ".3gp"})
LOOKS_PER_S = 5.0  # frames a second the faces are found and embedded on
MIN_LOOKS = 2  # a face seen on fewer sampled frames is a passer-by or a false detection
FACES_PER_STAR = 8  # distinct looks enrolled from a video
LARGE_GROUP = 0.5  # another person seen at least this share as often as the chosen one
SHEET_PX = 128


class FootageError(ValueError):
    """A video that cannot give the star's faces; the message says why for a fan."""


@dataclass(eq=False)
class Person:
    """The looks of one person in a video, gathered from one or more tracks (shots)."""

    looks: int = 0
    shots: int = 0
    first_frame: int = 0
    embeddings: list[np.ndarray] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    album: tuple[FaceSample, ...] = ()

    def centroid(self) -> np.ndarray:
        return pooled(self.embeddings, self.qualities)

    def best_faces(self, n: int = FACES_PER_STAR) -> list[FaceSample]:
        return distinct(list(self.album), n)


@dataclass(frozen=True)
class Choice:
    """The person enrolled, the others seen often too, and all people found (most seen first)."""

    person: Person
    others: list[Person]
    people: list[Person]
    matched: float | None  # similarity to the star's enrolled photos; None for a new star


def is_video(path: Path) -> bool:
    """A video by its suffix, or by content: a file no photo reader takes but OpenCV plays."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    from kpopcam.images import IMAGE_SUFFIXES

    if path.suffix.lower() in IMAGE_SUFFIXES or not path.is_file():
        return False
    capture = cv2.VideoCapture(str(path))
    try:
        return capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) > 1
    finally:
        capture.release()


def people_in(video: Path, detector, embedder, threshold: float, flip: bool = False,
              on_frame: Callable[[int, int], None] | None = None) -> list[Person]:
    """Every person seen in the video, most seen first. Faces are found on LOOKS_PER_S
    frames a second and followed within each shot; a camera cut ends every track, and a
    track's face that stops looking like itself (2 x threshold - 1, as live) starts another.
    Tracks are then joined into people when their looks are at least `threshold` (the
    gallery's) alike. on_frame(done, total)."""
    try:
        source = VideoFileSource(video, realtime=False)
    except SourceError as exc:
        raise FootageError(str(exc)) from exc
    tracks = _follow(source, detector, embedder, flip, 2 * threshold - 1, on_frame)
    if source.end_reason.startswith(f"video {source.name} has no readable"):
        raise FootageError(f"{video}: {source.end_reason} (not a video, or a format OpenCV "
                           "cannot decode)")
    return _join([t for t in tracks if t.looks >= MIN_LOOKS], threshold)


def choose(people: list[Person], gallery: StarGallery, name: str) -> Choice:
    """The star's person: for an enrolled star the person most like her photos (an error
    when nobody is like enough); for a new star the person seen most."""
    if not people:
        raise FootageError("no face was found in the video")
    star = gallery.find(name)
    if star is None:
        return Choice(people[0], _large(people, people[0]), people, None)
    scored = [(gallery.similarities(p.centroid()).get(star, -1.0), p) for p in people]
    similarity, best = max(scored, key=lambda sp: sp[0])
    match = gallery.match(best.centroid())
    if similarity < gallery.threshold or match.name not in (star, None):
        raise FootageError(
            f"none of the {len(people)} people in the video looks like {star}'s enrolled "
            f"faces (the most alike: {similarity:.2f}, {gallery.threshold:.2f} needed)")
    return Choice(best, [], people, similarity)


def enrolled_faces(person: Person, video: Path, embedder, flip: bool = True,
                   n: int = FACES_PER_STAR) -> list[EnrolledFace]:
    """The person's best distinct looks as the gallery keeps them, embedded as photos are."""
    return looks_as_faces(person.best_faces(n), video.name, embedder, flip)


def contact_sheet(faces: list[EnrolledFace]) -> bytes:
    """The chosen faces side by side, as a JPEG: what the fan checks."""
    tiles = [cv2.resize(cv2.imdecode(np.frombuffer(f.thumbnail, np.uint8), cv2.IMREAD_COLOR),
                        (SHEET_PX, SHEET_PX)) for f in faces if f.thumbnail]
    ok, data = cv2.imencode(".jpg", np.hstack(tiles), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise FootageError("the contact sheet could not be made")
    return data.tobytes()


# -- following faces through the video -----------------------------------------------------


@dataclass
class _Track:
    person: Person
    last_embedding: np.ndarray | None = None


def _follow(source: VideoFileSource, detector, embedder, flip, same_track,
            on_frame) -> list[Person]:
    step = max(1, round(source.fps / LOOKS_PER_S))
    tracker, shots = FaceTracker(), ShotChangeDetector()
    live: dict[int, _Track] = {}
    ended: list[Person] = []
    for frame in source.frames():
        if shots.is_cut(frame.image):
            ended += [t.person for t in live.values()]
            live = {}
            tracker.reset()
        if frame.number % step == 0:
            faces = distinct_faces(detector.detect(frame.image, color="bgr"))
            tracks = tracker.update(faces, frame.timestamp)
            _look(frame, faces, tracks, live, ended, embedder, flip, same_track)
        if on_frame:
            on_frame(frame.number + 1, source.frame_count)
    return ended + [t.person for t in live.values()]


def _look(frame, faces, tracks, live, ended, embedder, flip, same_track) -> None:
    if not faces:
        return
    rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
    embeddings = embedder.embed_faces(rgb, faces, flip=flip)
    for face, track, embedding in zip(faces, tracks, embeddings, strict=True):
        look = sample(embedding, face, face_sharpness(frame.image, face), frame.number)
        current = live.get(track.id)
        if current is not None and current.last_embedding is not None and float(
                current.last_embedding @ look.embedding) < same_track:
            ended.append(current.person)  # someone else in the same spot
            current = None
        if current is None:
            current = live[track.id] = _Track(Person(shots=1, first_frame=frame.number))
        person = current.person
        person.looks += 1
        person.embeddings.append(look.embedding)
        person.qualities.append(look.quality)
        person.album = album_with(person.album, look, lambda f=face: (rgb, f), FACES_PER_STAR)
        current.last_embedding = person.centroid()


def _join(tracks: list[Person], same_person: float) -> list[Person]:
    """Tracks whose looks are alike enough are one person (single linkage on centroids)."""
    parent = list(range(len(tracks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    centroids = [t.centroid() for t in tracks]
    for i in range(len(tracks)):
        for j in range(i + 1, len(tracks)):
            if float(centroids[i] @ centroids[j]) >= same_person:
                parent[root(j)] = root(i)
    groups: dict[int, list[Person]] = {}
    for i, track in enumerate(tracks):
        groups.setdefault(root(i), []).append(track)
    return sorted((_merged(g) for g in groups.values()), key=lambda p: p.looks, reverse=True)


def _merged(tracks: list[Person]) -> Person:
    samples = [s for t in tracks for s in t.album]
    return Person(sum(t.looks for t in tracks), sum(t.shots for t in tracks),
                  min(t.first_frame for t in tracks),
                  [e for t in tracks for e in t.embeddings],
                  [q for t in tracks for q in t.qualities],
                  tuple(distinct(samples, FACES_PER_STAR)))


def _large(people: list[Person], chosen: Person) -> list[Person]:
    return [p for p in people if p is not chosen and p.looks >= LARGE_GROUP * chosen.looks]
