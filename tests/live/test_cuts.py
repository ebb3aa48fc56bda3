"""Camera cuts on real faces: the next person in the same spot never inherits the star's name,
and nothing is captured of them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.shots import ShotChangeDetector
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule
from tests.live.conftest import STAR
from tests.live.test_analysis import stream_end

FPS = 10
SIZE = (640, 480)
SPOT = (250, 120, 350, 245)  # where each face is put: the same place in both shots
# face boxes MTCNN finds on the full photos (x1, y1, x2, y2)
ASTRONAUT_FACE = (181, 62, 268, 172)
CAMERAMAN_FACE = (199, 119, 254, 192)


@pytest.fixture(scope="module")
def face_models(detector, embedder, star_gallery):
    from kpopcam.vision.emotion import EmotionReader

    return FaceModels(detector, embedder, star_gallery, EmotionReader())


def shot(photo: np.ndarray | None, face_box, background: int, seconds: float):
    """Frames of one shot: the photo scaled and moved so that its face fills SPOT."""
    frame = np.full((SIZE[1], SIZE[0], 3), background, np.uint8)
    if photo is not None:
        sx = (SPOT[2] - SPOT[0]) / (face_box[2] - face_box[0])
        sy = (SPOT[3] - SPOT[1]) / (face_box[3] - face_box[1])
        m = np.float32([[sx, 0, SPOT[0] - face_box[0] * sx], [0, sy, SPOT[1] - face_box[1] * sy]])
        bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
        frame = cv2.warpAffine(bgr, m, SIZE, dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    return [frame] * round(seconds * FPS)


def write(path, frames) -> str:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return str(path)


def analyse(video, face_models, **rule):
    analyzer = FrameAnalyzer(face_models, CaptureRule(star=STAR, **rule))
    with VideoFileSource(video, realtime=False) as source:
        analyses = [analyzer.analyse(frame) for frame in source.frames()]
    return [*analyses, stream_end(analyzer, analyses[-1])]


def test_the_next_person_in_the_same_spot_never_inherits_the_name(tmp_path, astronaut,
                                                                   cameraman, face_models):
    """The star, then a hard cut to a stranger in her place. The stranger looks afraid to
    the emotion model, and the rule is set to fear: a name carried over would save her."""
    video = write(tmp_path / "cut.mp4", shot(astronaut, ASTRONAUT_FACE, 70, 1.5)
                  + shot(cameraman, CAMERAMAN_FACE, 70, 2.5))
    analyses = analyse(video, face_models, emotion="fear", min_score=0.3, hold_s=0.3,
                       cooldown_s=0)
    before = [f for a in analyses[:15] for f in a.faces]
    after = [f for a in analyses[15:] for f in a.faces]
    assert sum(f.star == STAR for f in before) >= 10  # she was named before the cut
    assert len(after) >= 15  # the stranger is seen ...
    assert not any(f.star == STAR for f in after)  # ... and never named the star
    assert not any(a.fires for a in analyses)


def test_a_cut_to_an_empty_stage_or_a_cartoon_ends_the_moment(tmp_path, astronaut,
                                                              face_models):
    """She smiles for 1 s of a 1.5 s hold, then the picture cuts away: no capture."""
    from skimage import data

    cartoon = cv2.resize(data.chelsea(), SIZE)  # a cat, drawn-looking colours
    for name, second in (("stage", shot(None, None, 20, 2.0)),
                         ("cartoon", [cv2.cvtColor(cartoon, cv2.COLOR_RGB2BGR)] * 20)):
        video = write(tmp_path / f"{name}.mp4",
                      shot(astronaut, ASTRONAUT_FACE, 70, 1.0) + second)
        analyses = analyse(video, face_models, hold_s=1.5, min_score=0.5)
        assert any(f.hold for a in analyses[:10] for f in a.faces)  # the moment had begun
        assert not any(a.fires for a in analyses), name


def test_hard_cuts_are_found_and_steady_shots_are_not(astronaut, cameraman):
    detector = ShotChangeDetector()
    a = shot(astronaut, ASTRONAUT_FACE, 70, 0.1)[0]
    moved = np.roll(a, 6, axis=1)  # the camera pans a little
    dimmer = (a * 0.85).astype(np.uint8)  # the stage light dims
    cut = shot(cameraman, CAMERAMAN_FACE, 160, 0.1)[0]
    assert [detector.is_cut(f) for f in (a, moved, dimmer, cut, cut)] == [
        False, False, False, True, False]


def test_stage_lights_flashing_are_no_cut(astronaut, cameraman):
    """A white or magenta flash moves the colours and the grey levels as far as a cut does; the
    picture's layout stays, so the shot (and the star's name and moment) go on."""
    detector = ShotChangeDetector()
    a = shot(astronaut, ASTRONAUT_FACE, 70, 0.1)[0]
    white = np.clip(a * 1.7 + 40, 0, 255).astype(np.uint8)
    magenta = np.clip(a * np.float32([1.8, 0.9, 1.8]) + 40, 0, 255).astype(np.uint8)  # BGR
    cut = shot(cameraman, CAMERAMAN_FACE, 160, 0.1)[0]
    assert [detector.is_cut(f) for f in (a, white, a, magenta, a, cut)] == [
        False, False, False, False, False, True]
    black = np.zeros_like(a)  # a cut to black is a cut
    assert detector.is_cut(black) and detector.is_cut(a)


def boxed(photo: np.ndarray, size=(640, 360)) -> np.ndarray:
    """A square picture shown in a 16:9 frame between black bars, as a broadcast shows it."""
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    side = size[1]
    x = (size[0] - side) // 2
    frame[:, x:x + side] = cv2.resize(cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), (side, side),
                                      interpolation=cv2.INTER_AREA)
    return frame


def test_a_cut_between_two_people_framed_alike_in_black_bars_is_a_cut(astronaut, cameraman):
    """The bars are the same in both shots; they must not hide the cut, nor turn a flash of
    the picture (bars black) or of the whole frame into one."""
    detector = ShotChangeDetector()
    a = boxed(astronaut)
    picture_flash = boxed(np.clip(astronaut * 1.7 + 40, 0, 255).astype(np.uint8))
    whole_flash = np.clip(a * np.float32([1.8, 0.9, 1.8]) + 40, 0, 255).astype(np.uint8)
    cut = boxed(cameraman)
    assert [detector.is_cut(f) for f in (a, picture_flash, a, whole_flash, a, cut, cut)] == [
        False, False, False, False, False, True, False]


def flashed(frame: np.ndarray, number: int) -> np.ndarray:
    """Stage lights: the first two frames of every five lit brighter (the face still found)."""
    return np.clip(frame * 1.3 + 30, 0, 255).astype(np.uint8) if number % 5 < 2 else frame


def test_under_flashing_lights_the_star_keeps_her_name_and_no_flash_is_saved(
        tmp_path, astronaut, face_models):
    frames = [flashed(f, i) for i, f in enumerate(shot(astronaut, ASTRONAUT_FACE, 70, 3.0))]
    video = write(tmp_path / "strobe.mp4", frames)
    analyses = analyse(video, face_models, min_score=0.5, hold_s=0.5)
    named = [a for a in analyses[5:-1] if any(f.star == STAR for f in a.faces)]
    assert len(named) >= 0.9 * len(analyses[5:-1])  # no flash ended her name
    [fire] = [f for a in analyses for f in a.fires]  # one moment, not one a flash
    assert fire.best.frame_number % 5 >= 2  # the picture kept was not lit by a flash
