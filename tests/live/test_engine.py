"""The threaded engine on real video files played at their own frame rate."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from kpopcam.captures import CaptureStore
from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.engine import Engine, RecentCaptures
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule
from tests.live.conftest import STAR, write_video


@pytest.fixture(scope="module")
def face_models(detector, embedder, star_gallery):
    from kpopcam.vision.emotion import EmotionReader

    return FaceModels(detector, embedder, star_gallery, EmotionReader())


@pytest.fixture(scope="module")
def portraits():
    from kpopcam.vision.portrait import PortraitMaker

    return PortraitMaker()


def run_engine(video, face_models, portraits, folder, **rule):
    rule = CaptureRule(**{"star": STAR, "emotion": "happy", "min_score": 0.5, "hold_s": 0.3,
                          "cooldown_s": 1.0, **rule})
    store = CaptureStore(folder)
    engine = Engine(VideoFileSource(video), FrameAnalyzer(face_models, rule), portraits, store)
    engine.start()
    assert engine.wait(timeout=120), "engine did not finish"
    assert engine.error is None
    return engine, store


def test_each_happy_moment_of_the_star_is_captured_once(tmp_path, astronaut, face_models,
                                                        portraits):
    video = write_video(tmp_path / "two_moments.mp4", [
        (0.5, None, 1), (2.5, astronaut, 0.6), (1.5, None, 1), (2.5, astronaut, 0.75, 40),
    ])
    engine, store = run_engine(video, face_models, portraits, tmp_path / "caps")
    captures = store.list()
    assert len(captures) == 2, engine.stats
    assert {(c.star, c.emotion) for c in captures} == {(STAR, "happy")}
    assert all(c.original.exists() and c.portrait.exists() for c in captures)
    assert engine.stats.end_reason == "end of video"
    assert engine.stats.frames_in == 70
    # the portrait is the original with its background blurred: same size, not the same
    from PIL import Image

    with Image.open(captures[0].original) as o, Image.open(captures[0].portrait) as p:
        assert o.size == p.size == (640, 480)
        assert np.abs(np.asarray(o, float) - np.asarray(p, float)).mean() > 1


def test_video_ending_mid_hold_ends_cleanly_with_its_captures(tmp_path, astronaut, face_models,
                                                               portraits):
    video = write_video(tmp_path / "ends.mp4", [
        (2.5, astronaut, 0.6), (1.5, None, 1), (0.3, astronaut, 0.6, 300),
    ])
    engine, store = run_engine(video, face_models, portraits, tmp_path / "caps", hold_s=1.0)
    assert len(store.list()) == 1
    assert engine.stats.end_reason == "end of video"


def test_truncated_file_ends_the_run_cleanly_and_keeps_captures(tmp_path, astronaut,
                                                                face_models, portraits):
    whole = write_video(tmp_path / "whole.avi", [(3.0, astronaut, 0.6), (3.0, None, 1)],
                        codec="MJPG")
    data = Path(whole).read_bytes()
    broken = tmp_path / "broken.avi"
    broken.write_bytes(data[: int(len(data) * 0.7)])
    engine, store = run_engine(str(broken), face_models, portraits, tmp_path / "caps")
    assert "broke off" in engine.stats.end_reason
    assert len(store.list()) == 1


def test_the_same_picture_twice_in_a_moment_is_a_duplicate(astronaut):
    recent = RecentCaptures()
    darker = (astronaut * 0.5).astype(np.uint8)
    assert not recent.is_duplicate(STAR, 1.0, astronaut)
    assert recent.is_duplicate(STAR, 2.0, astronaut.copy())
    assert not recent.is_duplicate(STAR, 3.0, darker)  # another picture
    assert not recent.is_duplicate(STAR, 20.0, darker.copy())  # long after: a new moment
    assert not recent.is_duplicate("Other", 20.5, darker.copy())  # another star


def test_every_frame_mode_analyses_each_frame_in_order(tmp_path, astronaut, face_models):
    """Batch work (a file read as fast as it decodes): nothing is dropped, and the saved
    capture says where the star's face is."""
    video = write_video(tmp_path / "batch.mp4", [(0.5, None, 1), (2.5, astronaut, 0.6)])
    rule = CaptureRule(star=STAR, emotion="happy", min_score=0.5, hold_s=0.3, cooldown_s=1.0)
    analysed = []
    engine = Engine(VideoFileSource(video, realtime=False), FrameAnalyzer(face_models, rule),
                    store=CaptureStore(tmp_path / "caps"), every_frame=True,
                    on_analysis=lambda a: analysed.append(a.frame_number))
    engine.start()
    assert engine.wait(timeout=300), "engine did not finish"
    assert engine.error is None
    assert analysed == list(range(30))
    assert engine.stats.frames_in == engine.stats.frames_analysed == 30
    [capture] = engine.store.list()
    x1, y1, x2, y2 = capture.face_box
    # the photo sits at x 120-427 (drifting right), y 60-367 of the 640x480 frame
    assert 120 < (x1 + x2) / 2 < 440 and 60 < (y1 + y2) / 2 < 367


