"""The person prior: a rough map of where a person is, drawn from the face box."""

from __future__ import annotations

import numpy as np
import pytest

from kpopcam.types import Face
from kpopcam.vision.detector import MtcnnDetector
from kpopcam.vision.person_prior import faces_for_prior, person_prior, scaled_boxes

FACE = (90.0, 40.0, 110.0, 64.0)  # 20 x 24 px, centre (100, 52), chin at y = 64


def test_no_face_no_prior():
    assert not person_prior((120, 160), []).any()


def test_head_sure_body_likely_above_and_beside_empty():
    prior = person_prior((240, 200), [FACE])
    assert prior[52, 100] > 0.9  # the face
    assert 0.4 < prior[64 + 2 * 24, 100] < 0.9  # the chest, two face heights below the chin
    assert prior[64 + 2 * 24, 100 + 25] > 0.4  # a shoulder's width beside it
    assert prior[5, 100] < 0.05  # well above the head
    assert prior[52, 100 + 60] < 0.05  # three face widths to the side of the face
    assert prior.min() >= 0 and prior.max() <= 1


def test_two_people_two_bodies_not_a_sum():
    other = (20.0, 40.0, 40.0, 64.0)
    both = person_prior((240, 200), [FACE, Face(box=other, score=1.0)])
    assert both[52, 30] > 0.9 and both[52, 100] > 0.9
    assert both.max() <= 1


def test_boxes_follow_a_resize():
    assert scaled_boxes([FACE], 0.5, 2.0) == [(45.0, 80.0, 55.0, 128.0)]


@pytest.fixture(scope="module")
def detector():
    return MtcnnDetector(min_face_px=20)


def test_faces_on_a_large_photo_are_found_in_its_pixels(detector, astronaut):
    big = np.kron(astronaut, np.ones((3, 3, 1), np.uint8))  # 1536 px: searched at 640
    small_faces = faces_for_prior(detector, astronaut)
    big_faces = faces_for_prior(detector, big)
    assert len(small_faces) == len(big_faces) == 1
    np.testing.assert_allclose(np.array(big_faces[0].box) / 3, small_faces[0].box, atol=6)
