"""When to capture: the chosen star shows the chosen emotion for long enough (CaptureRule),
and which frame of that moment is the best one to keep (BestFrameBuffer)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from kpopcam.settings import TriggerSettings
from kpopcam.types import Face


@dataclass(frozen=True)
class Fire:
    """A capture is due: this track showed the emotion from `since` until `now`."""

    track_id: int
    star: str
    emotion: str
    score: float
    since: float
    now: float


@dataclass
class _Hold:
    since: float
    fired: bool = False


@dataclass
class CaptureRule:
    """Fires once per moment: the star's smoothed emotion score stays at or above `min_score`
    for `hold_s`; then not again for that star until the emotion has dropped and
    `cooldown_s` has passed, and never more than `max_per_minute` times a minute."""

    star: str = ""  # empty: any enrolled star
    emotion: str = "happy"
    min_score: float = 0.6
    hold_s: float = 0.5
    cooldown_s: float = 5.0
    max_per_minute: int = 6
    _holds: dict[int, _Hold] = field(default_factory=dict, repr=False)
    _last_fire: dict[str, float] = field(default_factory=dict, repr=False)
    _recent: deque = field(default_factory=deque, repr=False)

    @classmethod
    def from_settings(cls, s: TriggerSettings) -> CaptureRule:
        return cls(s.star, s.emotion, s.min_score, s.hold_s, s.cooldown_s, s.max_per_minute)

    def wants(self, star: str | None) -> bool:
        return star is not None and (not self.star or star == self.star)

    def update(self, tracks, now: float) -> list[Fire]:
        """Feed the tracks seen on one analysed frame; returns the captures now due."""
        fires = []
        showing = set()
        for track in tracks:
            score = track.emotion_score(self.emotion)
            if not self.wants(track.star) or score < self.min_score:
                continue
            showing.add(track.id)
            hold = self._holds.setdefault(track.id, _Hold(now))
            if not hold.fired and now - hold.since >= self.hold_s and self._allowed(track.star,
                                                                                    now):
                hold.fired = True
                self._last_fire[track.star] = now
                self._recent.append(now)
                fires.append(Fire(track.id, track.star, self.emotion, score, hold.since, now))
        for track_id in list(self._holds):
            if track_id not in showing:
                del self._holds[track_id]  # the moment is over
        return fires

    def hold_progress(self, track_id: int, now: float) -> float | None:
        """0..1 while a track holds the emotion (for a countdown), None when it does not."""
        hold = self._holds.get(track_id)
        if hold is None or hold.fired:
            return None
        return 1.0 if self.hold_s == 0 else min(1.0, (now - hold.since) / self.hold_s)

    def _allowed(self, star: str, now: float) -> bool:
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.max_per_minute:
            return False
        return now - self._last_fire.get(star, float("-inf")) >= self.cooldown_s


@dataclass(frozen=True)
class Candidate:
    """One analysed frame of the target track, as a candidate for the saved picture."""

    frame_number: int
    timestamp: float
    face: Face
    score: float  # the target emotion's probability on this frame (not smoothed)
    sharpness: float  # variance of the Laplacian of the face
    frame_size: tuple[int, int]  # (width, height)

    def quality(self, sharpest: float) -> float:
        """Higher is better: the emotion's strength, then sharpness (relative to the sharpest
        candidate of the moment) and size; a face cut off by the frame's edge loses."""
        w, h = self.frame_size
        x1, y1, x2, y2 = self.face.box
        inside = x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h
        sharp = self.sharpness / sharpest if sharpest > 0 else 0.0
        size = min(1.0, self.face.height / (0.25 * h))
        return self.score + 0.3 * sharp + 0.1 * size - (0 if inside else 1.0)


class BestFrameBuffer:
    """Recent candidates per track, from which the best of a moment is picked."""

    def __init__(self, keep_s: float = 3.0):
        self.keep_s = keep_s
        self._by_track: dict[int, deque[Candidate]] = {}

    def add(self, track_id: int, candidate: Candidate) -> None:
        queue = self._by_track.setdefault(track_id, deque())
        queue.append(candidate)
        while queue and candidate.timestamp - queue[0].timestamp > self.keep_s:
            queue.popleft()

    def best(self, track_id: int, since: float, until: float,
             available: set[int] | None = None) -> Candidate | None:
        """The best candidate of the track between since and until whose frame is still
        `available` (in the ring buffer)."""
        pool = [c for c in self._by_track.get(track_id, ())
                if since <= c.timestamp <= until
                and (available is None or c.frame_number in available)]
        sharpest = max((c.sharpness for c in pool), default=0.0)
        return max(pool, key=lambda c: c.quality(sharpest), default=None)

    def forget(self, live_track_ids: set[int]) -> None:
        for track_id in list(self._by_track):
            if track_id not in live_track_ids:
                del self._by_track[track_id]