def test_another_look_of_the_same_face_in_the_same_framing_is_no_duplicate(astronaut,
                                                                           cameraman):
    """A talking head smiles twice a second apart: the frames differ only in the face, which
    is what is compared."""
    import cv2

    box = (181, 62, 268, 172)  # the astronaut's face
    other = astronaut.copy()
    x1, y1, x2, y2 = box
    other[y1:y2, x1:x2] = cv2.resize(cameraman[119:192, 199:254], (x2 - x1, y2 - y1))
    recent = RecentCaptures()
    assert not recent.is_duplicate(STAR, 1.0, astronaut, box)
    assert not recent.is_duplicate(STAR, 2.0, other, box)
    assert recent.is_duplicate(STAR, 3.0, other.copy(), box)
    whole = RecentCaptures()  # the whole frames hardly differ: the face is what tells them apart
    whole.is_duplicate(STAR, 1.0, astronaut)
    assert whole.is_duplicate(STAR, 2.0, other)


def test_faces_are_still_found_after_a_capture_and_after_a_failed_one(tmp_path, astronaut,
                                                                      face_models, portraits):
    """Detection and recognition wait while a capture is made; they must start again after
    it, and after one that fails (a capture folder that cannot be written)."""
    video = write_video(tmp_path / "two_moments.mp4", [
        (2.5, astronaut, 0.6), (1.5, None, 1), (2.5, astronaut, 0.75, 40)])
    rule = CaptureRule(star=STAR, emotion="happy", min_score=0.5, hold_s=0.3, cooldown_s=1.0)
    for folder, saved in ((tmp_path / "caps", 2), (tmp_path / "gone", 0)):
        store = CaptureStore(folder)
        if not saved:  # the folder is taken away under the running app
            shutil.rmtree(folder)
            folder.write_text("a file where the capture folder was")
        detected: list[float] = []
        analyzer = FrameAnalyzer(face_models, rule, background_detection=True,
                                 background_recognition=True)
        engine = Engine(VideoFileSource(video), analyzer, portraits, store,
                        on_analysis=lambda a, found=detected: found.append(a.timestamp) if (
                            "detect" in a.stage_ms) else None)
        engine.start()
        assert engine.wait(timeout=120) and engine.error is None
        assert engine.stats.captures == saved
        assert len(engine.stats.capture_errors) == 2 - saved
        assert any(t > 5.0 for t in detected)  # the second moment's face was found again


def test_a_second_smile_through_a_washed_out_camera_is_no_duplicate(astronaut):
    """A laptop camera aimed at a screen flattens the picture (the screen's glow): two looks
    of a face still differ by as much of what contrast is left."""
    box = (181, 62, 268, 172)  # the astronaut's face
    x1, y1, x2, y2 = box
    smile = astronaut.copy()  # the same face, its mouth moved 6 px down: another smile
    smile[y1 + 55:y2, x1:x2] = np.roll(astronaut[y1 + 55:y2, x1:x2], 6, axis=0)
    clear = RecentCaptures()
    assert not clear.is_duplicate(STAR, 1.0, astronaut, box)
    assert not clear.is_duplicate(STAR, 2.0, smile, box)
    glow = [(image * 0.3 + 140).astype(np.uint8) for image in (astronaut, smile)]
    washed_out = RecentCaptures()
    assert not washed_out.is_duplicate(STAR, 1.0, glow[0], box)
    assert not washed_out.is_duplicate(STAR, 2.0, glow[1], box)
    assert washed_out.is_duplicate(STAR, 3.0, glow[1].copy(), box)
