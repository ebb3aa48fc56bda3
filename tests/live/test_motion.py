"""A dancing star followed between slow detections: on a 1080p crowd a background detection
takes half a second, and the drawn box must stay on her face in the meantime."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule
from kpopcam.types import iou
from tests.live.conftest import BACKGROUND, STAR

FPS, SECONDS, SIZE = 15.0, 4.0, (640, 480)
SWAY_PX, PERIOD_S = 110, 1.2  # she sways left and right: 290 px/s at the middle
DETECT_S = 0.45  # as long as a detection takes on a 1080p crowd


class SlowDetector:
    """The real detector, as slow as it is on a busy 1080p frame."""

    def __init__(self, detector):
        self.detector = detector

    def detect(self, image, color="bgr"):
        time.sleep(DETECT_S)
        return self.detector.detect(image, color=color)


def x_at(i: int) -> int:
    return round(200 + SWAY_PX * np.sin(2 * np.pi * i / FPS / PERIOD_S))


def dancing_video(path, astronaut) -> str:
    head = cv2.cvtColor(astronaut[:260, 40:240], cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    for i in range(round(SECONDS * FPS)):
        frame = np.full((SIZE[1], SIZE[0], 3), BACKGROUND, np.uint8)
        frame[100:360, x_at(i): x_at(i) + 200] = head
        writer.write(frame)
    writer.release()
    return str(path)


@pytest.fixture(scope="module")
def slow_models(detector, embedder, star_gallery):
    from kpopcam.vision.emotion import EmotionReader

    return FaceModels(SlowDetector(detector), embedder, star_gallery, EmotionReader())


def test_a_swaying_star_keeps_her_box_between_slow_detections(tmp_path, astronaut, detector,
                                                              slow_models):
    video = dancing_video(tmp_path / "sway.avi", astronaut)
    first = cv2.cvtColor(cv2.VideoCapture(video).read()[1], cv2.COLOR_BGR2RGB)
    x1, y1, x2, y2 = detector.detect(first, color="rgb")[0].box  # where her face is at x_at(0)
    analyzer = FrameAnalyzer(slow_models, CaptureRule(star=STAR), background_detection=True)
    overlaps = []
    try:
        with VideoFileSource(video) as source:  # at its own pace, as a stream arrives
            for frame in source.frames():
                analysis = analyzer.analyse(frame)
                dx = x_at(frame.number) - x_at(0)
                if frame.timestamp >= 1.0 and analysis.faces:  # after the first detections
                    overlaps.append(iou(analysis.faces[0].box, (x1 + dx, y1, x2 + dx, y2)))
    finally:
        analyzer.close()
    overlaps = np.array(overlaps)
    assert len(overlaps) >= 30
    assert np.median(overlaps) >= 0.7, overlaps.round(2)
    assert (overlaps >= 0.5).mean() >= 0.85, overlaps.round(2)
