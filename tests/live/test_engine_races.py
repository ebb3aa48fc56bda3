"""Stress runs of the engine's hand-offs between threads.

The thing under test is which thread owns what, not the models: the faces and their emotions
come from a script, so that thousands of frames (and hundreds of captures) pass in seconds,
and the thread switch interval is shortened so that a race shows up at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from kpopcam.captures import CaptureStore
from kpopcam.live import engine as engine_module
from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.engine import Engine
from kpopcam.live.sources import Frame, FrameSource
from kpopcam.live.trigger import CaptureRule
from kpopcam.stars import EnrolledFace, StarGallery
from kpopcam.types import EMOTIONS, Face

HAPPY, SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")
BOXES = [(40.0, 40.0, 100.0, 110.0), (180.0, 40.0, 240.0, 110.0)]


class ScriptedSource(FrameSource):
    """`count` small frames as fast as they can be taken, each a different picture."""

    def __init__(self, count: int, fps: float = 1000.0):
        super().__init__()
        self.count, self.fps, self.name = count, fps, "scripted"

    def frames(self):
        rng = np.random.default_rng(0)
        for number in range(self.count):
            if self._closed:
                self.end_reason = "stopped"
                return
            image = rng.integers(0, 255, (120, 280, 3), np.uint8)
            yield Frame(image, number, number / self.fps)
            time.sleep(0.0005)
        self.end_reason = "end of video"


class ScriptedDetector:
    def detect(self, image, color="bgr"):
        return [Face(box, 0.99, np.zeros((5, 2), np.float32)) for box in BOXES]


class ScriptedEmbedder:
    """Face k (by its box) gets unit vector k: the gallery knows them as star A and B."""

    def embed_faces(self, rgb, faces, flip=True):
        return [np.eye(512, dtype=np.float32)[BOXES.index(f.box)] for f in faces]


@dataclass(frozen=True)
class Reading:
    probabilities: np.ndarray


class ScriptedEmotion:
    """Both faces half happy, half sad; every `period` frames neutral (a moment ends)."""

    def __init__(self, period: int = 3):
        self.period, self.calls = period, 0

    def read(self, image, faces, color="bgr"):
        self.calls += 1
        p = np.zeros(len(EMOTIONS), np.float32)
        if self.calls % self.period:
            p[HAPPY] = p[SAD] = 0.5
        else:
            p[EMOTIONS.index("neutral")] = 1.0
        return [Reading(p) for _ in faces]


@pytest.fixture
def scripted_models(tmp_path):
    with StarGallery(tmp_path / "stars.sqlite") as gallery:
        embedder = ScriptedEmbedder()
        for k, name in enumerate("AB"):
            vector = embedder.embed_faces(None, [Face(BOXES[k], 1.0)])[0]
            gallery.add_faces(name, [EnrolledFace(vector, f"{name}.jpg")])
        yield FaceModels(ScriptedDetector(), embedder, gallery, ScriptedEmotion(), flip=False)


def eager_rule(star: str = "A", emotion: str = "happy") -> CaptureRule:
    return CaptureRule(star=star, emotion=emotion, min_score=0.4, hold_s=0.0, cooldown_s=0.0,
                       max_per_minute=1_000_000)


def test_captures_never_race_the_analysis(tmp_path, scripted_models, fast_switching):
    """Hundreds of moments, each captured while the analysis goes on adding and forgetting:
    every capture is saved and the run ends without an error."""
    engine = Engine(ScriptedSource(1500), FrameAnalyzer(scripted_models, eager_rule("")),
                    None, CaptureStore(tmp_path / "captures"))
    engine.start()
    assert engine.wait(120)
    assert engine.error is None, engine.error
    assert engine.stats.captures >= 50
    assert not engine.stats.capture_errors


def test_a_rule_changed_mid_run_is_applied_whole(tmp_path, qapp, scripted_models,
                                                 fast_switching):
    """The fan flips between two choices while the engine runs: every capture is of one of
    the two, never a star of one with the emotion of the other."""
    from kpopcam.gui.bridge import EngineBridge
    from kpopcam.gui.workers import Workers
    from kpopcam.settings import Settings

    choices = [Settings().updated({"trigger": {"star": s, "emotion": e, "min_score": 0.4,
                                               "hold_s": 0.0, "cooldown_s": 0.0,
                                               "max_per_minute": 100_000}})
               for s, e in (("A", "happy"), ("B", "sad"))]
    fires, analysed = [], [0]

    def seen(analysis):
        analysed[0] += 1
        fires.extend((f.star, f.emotion) for f in analysis.fires)

    engine = Engine(ScriptedSource(3000), FrameAnalyzer(scripted_models, eager_rule()),
                    on_analysis=seen)
    bridge = EngineBridge(choices[0], scripted_models.gallery, Workers())
    bridge.engine = engine
    engine.start()
    flips, last = 0, 0
    while engine.running:  # a new choice every few frames: a moment needs frames to end in
        if analysed[0] - last >= 4:
            last = analysed[0]
            bridge.update_rule(choices[flips % 2])
            flips += 1
        time.sleep(0.0002)
    assert engine.error is None
    assert flips > 100 and len(fires) > 100
    assert set(fires) <= {("A", "happy"), ("B", "sad")}


def test_timings_kept_are_bounded_over_a_long_run(monkeypatch, scripted_models):
    monkeypatch.setattr(engine_module, "TIMINGS_KEPT", 50, raising=False)
    engine = Engine(ScriptedSource(400), FrameAnalyzer(scripted_models, eager_rule()))
    engine.start()
    assert engine.wait(60)
    assert engine.stats.frames_analysed > 100
    assert len(engine.stats.analysis_ms) <= 50
    assert all(len(v) <= 50 for v in engine.stats.stage_ms.values())


def test_the_dropped_frames_counter_never_goes_backwards(scripted_models):
    class SlowEmotion(ScriptedEmotion):
        def read(self, image, faces, color="bgr"):
            time.sleep(0.004)  # slower than the source: frames are dropped
            return super().read(image, faces, color)

    models = FaceModels(scripted_models.detector, scripted_models.embedder,
                        scripted_models.gallery, SlowEmotion())
    engine = Engine(ScriptedSource(2000), FrameAnalyzer(models, eager_rule()))
    seen = []
    engine.start()
    while engine.running:
        seen.append(engine.stats.frames_dropped)
    assert engine.wait(60)
    final = engine.stats
    assert seen[-1] > 0
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))
    assert final.frames_dropped + final.frames_analysed == final.frames_in


def test_a_capture_error_is_reported_when_it_happens(tmp_path, scripted_models):
    """The capture folder disappears mid-run (a USB disk pulled out): the fan hears of it at
    the first failed capture, not when the run ends."""
    folder = tmp_path / "captures"
    store = CaptureStore(folder)
    errors, reported_while_running = [], threading.Event()
    engine = Engine(ScriptedSource(3000, fps=200), FrameAnalyzer(scripted_models, eager_rule()),
                    None, store, on_capture_error=lambda why: errors.append(why))

    def watch():
        while engine.running:
            if errors:
                reported_while_running.set()
                return
            time.sleep(0.01)

    engine.start()
    time.sleep(0.3)
    for attempt in range(20):  # a capture saved in between makes the folder again: pull it
        if folder.is_dir():
            folder.rename(tmp_path / f"pulled-out-{attempt}")
        try:
            folder.write_text("not a folder any more")
            break
        except IsADirectoryError:
            continue
    assert folder.is_file()
    threading.Thread(target=watch, daemon=True).start()
    assert reported_while_running.wait(10), "no capture error reported during the run"
    engine.stop()
    assert engine.wait(30)
    assert "could not be saved" in errors[0]
