"""FrameAnalyzer on every frame of real videos: who is seen, what they feel, what fires."""

from __future__ import annotations

import numpy as np
import pytest

from kpopcam.live.analysis import Analysis, FaceModels, FrameAnalyzer
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule
from tests.live.conftest import STAR, write_video


@pytest.fixture(scope="module")
def face_models(detector, embedder, star_gallery):
    from kpopcam.vision.emotion import EmotionReader

    return FaceModels(detector, embedder, star_gallery, EmotionReader())


def analyse_all(video, face_models, **rule):
    rule = CaptureRule(**{"star": STAR, "min_score": 0.5, "hold_s": 0.4, **rule})
    analyzer = FrameAnalyzer(face_models, rule)
    with VideoFileSource(video, realtime=False) as source:
        analyses = [analyzer.analyse(frame) for frame in source.frames()]
    return analyzer, [*analyses, stream_end(analyzer, analyses[-1])]


def stream_end(analyzer, last):
    """What the engine does when the stream ends: moments held long enough are captured."""
    return Analysis(last.frame_number, last.timestamp, last.frame_size, [], {},
                    analyzer.finish(last.timestamp))


def test_star_smiling_is_recognised_on_one_track_and_fires(tmp_path, astronaut, face_models):
    video = write_video(tmp_path / "star.mp4", [(0.3, None, 1), (1.2, astronaut, 0.6)])
    _, analyses = analyse_all(video, face_models)
    seen = [a.faces[0] for a in analyses if a.faces]
    assert len(seen) >= 10
    assert {f.track_id for f in seen} == {seen[0].track_id}  # one face, one track
    assert all(f.star == STAR and f.is_target for f in seen)
    assert seen[-1].emotion == "happy"
    fires = [fire for a in analyses for fire in a.fires]
    assert len(fires) == 1 and fires[0].star == STAR
    assert fires[0].now - fires[0].since >= 0.4
    best = fires[0].best  # the fire carries the best frame of its moment, picture and all
    assert best is not None and best.score >= 0.5
    assert fires[0].since <= best.timestamp <= fires[0].now
    assert fires[0].frame.number == best.frame_number


def test_unknown_face_is_seen_but_never_fires(tmp_path, cameraman, face_models):
    video = write_video(tmp_path / "stranger.mp4", [(1.2, cameraman, 0.6)])
    _, analyses = analyse_all(video, face_models, min_score=0.01)
    faces = [f for a in analyses for f in a.faces]
    assert faces and all(f.star is None and not f.is_target for f in faces)
    assert not any(a.fires for a in analyses)


def test_a_strangers_emotion_is_still_read_though_less_often(tmp_path, cameraman, face_models):
    """Faces the rule cannot capture are read on every third frame: their bars still move."""
    video = write_video(tmp_path / "stranger.mp4", [(1.2, cameraman, 0.6)])
    _, analyses = analyse_all(video, face_models)
    emotions = [a.faces[0].emotions for a in analyses if a.faces]
    assert all(sum(e) > 0.99 for e in emotions[3:])  # read within three frames of appearing
    changes = sum(a != b for a, b in zip(emotions, emotions[1:], strict=False))
    assert len(emotions) / 4 <= changes <= len(emotions) / 2


def test_another_enrolled_star_does_not_fire_for_the_chosen_one(tmp_path, astronaut,
                                                                face_models):
    video = write_video(tmp_path / "star.mp4", [(1.2, astronaut, 0.6)])
    _, analyses = analyse_all(video, face_models, star="Somebody Else")
    assert any(a.faces for a in analyses)
    assert not any(a.fires for a in analyses)


def test_a_frame_with_no_face_gives_an_empty_analysis(tmp_path, face_models):
    video = write_video(tmp_path / "empty.mp4", [(0.3, None, 1)])
    _, analyses = analyse_all(video, face_models)
    assert analyses and all(a.faces == [] and a.fires == [] for a in analyses)
    analyses = analyses[:-1]  # the stream's end is no frame
    assert all(set(a.stage_ms) >= {"detect", "identify", "emotion"} for a in analyses)
    assert np.isfinite([ms for a in analyses for ms in a.stage_ms.values()]).all()


def test_the_best_frame_of_the_moment_is_the_sharp_one(tmp_path, astronaut, face_models):
    import cv2

    soft = cv2.GaussianBlur(astronaut, (0, 0), 1.5)
    # 10 fps: soft 0-0.6 s, sharp 0.7-0.9 s, soft again until 1.5 s
    video = write_video(tmp_path / "focus.mp4", [
        (0.7, soft, 0.6, 150), (0.3, astronaut, 0.6, 150), (0.6, soft, 0.6, 150),
    ])
    _, analyses = analyse_all(video, face_models, hold_s=1.2)
    fire = next(f for a in analyses for f in a.fires)
    assert fire.best.frame_number in (7, 8, 9)


def test_the_best_frame_is_chosen_from_the_whole_of_a_long_moment(tmp_path, astronaut,
                                                                  face_models):
    import cv2

    soft = cv2.GaussianBlur(astronaut, (0, 0), 1.5)
    # 10 fps: sharp only in the first 0.3 s of a 6 s hold (far longer than any ring buffer)
    video = write_video(tmp_path / "long.mp4", [
        (0.3, astronaut, 0.6, 150), *[(1.0, soft, 0.6, 150)] * 6,
    ])
    _, analyses = analyse_all(video, face_models, hold_s=5.5)
    fire = next(f for a in analyses for f in a.fires)
    assert fire.now - fire.since >= 5.5
    assert fire.best.frame_number in (0, 1, 2, 3)


def test_the_star_smiling_does_not_fire_a_rule_for_surprise(tmp_path, astronaut, face_models):
    video = write_video(tmp_path / "star.mp4", [(1.2, astronaut, 0.6)])
    _, analyses = analyse_all(video, face_models, emotion="surprise")
    assert any(f.is_target for a in analyses for f in a.faces)
    assert not any(a.fires for a in analyses)
