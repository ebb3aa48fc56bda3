"""A clip's truth (truth.json, see ../shared/data/README.md) and the rules that score the live
engine's names and captures against it. Pure functions: no models here.

Rules (frame numbers 0-based, regions hold the centre of a face, all bounds inclusive):
- star_faces: one per frame and `people` entry with a star; named right when a face the
  engine reports with its centre in the region carries that star's name (star_seen, a
  detail: any face reported there, named or not).
- star_named_wrong: each reported face named a star where that star is not: its centre is in
  no region of a `people` entry of that star on that frame (another star's region, a cartoon
  shot, an `absent` frame, a spot where nobody is). Faces in a stranger's region are counted
  under strangers_named instead, so that no face counts twice.
- strangers: one per frame and `people` entry with star null, whether or not a face was
  reported there; strangers_named: those where a face in the region carries any star's name.
- captures: wrong when no `people` entry of the captured star covers the capture's frame with
  its face box's centre in the region (no box: the frame alone decides).
- moments caught: a right capture of the moment's star and emotion whose frame lies in the
  moment's frames, or up to `slack` frames after its end (the rule fires after the emotion
  has been held, and the smoothed score lags the face).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Span:
    star: str | None
    first: int
    last: int
    region: Box | None = None  # people only
    emotion: str | None = None  # moments only

    def covers(self, frame: int) -> bool:
        return self.first <= frame <= self.last

    def holds(self, point: tuple[float, float]) -> bool:
        x1, y1, x2, y2 = self.region
        return x1 <= point[0] <= x2 and y1 <= point[1] <= y2


@dataclass(frozen=True)
class Truth:
    frames: int
    shots: tuple[tuple[int, int], ...]
    people: tuple[Span, ...]
    absent: tuple[Span, ...]
    moments: tuple[Span, ...]

    @classmethod
    def load(cls, path: Path) -> Truth:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict) -> Truth:
        def spans(key: str) -> tuple[Span, ...]:
            return tuple(
                Span(item["star"], int(item["frames"][0]), int(item["frames"][1]),
                     tuple(float(v) for v in item["region"]) if "region" in item else None,
                     item.get("emotion"))
                for item in data.get(key, ())
            )
        return cls(int(data["frames"]), tuple(tuple(s) for s in data.get("shots", ())),
                   spans("people"), spans("absent"), spans("moments"))

    @property
    def stars(self) -> set[str]:
        return {s.star for s in self.people + self.absent + self.moments if s.star}


@dataclass(frozen=True)
class SeenFace:
    """One face the engine reported on a frame: its centre and the name it gave."""

    centre: tuple[float, float]
    star: str | None


@dataclass(frozen=True)
class SavedCapture:
    star: str
    emotion: str
    frame: int
    face_box: Box | None


@dataclass
class Score:
    """The figures the issue asks for, in the order of the JSON line."""

    clips: int = 0
    star_faces: int = 0
    star_named_right: int = 0
    star_named_wrong: int = 0
    strangers: int = 0
    strangers_named: int = 0
    captures: int = 0
    wrong_captures: int = 0
    moments: int = 0
    caught: int = 0
    star_seen: int = 0  # detail, not in the JSON line: star_faces with any face reported

    def __add__(self, other: Score) -> Score:
        return Score(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                        for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        """The issue's JSON line: exactly these keys."""
        return {key: getattr(self, key) for key in JSON_KEYS}


JSON_KEYS = ("clips", "star_faces", "star_named_right", "star_named_wrong", "strangers",
             "strangers_named", "captures", "wrong_captures", "moments", "caught")


def score_frame(truth: Truth, frame: int, faces: Iterable[SeenFace]) -> Score:
    """Names on one frame."""
    score = Score()
    faces = list(faces)
    on_screen = [p for p in truth.people if p.covers(frame)]
    for person in on_screen:
        inside = [f for f in faces if person.holds(f.centre)]
        if person.star is None:
            score.strangers += 1
            score.strangers_named += any(f.star for f in inside)
        else:
            score.star_faces += 1
            score.star_seen += bool(inside)
            score.star_named_right += any(f.star == person.star for f in inside)
    strangers = [p for p in on_screen if p.star is None]
    for face in faces:
        if face.star is None or _named_right(face, on_screen):
            continue
        if not any(p.holds(face.centre) for p in strangers):
            score.star_named_wrong += 1
    return score


def _named_right(face: SeenFace, on_screen: list[Span]) -> bool:
    return any(p.star == face.star and p.holds(face.centre) for p in on_screen)


def capture_is_right(truth: Truth, capture: SavedCapture) -> bool:
    return any(
        person.star == capture.star and person.covers(capture.frame)
        and (capture.face_box is None or person.holds(box_centre(capture.face_box)))
        for person in truth.people
    )


def score_captures(truth: Truth, captures: Iterable[SavedCapture], slack: int = 0) -> Score:
    captures = list(captures)
    right = [c for c in captures if capture_is_right(truth, c)]
    return Score(captures=len(captures), wrong_captures=len(captures) - len(right),
                 moments=len(truth.moments), caught=len(caught_moments(truth, right, slack)))


def caught_moments(truth: Truth, right: list[SavedCapture], slack: int = 0) -> list[Span]:
    """The moments that one of these (right) captures falls in."""
    return [m for m in truth.moments
            if any(c.star == m.star and c.emotion == m.emotion
                   and m.first <= c.frame <= m.last + slack for c in right)]


def box_centre(box: Box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
