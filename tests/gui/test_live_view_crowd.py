"""The live view in a crowd: the stars keep their emotion bars, strangers only their boxes, so
an audience shot does not bury the star under panels."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from kpopcam.gui.live_view import LiveView
from kpopcam.live.analysis import Analysis, TrackReport
from tests.gui.test_sources_gui import rgb_of

WIDTH, HEIGHT = 1280, 720
HAPPY = (0.02, 0.01, 0.02, 0.85, 0.04, 0.03, 0.03)


def _faces(count: int) -> list[TrackReport]:
    """The star first, then strangers, in a row with room for a panel right of each box."""
    return [TrackReport(i, (20 + i * 180, 300, 80 + i * 180, 360), "Lisa" if i == 0 else None,
                        0.95 if i == 0 else 0.5, HAPPY, i == 0, None) for i in range(count)]


def _panels(qtbot, count: int) -> list[bool]:
    """For each face: is there a dark emotion panel right of its box on the white frame?"""
    view = LiveView()
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    white = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB888)
    white.fill(0xFFFFFF)
    view.set_frame(white)
    faces = _faces(count)
    view.set_analysis(Analysis(1, 0.0, (WIDTH, HEIGHT), faces, {}))
    view.set_paused(True)  # the analysis stays drawn
    shot = rgb_of(view.grab().toImage()).astype(int)
    rect = view.picture_rect()
    scale = rect.width() / WIDTH
    found = []
    for face in faces:
        x2, y1 = rect.left() + face.box[2] * scale, rect.top() + face.box[1] * scale
        beside = shot[int(y1) + 10: int(y1) + 40, int(x2) + 12: int(x2) + 40]
        found.append(bool(np.mean(beside.sum(axis=2) < 3 * 160) > 0.3))
    return found


def test_few_faces_each_show_their_emotions(qtbot):
    assert _panels(qtbot, 2) == [True, True]


def test_in_a_crowd_only_the_star_keeps_her_emotion_bars(qtbot):
    assert _panels(qtbot, 6) == [True] + [False] * 5


def test_a_face_cut_by_the_frames_edge_is_boxed_inside_the_picture(qtbot):
    view = LiveView()
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT + 200)  # bands above and below the picture
    white = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB888)
    white.fill(0xFFFFFF)
    view.set_frame(white)
    low = TrackReport(1, (600, 650, 700, 780), "Lisa", 0.95, HAPPY, True, None)  # past the foot
    view.set_analysis(Analysis(1, 0.0, (WIDTH, HEIGHT), [low], {}))
    view.set_paused(True)
    shot = rgb_of(view.grab().toImage()).astype(int)
    below = shot[int(view.picture_rect().bottom()) + 2:, 560:760]
    assert (np.abs(below - below[0, 0]).sum(axis=2) == 0).all()  # the band is untouched
