"""One analysed frame: faces found, followed, recognised and read; what the GUI draws."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from kpopcam.live.face_change import face_print, looks_changed
from kpopcam.live.face_samples import FaceSample, album_with, face_sharpness
from kpopcam.live.motion import Grey, carried
from kpopcam.live.recognition import Look, LookJob, Recogniser
from kpopcam.live.shots import ShotChangeDetector
from kpopcam.live.sources import Frame
from kpopcam.live.tracker import FaceTracker, Track
from kpopcam.live.trigger import Candidate, CaptureRule, Fire, Trigger
from kpopcam.memory import give_back_freed
from kpopcam.types import EMOTIONS, Face, iou
from kpopcam.vision.emotion import EmotionReading
from kpopcam.vision.threads import as_background_thread


@dataclass(frozen=True)
class TrackReport:
    """One followed face as the GUI draws it: where, who, what it feels, is it the target."""

    track_id: int
    box: tuple[float, float, float, float]
    star: str | None  # None: unknown
    similarity: float
    emotions: tuple[float, ...]  # smoothed probabilities in EMOTIONS order
    is_target: bool  # the chosen star
    hold: float | None  # 0..1 while the target holds the emotion, else None
    album: tuple[FaceSample, ...] = ()  # its best distinct looks so far, for "add this face"

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.emotions))]


@dataclass(frozen=True)
class Analysis:
    frame_number: int
    timestamp: float
    frame_size: tuple[int, int]  # (width, height)
    faces: list[TrackReport]
    stage_ms: dict[str, float]
    fires: list[Fire] = field(default_factory=list)


@dataclass
class FaceModels:
    """The models the analysis needs: detector, embedder + gallery, emotion reader."""

    detector: object
    embedder: object
    gallery: object
    emotion: object
    flip: bool = True
    # a track's new embedding below this similarity to its own earlier ones is a new person;
    # None: as far below the gallery's threshold as the threshold is below 1 (CASIA at 0.65
    # -> 0.3, dlib at 0.935 -> 0.87: one face crying, then laughing, stays one person)
    same_person: float | None = None

    def same_person_line(self) -> float:
        if self.same_person is not None:
            return self.same_person
        return 2 * self.gallery.threshold - 1


@dataclass(frozen=True)
class _Detection:
    faces: list[Face]
    image: np.ndarray
    timestamp: float
    ms: float
    frame_number: int
    grey: Grey | None = None  # the frame as the flow reads it (background detections)
    steady_light: bool = True  # False: the frame was lit by a flash (no looks from it)


class FrameAnalyzer:
    """Detect -> track -> identity per track -> emotion per face -> rule. Not thread-safe:
    one analysis thread owns it; only `post_rule` may be called from another thread.

    background_detection: detection runs in a thread of its own on the newest frame it can
    get, while this one reads emotions on every frame with the faces moved to where they
    are now; on 2 cores that keeps up with a 30 fps source where detecting inline does not.
    Otherwise faces are detected on every `detect_every`-th frame and followed between.
    background_recognition: faces are recognised in a thread of its own (recognition.py), and
    a track's name arrives a few frames after its face; otherwise on the frame it was found.
    """

    def __init__(self, models: FaceModels, rule: CaptureRule, smoothing: float = 0.4,
                 detect_every: int = 1, identity_refresh_s: float = 2.0,
                 background_detection: bool = False, background_recognition: bool = False):
        self.models = models
        self.trigger = Trigger(rule)
        self._posted_rule = _Mailbox()
        self.smoothing = smoothing
        self.detect_every = max(1, detect_every)
        self.tracker = FaceTracker(identity_refresh_s)
        self._analysed = 0
        self._pool = ThreadPoolExecutor(1, "kpopcam-detect", as_background_thread) if (
            background_detection) else None
        self._pending: Future | None = None
        # set by the engine before it starts: True while a capture is being made, when the
        # background work waits so that the portrait gets the cores (and Python's lock)
        self.yield_to_capture: Callable[[], bool] = lambda: False
        self.recogniser = Recogniser(models.embedder, models.flip, background_recognition)
        self.shots = ShotChangeDetector()
        self._shot_started = float("-inf")
        self._shot = 0
        self._grey: Grey | None = None  # the last frame analysed, for the flow

    @property
    def rule(self) -> CaptureRule:
        return self.trigger.rule

    def post_rule(self, rule: CaptureRule) -> None:
        """A new rule from any thread; it applies from the next frame on, holds reset."""
        self._posted_rule.put(rule)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.recogniser.close()

    def analyse(self, frame: Frame) -> Analysis:
        if (rule := self._posted_rule.take()) is not None:
            self.trigger.apply(rule)
        stage: dict[str, float] = {}
        image = frame.image
        now = frame.timestamp
        fires: list[Fire] = []
        with _timed(stage, "shot"):
            if self.shots.is_cut(image):
                fires += self._new_shot(now)
        steady = self.shots.light_steady
        detection = self._detection(frame, steady)
        if detection is not None and detection.timestamp < self._shot_started:
            detection = None  # found on a frame of the shot before the cut
        found_here = detection is not None and detection.timestamp == now
        # read for the flow unless faces are found on every frame (batch work): then nothing
        # is ever followed
        grey = None if found_here and self.detect_every == 1 else Grey.of(image)
        if not found_here:
            with _timed(stage, "track"):  # the faces of the last frame followed to this one
                faces = self._followed(grey, now)
                tracks = self.tracker.update(faces, now, detected=False)
        if detection is not None:
            stage["detect"] = detection.ms
            faces = detection.faces if found_here else self._brought_up_to_date(detection, grey)
            tracks = self.tracker.update(faces, now)
        with _timed(stage, "identify"):
            self._recognise(detection, tracks if detection is not None else [], stage)
        self._grey = grey
        with _timed(stage, "emotion"):
            readings = self._read_emotions(image, faces, tracks, frame.number)
        with _timed(stage, "trigger"):
            # a frame caught in a flash is never the picture kept
            candidates = self._candidates(frame, tracks, readings) if steady else {}
            fires += self.trigger.update(tracks, now, frame, candidates,
                                         alive={t.id for t in self.tracker.tracks})
            fires = [f for f in fires if self._verified(f)]
        size = (image.shape[1], image.shape[0])
        reports = [self._report(t, now) for t in tracks]
        return Analysis(frame.number, now, size, reports, stage, fires)

    def _brought_up_to_date(self, detection: _Detection, grey: Grey) -> list[Face]:
        """A background detection is of a frame some time back: each face moves as the track
        it was on then has moved since; a new face by the flow from its frame to this one; one
        that cannot be followed stays where it was found."""
        if detection.grey is None:
            return detection.faces
        moved = self.tracker.brought_up_to_date(detection.faces, detection.timestamp)
        new = [f for f, m in zip(detection.faces, moved, strict=True) if m is None]
        flowed = iter(carried(new, detection.grey, grey))
        return [m or next(flowed) or f for f, m in zip(detection.faces, moved, strict=True)]

    def _followed(self, grey: Grey, now: float) -> list[Face]:
        """The faces of the last frame moved as the picture moved; at their recent speed
        where the flow lost them."""
        predicted = self.tracker.predict(now)
        if self._grey is None:  # the last frame was not read for the flow (a detection's own)
            return predicted
        moved = carried(self.tracker.current_faces(), self._grey, grey)
        return [m or p for m, p in zip(moved, predicted, strict=True)]

    def finish(self, now: float) -> list[Fire]:
        """The stream has ended: the moments held long enough are captured (verified)."""
        return [f for f in self.trigger.end_moments(now) if self._verified(f)]

    def _new_shot(self, now: float) -> list[Fire]:
        """A camera cut ends every track, hold and moment: no name survives it. Moments of
        the shot before that were held long enough are captured with their best frame."""
        self._shot_started = now
        self._shot += 1
        self.tracker.reset()
        return self.trigger.end_moments(now)

    def _verified(self, fire: Fire) -> bool:
        """The face of the frame about to be saved is checked against the star once more:
        a fan never gets a portrait of someone else with the star's name on it."""
        if fire.best is None:
            return False
        rgb = cv2.cvtColor(fire.frame.image, cv2.COLOR_BGR2RGB)
        embedding = self.models.embedder.embed_faces(rgb, [fire.best.face],
                                                     flip=self.models.flip)[0]
        return self.models.gallery.match(embedding).name == fire.star

    def _detection(self, frame: Frame, steady: bool) -> _Detection | None:
        """Faces found on this frame (inline), or the newest finished background detection;
        None when there is nothing new. steady: this frame's light (the shot detector's)."""
        if self._pool is None:
            due = self._analysed % self.detect_every == 0
            self._analysed += 1
            return _detect(self.models.detector, frame, steady=steady) if due else None
        finished = None
        if self._pending is not None and self._pending.done():
            finished, self._pending = self._pending.result(), None
        if self._pending is None and not self.yield_to_capture():
            self._pending = self._pool.submit(_detect, self.models.detector, frame, True,
                                              steady)
        return finished

    def _recognise(self, detection: _Detection | None, tracks: list[Track],
                   stage: dict[str, float]) -> None:
        """Looks finished since the last frame go to their tracks; faces due are handed on.
        Recognition needs real landmarks: only faces of the frame they were found on go."""
        self._apply(self.recogniser.take(), stage)
        if (detection is not None and detection.steady_light and not self.recogniser.busy
                and not self.yield_to_capture()):
            job = self._job(detection, tracks)
            if job is not None:
                self.recogniser.submit(job)
                self._apply(self.recogniser.take(), stage)  # inline: done already

    def _job(self, detection: _Detection, tracks: list[Track]) -> LookJob | None:
        """New faces are recognised at once; known ones are refreshed one at a time, so that
        the cost of recognition is spread out instead of landing on one frame, a face that
        looks changed since its last look first (face_change.py)."""
        now = detection.timestamp
        prints = [face_print(detection.image, face.box) for face in detection.faces]
        changed = [looks_changed(t.look_print, p) for t, p in zip(tracks, prints, strict=True)]
        due = [i for i, t in enumerate(tracks) if self.tracker.needs_identity(t, now, changed[i])]
        todo = ([i for i in due if not tracks[i].votes] or [i for i in due if changed[i]][:1]
                or due[:1])
        if not todo:
            return None
        for i in todo:
            tracks[i].look_print = prints[i]
        return LookJob(detection.image, tuple(detection.faces[i] for i in todo),
                       tuple(tracks[i].id for i in todo), detection.frame_number, now,
                       self._shot)

    def _apply(self, looks: tuple[Look, ...], stage: dict[str, float]) -> None:
        if looks:  # the recognition thread's time, for the bench
            stage["recognise"] = looks[0].job_ms
        alive = {t.id: t for t in self.tracker.tracks}
        for look in looks:
            track = alive.get(look.track_id)
            if track is None or look.shot != self._shot:
                continue  # gone, or from before a cut: it names no one now
            sample = look.sample
            if self._someone_else(track, sample.embedding):
                track.forget_identity()
                self.trigger.end_moment(track.id)
            identity = track.add_look(sample.embedding, sample.quality)
            track.add_vote(self.models.gallery.match(identity), look.timestamp)
            track.album = album_with(track.album, sample)

    def _someone_else(self, track: Track, embedding: np.ndarray) -> bool:
        """A new look is of someone else when it is far from the track's looks, or when it
        alone is another enrolled star: two men can be as alike as the same-person line
        allows (0.934 with dlib in the clips), and the track's votes, from its averaged looks,
        would keep the first one's name for seconds after a dissolve to the second."""
        if not track.looks_like(embedding, self.models.same_person_line()):
            return True
        star = track.star
        if star is None:
            return False
        similarities = self.models.gallery.similarities(embedding)
        own = similarities.pop(star, None)
        return own is not None and max(similarities.values(), default=-1.0) - own >= SWITCH_LEAD

    def _read_emotions(self, image, faces: list[Face], tracks: list[Track],
                       frame_number: int) -> dict[int, EmotionReading]:
        """Each face the rule could capture is read on every frame; the others (strangers, the
        stars not chosen) on every OTHERS_EVERY-th, in turn: a crowd of them costs the frame
        a fraction, and their bars still move. Readings by track id."""
        due = [i for i, t in enumerate(tracks)
               if self.rule.wants(t.star) or (frame_number + t.id) % OTHERS_EVERY == 0]
        readings = self.models.emotion.read(image, [faces[i] for i in due], color="bgr")
        for i, reading in zip(due, readings, strict=True):
            tracks[i].smooth_emotion(reading.probabilities, self.smoothing)
        return {tracks[i].id: reading for i, reading in zip(due, readings, strict=True)}

    def _candidates(self, frame: Frame, tracks, readings) -> dict[int, Candidate]:
        """This frame as a candidate picture for each track of the chosen star."""
        rule, image = self.rule, frame.image
        target = EMOTIONS.index(rule.emotion)
        size = (image.shape[1], image.shape[0])
        return {track.id: Candidate(frame.number, frame.timestamp, track.face,
                                    float(readings[track.id].probabilities[target]),
                                    face_sharpness(image, track.face), size,
                                    track.eyes_relative(eye_openness(image, track.face)))
                for track in tracks if rule.wants(track.star) and track.id in readings}

    def _report(self, track: Track, now: float) -> TrackReport:
        emotions = tuple(float(p) for p in track.emotion) if track.emotion is not None else (
            (0.0,) * len(EMOTIONS))
        star = track.star
        return TrackReport(track.id, track.face.box, star, track.similarity, emotions,
                          self.rule.wants(star), self.trigger.hold_progress(track.id, now),
                          track.album)


