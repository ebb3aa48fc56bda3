"""How good a look at a face is, and which looks a track keeps: real faces found by MTCNN."""

from __future__ import annotations

import cv2
import numpy as np

from kpopcam.live.face_samples import distinct, face_quality, face_sharpness, pose_of, sample
from kpopcam.live.tracker import REFRESH_UNKNOWN_S, FaceTracker
from kpopcam.types import Face, StarMatch


def found(detector, rgb) -> Face:
    return detector.detect(rgb, color="rgb")[0]


def test_a_small_blurred_face_is_a_poorer_look_than_the_sharp_one(astronaut, detector):
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    sharp = found(detector, astronaut)
    small_rgb = cv2.resize(cv2.GaussianBlur(astronaut, (9, 9), 3), None, fx=0.3, fy=0.3)
    small = found(detector, small_rgb)
    small_bgr = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2BGR)
    assert face_quality(face_sharpness(bgr, sharp), sharp) > 2 * face_quality(
        face_sharpness(small_bgr, small), small)


def test_a_turned_head_reads_as_turned(astronaut, detector):
    face = found(detector, astronaut)
    turned = Face(face.box, face.score, face.landmarks + np.float32([[0, 0], [0, 0],
                                                                      [18, 0], [0, 0], [0, 0]]))
    assert abs(pose_of(face).yaw) < 0.1  # she faces the camera
    assert pose_of(turned).yaw > 0.3


def test_the_best_look_of_each_pose_and_distance_is_kept(astronaut, detector, embedder):
    face = found(detector, astronaut)
    vector = embedder.embed_faces(astronaut, [face])[0]

    def look(width: float, quality_sharpness: float, number: int):
        x1, y1 = face.box[:2]
        scale = width / face.width
        moved = Face((x1, y1, x1 + width, y1 + face.height * scale), 1.0,
                     (face.landmarks - [x1, y1]) * scale + [x1, y1])
        return sample(vector, moved, quality_sharpness, number)

    near_good, near_poor = look(160, 200, 1), look(150, 20, 2)
    far, farther = look(70, 200, 3), look(40, 200, 4)
    kept = distinct([near_poor, far, near_good, farther], n=5)
    assert kept[0] is near_good and near_poor not in kept  # one near look, the better one
    assert far in kept and farther in kept  # far ones are not crowded out by near ones
    assert distinct([near_good, far, farther], n=2) == [near_good, far]


def test_an_unconfirmed_name_is_looked_at_again_soon():
    tracker = FaceTracker(refresh_identity_s=2.0)
    track = tracker.update([Face((0, 0, 80, 80), 1.0)], 0.0)[0]
    track.add_vote(StarMatch("Lisa", 0.7), 0.0)
    assert track.star == "Lisa" and not track.confirmed
    assert tracker.needs_identity(track, REFRESH_UNKNOWN_S)  # one look: not yet sure
    track.add_vote(StarMatch("Lisa", 0.7), 0.3)
    track.add_vote(StarMatch("Lisa", 0.7), 0.6)
    assert track.confirmed and not tracker.needs_identity(track, 0.6 + REFRESH_UNKNOWN_S)
    assert tracker.needs_identity(track, 2.6)


def test_a_track_names_what_its_best_looks_say(astronaut, cameraman, detector, embedder):
    """Two good looks of her and one poor look of someone else: the pooled identity stays
    hers (nearer her than any single mixed average would be)."""
    tracker = FaceTracker()
    track = tracker.update([Face((0, 0, 80, 80), 1.0)], 0.0)[0]
    her = embedder.embed_faces(astronaut, [found(detector, astronaut)])[0]
    him = embedder.embed_faces(cameraman, [found(detector, cameraman)])[0]
    track.add_look(her, 0.8)
    track.add_look(her, 0.8)
    identity = track.add_look(him, 0.05)
    assert float(identity @ her) > 0.99 > float(identity @ him)
