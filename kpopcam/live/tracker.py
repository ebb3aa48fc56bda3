"""Follows faces from frame to frame so identity and emotion are decided per person, not per
frame: a track votes over its identity matches and smooths its emotion."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from kpopcam.live.face_samples import FaceSample, pooled
from kpopcam.types import EMOTIONS, Face, StarMatch, iou

MIN_IOU = 0.3  # a detection continues a track when their boxes overlap at least this much
MAX_MISSED_S = 0.7  # a track not seen for this long is dropped
REFRESH_IDENTITY_S = 2.0  # a recognised track is embedded again this often
REFRESH_UNKNOWN_S = 0.3  # an unconfirmed one sooner: its first look may have been a bad frame
CONFIRM_VOTES = 3  # a track's name is confirmed once this many looks agree on it
MAX_VOTES = 15
PATH_S = 2.0  # how far back a track remembers where it was (a slow detection is matched there)


@dataclass
class Track:
    id: int
    face: Face
    first_seen: float
    last_seen: float
    votes: list[StarMatch] = field(default_factory=list)
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per second
    detected: Face | None = None  # where a detector last found this face ...
    detected_at: float = float("-inf")  # ... and when
    last_embedded: float = float("-inf")
    emotion: np.ndarray | None = None  # smoothed probabilities in EMOTIONS order
    embeddings: list[np.ndarray] = field(default_factory=list)  # unit vectors, newest last
    qualities: list[float] = field(default_factory=list)  # how good each of those looks was
    album: tuple[FaceSample, ...] = ()  # its best distinct looks, for "add this face"
    usual_eyes: float | None = None  # a running average of how open this face's eyes are
    path: deque = field(default_factory=deque)  # (time, box) of its recent frames, oldest first
    look_print: tuple | None = None  # face_change.face_print of its face at its last look

    def box_at(self, when: float) -> tuple[float, float, float, float] | None:
        """Where this face was at `when` (its last place at or before then); None if the track
        had not started."""
        place = None
        for at, box in self.path:
            if at > when:
                break
            place = box
        return place

    def eyes_relative(self, openness: float | None) -> float:
        """This frame's eye openness against the face's usual (1.0 when it cannot be told);
        the usual follows slowly, so a blink stands out against it."""
        if openness is None:
            return 1.0
        usual = openness if self.usual_eyes is None else self.usual_eyes
        self.usual_eyes = 0.9 * usual + 0.1 * openness
        return min(1.0, openness / usual) if usual > 0 else 1.0

    @property
    def star(self) -> str | None:
        """The star this track is: the star most of its matches name, as long as at least
        half of all its matches name her (None: unknown). One poor frame does not undo it."""
        counts = Counter(v.name for v in self.votes if v.name is not None)
        if not counts:
            return None
        name, count = counts.most_common(1)[0]
        return name if count * 2 >= len(self.votes) else None

    @property
    def similarity(self) -> float:
        sims = [v.similarity for v in self.votes if v.name == self.star]
        return float(np.mean(sims)) if sims else 0.0

    @property
    def confirmed(self) -> bool:
        """Named, and by enough looks that it is not one lucky frame."""
        star = self.star
        return star is not None and sum(v.name == star for v in self.votes) >= CONFIRM_VOTES

    def add_look(self, embedding: np.ndarray, quality: float = 1.0) -> np.ndarray:
        """Keeps a new embedding of this face; returns the track's identity embedding: its
        recent looks averaged, the big, sharp, frontal ones weighing most."""
        self.embeddings = [*self.embeddings, _unit(embedding)][-MAX_VOTES:]
        self.qualities = [*self.qualities, float(quality)][-MAX_VOTES:]
        return pooled(self.embeddings, self.qualities)

    def add_vote(self, match: StarMatch, now: float, embedding: np.ndarray | None = None) -> None:
        self.votes = [*self.votes, match][-MAX_VOTES:]
        self.last_embedded = now
        if embedding is not None:
            self.add_look(embedding)

    def looks_like(self, embedding: np.ndarray, min_similarity: float) -> bool:
        """Whether a new embedding is still the person this track has been (True while the
        track has none): a new face in the same spot is not."""
        if not self.embeddings:
            return True
        mean = _unit(np.mean(self.embeddings, axis=0))
        return float(mean @ _unit(embedding)) >= min_similarity

    def forget_identity(self) -> None:
        """Someone else is here now: no name, no vote, no emotion carries over."""
        self.votes, self.embeddings, self.qualities, self.emotion = [], [], [], None
        self.album = ()
        self.last_embedded = float("-inf")

    def smooth_emotion(self, probabilities: np.ndarray, weight: float) -> None:
        p = np.asarray(probabilities, dtype=np.float32)
        self.emotion = p if self.emotion is None else weight * p + (1 - weight) * self.emotion

    def emotion_score(self, emotion: str) -> float:
        return 0.0 if self.emotion is None else float(self.emotion[EMOTIONS.index(emotion)])


class FaceTracker:
    """Greedy IoU matching of each frame's faces to the live tracks."""

    def __init__(self, refresh_identity_s: float = REFRESH_IDENTITY_S):
        self.tracks: list[Track] = []
        self._seen: list[Track] = []
        self.refresh_identity_s = refresh_identity_s
        self._next_id = 1

    def update(self, faces: list[Face], now: float, detected: bool = True) -> list[Track]:
        """Tracks seen on this frame, in the order of `faces`. detected: the faces come from
        the detector (they set the speed), not from `predict`."""
        unmatched = list(self.tracks)
        seen: list[Track] = []
        for face in faces:
            best = max(unmatched, key=lambda t: iou(t.face.box, face.box), default=None)
            if best is not None and iou(best.face.box, face.box) >= MIN_IOU:
                unmatched.remove(best)
                _move(best, face, now, detected)
                seen.append(best)
            else:
                seen.append(self._start(face, now, detected))
        self.tracks = [t for t in self.tracks if now - t.last_seen <= MAX_MISSED_S]
        self._seen = seen
        return seen

    def reset(self) -> None:
        """A camera cut: every track ends; faces after it start new ones."""
        self.tracks, self._seen = [], []

    def predict(self, now: float) -> list[Face]:
        """Where the faces seen last are now, moved at their recent speed: used on frames
        between detections."""
        faces = []
        for track in self._seen:
            base = track.detected or track.face
            dt = now - track.detected_at if track.detected else 0.0
            dx, dy = track.velocity[0] * dt, track.velocity[1] * dt
            x1, y1, x2, y2 = base.box
            landmarks = None if base.landmarks is None else base.landmarks + np.float32([dx, dy])
            faces.append(Face((x1 + dx, y1 + dy, x2 + dx, y2 + dy), base.score, landmarks))
        return faces

    def brought_up_to_date(self, faces: list[Face], then: float) -> list[Face | None]:
        """Faces a detector found on a frame at `then`, each moved as the track it was then
        has moved since (offset and size); None for a face no track was near then."""
        moved: list[Face | None] = []
        free = list(self.tracks)
        places = {t.id: t.box_at(then) for t in free}
        for face in faces:
            best = max(free, key=lambda t: iou(places[t.id] or _NOWHERE, face.box),
                       default=None)
            if best is None or iou(places[best.id] or _NOWHERE, face.box) < MIN_IOU:
                moved.append(None)
                continue
            free.remove(best)
            moved.append(_as_moved(face, places[best.id], best.face.box))
        return moved

    def current_faces(self) -> list[Face]:
        """Where the faces of the last update are, in the order `predict` gives them."""
        return [track.face for track in self._seen]

    def needs_identity(self, track: Track, now: float, changed: bool = False) -> bool:
        """Embed a track when it starts, again soon while its name is unconfirmed or its face
        looks changed, and every refresh_identity_s once it is confirmed."""
        soon = changed or not track.confirmed
        wait = REFRESH_UNKNOWN_S if soon else self.refresh_identity_s
        return now - track.last_embedded >= wait

    def _start(self, face: Face, now: float, detected: bool) -> Track:
        track = Track(self._next_id, face, now, now)
        _remember(track, now)
        if detected:
            track.detected, track.detected_at = face, now
        self._next_id += 1
        self.tracks.append(track)
        return track


