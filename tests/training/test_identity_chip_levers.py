"""The chip and enrolment levers (training/identity_chip_levers.py) on made-up landmarks and
embeddings: each does what its name says."""

import numpy as np

from training.eval_identity import unit
from training.identity_chip_levers import (
    HOG_DY,
    refit_box,
    robust_centroid,
    screened_matcher,
    square_box,
)

RNG = np.random.default_rng(0)
DIM = 16


def near(direction, n, spread=0.1):
    return unit(direction + spread * RNG.normal(size=(n, DIM)) / np.sqrt(DIM))


def test_the_refit_box_puts_the_mean_shape_on_the_landmarks():
    mean_shape = np.array([[0.78, 0.35], [0.62, 0.35], [0.23, 0.35], [0.38, 0.35], [0.5, 0.66]])
    box = (40.0, 25.0, 160.0, 145.0)
    points = np.array(box[:2]) + mean_shape * (box[2] - box[0])
    assert np.allclose(refit_box(points, mean_shape), box)


def test_the_square_box_keeps_the_width_and_sits_lower():
    x1, y1, x2, y2 = square_box((0.0, 0.0, 100.0, 135.0))
    assert np.isclose(x2 - x1, 100) and np.isclose(y2 - y1, 100)
    assert np.isclose((y1 + y2) / 2, 67.5 + HOG_DY * 135)


def test_a_trimmed_centroid_leaves_out_the_face_unlike_the_others():
    e = np.eye(DIM)
    faces = np.vstack([near(e[0], 5), e[1]])
    plain = unit(faces.mean(0))
    trimmed = robust_centroid(faces, np.zeros((0, DIM)), "trimmed", 0.03)
    assert plain @ e[1] > 0.15  # the odd face pulls the plain centroid towards it
    assert abs(trimmed @ e[1]) < 0.05


def test_the_screened_matcher_leaves_out_another_stars_face_from_a_centroid():
    e = np.eye(DIM)
    gallery = np.vstack([near(e[0], 5), e[1], near(e[1], 5)])
    labels = np.array(["a"] * 6 + ["b"] * 5)
    b_face = e[1][None]
    plain = float((b_face @ unit(unit(gallery[labels == "a"]).mean(0)))[0])
    screened = screened_matcher(gallery, labels, b_face, ["a", "b"])[0, 0]
    assert plain > 0.15 and abs(screened) < 0.05  # b's face no longer half matches a
