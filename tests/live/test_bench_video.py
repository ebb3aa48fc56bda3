"""The bench's generated videos: a scenario of three shots holds two camera cuts, so that
each shot is a moment of its own and a run has several captures to time."""

from __future__ import annotations

import cv2

from kpopcam.live.bench import Scenario, demo_faces, make_video
from kpopcam.live.shots import ShotChangeDetector


def cuts_in(path) -> list[int]:
    detector, cuts, capture = ShotChangeDetector(), [], cv2.VideoCapture(str(path))
    number = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            return cuts
        if detector.is_cut(frame):
            cuts.append(number)
        number += 1


def test_a_scenario_of_three_shots_has_two_cuts_and_one_shot_none(tmp_path):
    three = make_video(tmp_path / "three.mp4", Scenario("640x480", 3, 10.0, 3.0, shots=3),
                       demo_faces())
    one = make_video(tmp_path / "one.mp4", Scenario("640x480", 3, 10.0, 3.0), demo_faces())
    assert cuts_in(three) == [10, 20]
    assert cuts_in(one) == []