OTHERS_EVERY = 3  # faces the rule cannot capture have their emotion read on every 3rd frame
DUPLICATE_IOU = 0.3  # two detections overlapping this much are one face found twice


# A look alone names another star this far ahead of the track's own: someone else is here.
# (0.0 and 0.02 scored alike on the stage mixes; the margin keeps one poor look from it.)
SWITCH_LEAD = 0.02


def _detect(detector, frame: Frame, background: bool = False,
            steady: bool = True) -> _Detection:
    """background: in the detection thread, which also gives freed memory back now and then
    (memory.py) and reads the frame for the flow (motion.py). steady: the frame's light, as
    the shot detector judged it."""
    start = time.perf_counter()
    faces = distinct_faces(detector.detect(frame.image, color="bgr"))
    ms = (time.perf_counter() - start) * 1000
    if background:
        give_back_freed()
    grey = Grey.of(frame.image) if background else None
    return _Detection(faces, frame.image, frame.timestamp, ms, frame.number, grey, steady)


def distinct_faces(faces: list[Face]) -> list[Face]:
    """One box per face: MTCNN now and then keeps a second, shifted box of a turned face,
    which would start a second track with the same name (seen on oval-office, frame 228)."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if all(iou(face.box, k.box) < DUPLICATE_IOU for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: f.area, reverse=True)


def eye_openness(image: np.ndarray, face: Face) -> float | None:
    """Contrast around the two eyes (grey std / mean of a patch at each eye landmark): an open
    eye shows a dark iris against its white, a closed one only skin. None without landmarks."""
    if face.landmarks is None:
        return None
    (lx, ly), (rx, ry) = face.landmarks[0], face.landmarks[1]
    r = int(max(3.0, 0.22 * float(np.hypot(rx - lx, ry - ly))))
    h, w = image.shape[:2]
    values = []
    for x, y in ((int(lx), int(ly)), (int(rx), int(ry))):
        patch = image[max(0, y - r // 2): min(h, y + r // 2 + 1), max(0, x - r): min(w, x + r + 1)]
        if patch.size == 0:
            return None
        grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
        values.append(float(grey.std() / (grey.mean() + 1.0)))
    return float(np.mean(values))


class _Mailbox:
    """The newest value one thread posts for another to take (older ones are replaced)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._value = None

    def put(self, value) -> None:
        with self._lock:
            self._value = value

    def take(self):
        with self._lock:
            value, self._value = self._value, None
            return value


class _timed:
    def __init__(self, stage: dict[str, float], name: str):
        self.stage, self.name = stage, name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.stage[self.name] = (time.perf_counter() - self.start) * 1000