_NOWHERE = (0.0, 0.0, 0.0, 0.0)


def _as_moved(face: Face, before, after) -> Face:
    """`face` moved and scaled as the box `before` became `after`."""
    (bx1, by1, bx2, by2), (ax1, ay1, ax2, ay2) = before, after
    zoom = ((ax2 - ax1) + (ay2 - ay1)) / max(1e-6, (bx2 - bx1) + (by2 - by1))
    (bcx, bcy), (acx, acy) = ((bx1 + bx2) / 2, (by1 + by2) / 2), ((ax1 + ax2) / 2, (ay1 + ay2) / 2)
    x1, y1, x2, y2 = face.box

    def moved(x, y):
        return acx + (x - bcx) * zoom, acy + (y - bcy) * zoom

    (nx1, ny1), (nx2, ny2) = moved(x1, y1), moved(x2, y2)
    landmarks = None if face.landmarks is None else np.float32(
        [moved(x, y) for x, y in face.landmarks])
    return Face((nx1, ny1, nx2, ny2), face.score, landmarks)


def _move(track: Track, face: Face, now: float, detected: bool) -> None:
    if detected:
        dt = now - track.detected_at
        if track.detected is not None and dt > 0:
            (ox, oy), (nx, ny) = track.detected.center, face.center
            track.velocity = ((nx - ox) / dt, (ny - oy) / dt)
        track.detected, track.detected_at = face, now
    track.face, track.last_seen = face, max(track.last_seen, now)
    _remember(track, now)


def _remember(track: Track, now: float) -> None:
    if track.path and track.path[-1][0] == now:
        track.path.pop()  # followed, then detected on the same frame: the detection stands
    track.path.append((now, track.face.box))
    while track.path and track.path[0][0] < now - PATH_S:
        track.path.popleft()


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    return v / max(float(np.linalg.norm(v)), 1e-12)
