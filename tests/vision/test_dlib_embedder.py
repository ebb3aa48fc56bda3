"""dlib's face recogniser on the real weights and real photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpopcam.settings import IDENTITY_THRESHOLDS
from kpopcam.types import Face
from kpopcam.vision import weights
from kpopcam.vision.dlib_embedder import DlibEmbedder
from kpopcam.vision.weights import WeightsError

# Face boxes (x0, y0, x1, y1) found by facenet_pytorch's MTCNN and checked by eye.
ASTRONAUT_FACE = Face((181, 62, 268, 172), 1.0)
CAMERAMAN_FACE = Face((199, 119, 254, 192), 1.0)


@pytest.fixture(scope="module")
def dlib_embedder():
    return DlibEmbedder()


def moved_and_mirrored(rgb):
    """The astronaut photo scaled to 70 %, put elsewhere on a grey canvas, mirrored; and her
    face box there."""
    small = cv2.resize(rgb, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)[:, ::-1]
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[60 : 60 + small.shape[0], 200 : 200 + small.shape[1]] = small
    x0, y0, x1, y1 = ASTRONAUT_FACE.box
    w = small.shape[1]
    box = (200 + w - x1 * 0.7, 60 + y0 * 0.7, 200 + w - x0 * 0.7, 60 + y1 * 0.7)
    return canvas, Face(box, 1.0)


def test_the_same_face_elsewhere_is_closer_than_another_person(
    dlib_embedder, astronaut, cameraman
):
    canvas, moved = moved_and_mirrored(astronaut)
    her = dlib_embedder.embed_faces(astronaut, [ASTRONAUT_FACE])[0]
    her_again = dlib_embedder.embed_faces(canvas, [moved])[0]
    him = dlib_embedder.embed_faces(cameraman, [CAMERAMAN_FACE])[0]
    assert her.shape == (128,) and her.dtype == np.float32
    assert np.linalg.norm(her) == pytest.approx(1, abs=1e-5)
    # dlib's unit vectors are all fairly alike: strangers sit near 0.8, so the gallery's
    # default threshold for dlib is what tells them apart.
    threshold = IDENTITY_THRESHOLDS["dlib"]
    assert her @ her_again > threshold > her @ him
    assert 1 - her @ her_again < (1 - her @ him) / 10


def test_embeddings_are_deterministic_and_batch_alike(dlib_embedder, astronaut, cameraman):
    one = dlib_embedder.embed_faces(astronaut, [ASTRONAUT_FACE])
    again = dlib_embedder.embed_faces(astronaut, [ASTRONAUT_FACE])
    np.testing.assert_array_equal(one, again)
    two = dlib_embedder.embed_faces(astronaut, [ASTRONAUT_FACE, ASTRONAUT_FACE])
    np.testing.assert_allclose(two, np.vstack([one, one]), atol=1e-6)
    assert dlib_embedder.embed_faces(astronaut, []).shape == (0, 128)


def test_flip_averages_the_face_with_its_mirror_image(dlib_embedder, astronaut):
    chip = dlib_embedder.chips(astronaut, [ASTRONAUT_FACE])[0]
    assert chip.shape == (150, 150, 3)
    plain, mirrored = dlib_embedder.embed_chips([chip, chip[:, ::-1]])
    flipped = dlib_embedder.embed_faces(astronaut, [ASTRONAUT_FACE], flip=True)[0]
    expected = (plain + mirrored) / np.linalg.norm(plain + mirrored)
    np.testing.assert_allclose(flipped, expected, atol=1e-6)
    assert not np.allclose(plain, mirrored, atol=1e-3)  # a mirror image is another input


def test_missing_model_files_are_a_clear_error(monkeypatch):
    monkeypatch.setattr(weights, "DLIB_MODELS_PACKAGE", "no_such_models_package")
    with pytest.raises(WeightsError, match=r"pip install 'kpopcam\[dlib\]'"):
        DlibEmbedder()


def test_model_files_are_found_without_importing_their_package():
    predictor, recogniser = weights.dlib_model_paths()
    assert predictor.name == "shape_predictor_5_face_landmarks.dat"
    assert recogniser.stat().st_size > 20_000_000
