"""FaceTracker: one track per face across frames, moved at its speed between detections."""

from __future__ import annotations

import pytest

from kpopcam.live.tracker import FaceTracker
from kpopcam.types import Face


def face(x: float, y: float = 100, side: float = 80) -> Face:
    return Face((x, y, x + side, y + side), 0.99)


def test_a_moving_face_keeps_its_track_and_is_predicted_ahead():
    tracker = FaceTracker()
    first = tracker.update([face(100)], 0.0)[0]
    assert tracker.update([face(120)], 0.2)[0] is first
    predicted = tracker.predict(0.3)[0]
    assert predicted.box[0] == pytest.approx(130)
    # predictions follow the face without changing its speed
    assert tracker.update([predicted], 0.3, detected=False)[0] is first
    assert tracker.predict(0.4)[0].box[0] == pytest.approx(140)


def test_a_late_detection_of_an_earlier_frame_still_sets_the_speed():
    tracker = FaceTracker()
    tracker.update([face(100)], 0.0)
    tracker.update(tracker.predict(0.1), 0.1, detected=False)
    tracker.update(tracker.predict(0.2), 0.2, detected=False)
    tracker.update([face(110)], 0.1)  # the detector finishes frame 0.1 only now
    assert tracker.predict(0.3)[0].box[0] == pytest.approx(130)


def test_faces_far_apart_are_different_tracks_and_gone_faces_are_dropped():
    tracker = FaceTracker()
    a, b = tracker.update([face(0), face(400)], 0.0)
    assert a.id != b.id
    tracker.update([], 0.5)
    assert tracker.predict(0.6) == []
    tracker.update([], 1.0)
    assert tracker.tracks == []


def test_a_track_knows_when_its_face_becomes_someone_else():
    import numpy as np

    from kpopcam.types import StarMatch

    tracker = FaceTracker()
    track = tracker.update([face(100)], 0.0)[0]
    her, turned, him = np.eye(4)[0], np.array([0.9, 0.3, 0, 0]), np.eye(4)[2]
    assert track.looks_like(her, 0.6)  # nothing to compare with yet
    track.add_vote(StarMatch("Lisa", 0.9), 0.0, her)
    assert track.looks_like(turned, 0.6)  # the same person, turned a little
    assert not track.looks_like(him, 0.6)
    track.forget_identity()
    assert track.star is None and track.votes == [] and track.emotion is None


def test_a_cut_ends_every_track():
    tracker = FaceTracker()
    first = tracker.update([face(100)], 0.0)[0]
    tracker.reset()
    assert tracker.predict(0.1) == []
    assert tracker.update([face(100)], 0.1)[0] is not first


def test_a_face_found_twice_is_followed_once():
    from kpopcam.live.analysis import distinct_faces

    one = Face((293, 82, 345, 155), 0.99)
    again = Face((310, 89, 363, 151), 0.93)  # the same face, shifted (oval-office, frame 228)
    neighbour = Face((557, 89, 610, 152), 0.98)
    assert distinct_faces([again, neighbour, one]) == [one, neighbour]


def test_closed_eyes_read_less_open_than_open_ones(astronaut, detector):
    import cv2

    from kpopcam.live.analysis import eye_openness

    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    face = detector.detect(bgr, color="bgr")[0]
    closed = bgr.copy()
    for x, y in face.landmarks[:2].astype(int):  # lids down: skin over each eye
        skin = closed[y + 14, x].tolist()
        cv2.ellipse(closed, (int(x), int(y)), (9, 5), 0, 0, 360, skin, -1)
    assert eye_openness(closed, face) < 0.8 * eye_openness(bgr, face)
