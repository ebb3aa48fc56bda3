"""When to capture and which frame to keep.

CaptureRule is what the fan chose (frozen: a new choice is a new rule). Trigger applies one
rule to the tracks of each analysed frame, owned by the analysis thread: it follows each
moment (the star holding the emotion), keeps the best frame of the whole moment as it goes,
and when the moment has lasted long enough hands out a Fire that carries that frame, so the
capture thread needs nothing else from the analysis thread.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kpopcam.live.sources import Frame
from kpopcam.settings import TriggerSettings
from kpopcam.types import Face

SHARP_HALF = 100.0  # face sharpness (Laplacian variance at 64 px) that counts as half sharp
# Eyes less open than this share of the face's usual are a blink (webcam-then-cartoon: open
# 0.38, blinking 0.28-0.31, a laugh's squint in crying-to-laughing no lower than 0.57 of 0.61)
BLINK_RATIO = 0.9
# Once held, a moment goes on while the score stays above min_score - RELEASE: a laughing face
# turned away reads 0.4-0.8 from frame to frame, and a fixed line split one laugh into several.
RELEASE = 0.15
# After the hold, the best frame is gathered this much longer (or until the moment ends, a
# cut, or the stream's end): the peak of a smile comes after its start.
GATHER_S = 1.0


@dataclass(frozen=True)
class CaptureRule:
    """The star's smoothed emotion score stays at or above `min_score` for `hold_s`; then not
    again for that star until the emotion has dropped and `cooldown_s` has passed, and never
    more than `max_per_minute` times a minute for one star (with any star watched, each
    member's moments are her own: one laughing a lot does not use up the others')."""

    star: str = ""  # empty: any enrolled star
    emotion: str = "happy"
    min_score: float = 0.55
    hold_s: float = 0.5
    cooldown_s: float = 5.0
    max_per_minute: int = 6

    @classmethod
    def from_settings(cls, s: TriggerSettings) -> CaptureRule:
        return cls(s.star, s.emotion, s.min_score, s.hold_s, s.cooldown_s, s.max_per_minute)

    def wants(self, star: str | None) -> bool:
        return star is not None and (not self.star or star == self.star)


@dataclass(frozen=True)
class Candidate:
    """One analysed frame of the target track, as a candidate for the saved picture."""

    frame_number: int
    timestamp: float
    face: Face
    score: float  # the target emotion's probability on this frame (not smoothed)
    sharpness: float  # variance of the Laplacian of the face
    frame_size: tuple[int, int]  # (width, height)
    eyes: float = 1.0  # how open the eyes are, relative to this face's usual (1: as usual)

    @property
    def quality(self) -> float:
        """Higher is better: the emotion's strength, then sharpness and size; a face cut off
        by the frame's edge loses, and so does a blink. Absolute, so the best of a moment is
        kept as it goes."""
        w, h = self.frame_size
        x1, y1, x2, y2 = self.face.box
        inside = x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h
        sharp = self.sharpness / (self.sharpness + SHARP_HALF)
        size = min(1.0, self.face.height / (0.25 * h))
        blink = 2.0 * max(0.0, BLINK_RATIO - self.eyes)
        return self.score + 0.3 * sharp + 0.1 * size - blink - (0 if inside else 1.0)


@dataclass(frozen=True)
class Fire:
    """A capture is due: this track showed the emotion from `since` until `now`; `best` is
    the best frame of that moment and `frame` its picture (owned: nobody writes to it)."""

    track_id: int
    star: str
    emotion: str
    score: float
    since: float
    now: float
    best: Candidate | None = None
    frame: Frame | None = None


@dataclass
class _Hold:
    since: float
    star: str
    due_at: float | None = None  # when it had been held long enough (and was allowed)
    fired: bool = False
    best: Candidate | None = None
    frame: Frame | None = None

    def consider(self, candidate: Candidate | None, frame: Frame | None) -> None:
        if candidate is not None and (self.best is None
                                      or candidate.quality > self.best.quality):
            self.best, self.frame = candidate, frame


class Trigger:
    """One rule applied frame after frame. Not thread-safe: the analysis thread owns it."""

    def __init__(self, rule: CaptureRule):
        self.rule = rule
        self._holds: dict[int, _Hold] = {}
        self._last_fire: dict[str, float] = {}
        self._recent: dict[str, deque[float]] = {}  # star -> her captures' times

    def update(self, tracks, now: float, frame: Frame | None = None,
               candidates: dict[int, Candidate] | None = None,
               alive: set[int] | None = None) -> list[Fire]:
        """Feed the tracks seen on one analysed frame (and the target tracks' candidates from
        it); returns the captures now due. alive: tracks still followed though not seen on
        this frame (a missed detection does not end their moment)."""
        rule, candidates = self.rule, candidates or {}
        fires, showing, seen_not_showing = [], set(), set()
        for track in sorted(tracks, key=lambda t: self._best_quality(t.id), reverse=True):
            hold = self._holds.get(track.id)
            line = rule.min_score if hold is None else rule.min_score - RELEASE
            if not rule.wants(track.star) or track.emotion_score(rule.emotion) < line:
                seen_not_showing.add(track.id)
                continue
            showing.add(track.id)
            if hold is None:
                hold = self._holds[track.id] = _Hold(now, track.star)
            if hold.fired:
                continue
            hold.consider(candidates.get(track.id), frame)
            if hold.due_at is None and now - hold.since >= rule.hold_s and self._allowed(
                    track.star, now):
                hold.due_at = now
            if hold.due_at is not None and now - hold.due_at >= GATHER_S:
                fires.extend(self._fire(track.id, hold, now))
        for track_id in [t for t in self._holds if t not in showing | (alive or set())
                         or t in seen_not_showing]:
            fires.extend(self._end(track_id, now))  # the moment is over
        return fires

    def apply(self, rule: CaptureRule) -> None:
        """A new rule from the fan: every hold starts again under it; the cooldown and the
        captures of the last minute still count."""
        self.rule = rule
        self._holds.clear()

    def hold_progress(self, track_id: int, now: float) -> float | None:
        """0..1 while a track holds the emotion (for a countdown), None when it does not."""
        hold = self._holds.get(track_id)
        if hold is None or hold.fired:
            return None
        hold_s = self.rule.hold_s
        return 1.0 if hold_s == 0 else min(1.0, (now - hold.since) / hold_s)

    def end_moments(self, now: float) -> list[Fire]:
        """A camera cut or the stream's end: every moment ends here and none carries over;
        those held long enough are captured with the best frame they had."""
        return [fire for track_id in list(self._holds) for fire in self._end(track_id, now)]

    def end_moment(self, track_id: int) -> None:
        """This track is somebody else now: its moment ends, and nothing of it is saved."""
        self._holds.pop(track_id, None)

    def _end(self, track_id: int, now: float) -> list[Fire]:
        hold = self._holds.pop(track_id)
        return self._fire(track_id, hold, now) if hold.due_at is not None and not (
            hold.fired) else []

    def _best_quality(self, track_id: int) -> float:
        hold = self._holds.get(track_id)
        return hold.best.quality if hold is not None and hold.best is not None else 0.0

    def _fire(self, track_id: int, hold: _Hold, now: float) -> list[Fire]:
        """The moment's capture, unless the star was captured since it became due: a star
        seen twice at once (on stage and on the big screen behind her) is saved once, from
        the better look, which fires first."""
        hold.fired = True
        if self._last_fire.get(hold.star, float("-inf")) >= hold.due_at:
            hold.frame = None
            return []
        self._last_fire[hold.star] = now
        self._recent.setdefault(hold.star, deque()).append(now)
        score = hold.best.score if hold.best is not None else 0.0
        fire = Fire(track_id, hold.star, self.rule.emotion, score, hold.since, now, hold.best,
                    hold.frame)
        hold.frame = None  # the capture thread has it now
        return [fire]

    def _allowed(self, star: str, now: float) -> bool:
        recent = self._recent.get(star, ())
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= self.rule.max_per_minute:
            return False
        return now - self._last_fire.get(star, float("-inf")) >= self.rule.cooldown_s
