"""dlib's face recogniser without dlib (numpy landmarks, onnxruntime ResNet) on real photos,
against dlib-bin where it is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kpopcam.types import Face
from kpopcam.vision import dlib_chip, dlib_convert, dlib_landmarks, dlib_onnx, weights
from kpopcam.vision.dlib_onnx import DlibOnnxEmbedder
from kpopcam.vision.embedder import write_weights_file
from kpopcam.vision.weights import WeightsError
from tests.conftest import save_jpeg
from tests.vision.test_dlib_embedder import ASTRONAUT_FACE, CAMERAMAN_FACE, moved_and_mirrored

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def onnx_embedder():
    return DlibOnnxEmbedder()


@pytest.fixture(scope="module")
def dlib_bin():
    dlib = pytest.importorskip("dlib")
    predictor, recogniser = weights.dlib_model_paths()
    return dlib, dlib.shape_predictor(str(predictor)), dlib.face_recognition_model_v1(
        str(recogniser))


def zoomed(astronaut, zoom):
    """The astronaut's head and shoulders enlarged, and her face box there."""
    image = cv2.resize(astronaut[:300, 60:400], None, fx=zoom, fy=zoom,
                       interpolation=cv2.INTER_CUBIC)
    x1, y1, x2, y2 = ASTRONAUT_FACE.box
    return image, Face(((x1 - 60) * zoom, y1 * zoom, (x2 - 60) * zoom, y2 * zoom), 1.0)


@pytest.fixture(scope="module")
def faces(astronaut, cameraman):
    """(image, face) of the two asset photos, of the astronaut moved, shrunk and mirrored, and
    of her face enlarged 2.5 times (dlib's chip rectangle is then 299 px: just large enough
    for dlib to cut the chip from a level of its image pyramid) and 3 times."""
    return [(astronaut, ASTRONAUT_FACE), (cameraman, CAMERAMAN_FACE),
            moved_and_mirrored(astronaut), zoomed(astronaut, 2.5), zoomed(astronaut, 3)]


@pytest.fixture(scope="module")
def framed_as_dlib(faces):
    """The faces dlib's recipe is kept for: all but the cameraman, whose 55 px face the chip
    enlarges more than twice (test_a_small_face_is_framed_by_its_landmarks_own_spread)."""
    return [faces[0], *faces[2:]]


def _dlib_points(dlib_bin, rgb, face):
    dlib, predictor, _ = dlib_bin
    x1, y1, x2, y2 = (round(v) for v in face.box)
    shape = predictor(rgb, dlib.rectangle(x1, y1, x2, y2))
    return shape, np.array([[p.x, p.y] for p in shape.parts()], float)


def _nchw(chips):
    return np.ascontiguousarray(np.stack(chips).transpose(0, 3, 1, 2), dtype=np.float32)


def test_descriptors_match_dlib_bin_on_its_own_chips(onnx_embedder, dlib_bin, faces):
    dlib, _, recogniser = dlib_bin
    chips = [dlib.get_face_chip(rgb, _dlib_points(dlib_bin, rgb, face)[0], 150, 0.25)
             for rgb, face in faces]
    reference = np.array([list(d) for d in recogniser.compute_face_descriptor(chips)])
    ours = onnx_embedder.forward(_nchw(chips))
    assert ours.shape == (5, 128)
    assert np.abs(ours - reference).max() <= 1e-4
    assert np.abs(reference[0] - reference[1]).max() > 0.05  # two people: far apart


def test_landmarks_are_dlib_bins_to_the_pixel(onnx_embedder, dlib_bin, faces):
    for rgb, face in faces:
        _, expected = _dlib_points(dlib_bin, rgb, face)
        box = tuple(round(v) for v in face.box)
        found = onnx_embedder.landmarks(rgb, box)
        np.testing.assert_array_equal(found, expected)


def test_chips_are_dlibs_get_face_chip_to_the_pixel(onnx_embedder, dlib_bin, framed_as_dlib):
    dlib = dlib_bin[0]
    for rgb, face in framed_as_dlib:
        expected = dlib.get_face_chip(rgb, _dlib_points(dlib_bin, rgb, face)[0], 150, 0.25)
        chip = onnx_embedder.chips(rgb, [face])[0]
        assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
        np.testing.assert_array_equal(chip, expected)


def test_embeddings_are_the_dlib_embedders(onnx_embedder, dlib_bin, framed_as_dlib):
    from kpopcam.vision.dlib_embedder import DlibEmbedder

    reference = DlibEmbedder()
    for rgb, face in framed_as_dlib:
        np.testing.assert_allclose(onnx_embedder.embed_faces(rgb, [face]),
                                   reference.embed_faces(rgb, [face]), atol=1e-4, rtol=0)


def test_embeddings_are_unit_flip_averaged_and_batch_alike(onnx_embedder, faces):
    (astronaut, her), (cameraman, him) = faces[:2]
    both = onnx_embedder.embed_faces(astronaut, [her, her], flip=False)
    assert both.shape == (2, 128) and both.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(both[0], both[1], atol=1e-6)
    chip = onnx_embedder.chips(astronaut, [her])[0]
    plain, mirrored = onnx_embedder.embed_chips([chip, chip[:, ::-1]])
    flipped = onnx_embedder.embed_faces(astronaut, [her])[0]
    np.testing.assert_allclose(flipped, (plain + mirrored) / np.linalg.norm(plain + mirrored),
                               atol=1e-6)
    assert onnx_embedder.embed_faces(astronaut, []).shape == (0, 128)


def test_the_same_face_elsewhere_is_closer_than_another_person(onnx_embedder, faces):
    (astronaut, her), (cameraman, him), (canvas, moved) = faces[:3]
    a = onnx_embedder.embed_faces(astronaut, [her])[0]
    again = onnx_embedder.embed_faces(canvas, [moved])[0]
    other = onnx_embedder.embed_faces(cameraman, [him])[0]
    assert a @ again > 0.935 > a @ other


def shrunk(rgb, face, width):
    """The photo made smaller, as a wide shot shows a face, so that the face is width px wide."""
    k = width / face.width
    small = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    return small, Face(tuple(v * k for v in face.box), 1.0)


def _spread(points):
    """Root mean square distance of points from their mean."""
    return float(np.sqrt(np.mean(np.sum((points - points.mean(0)) ** 2, axis=1))))


def test_a_small_face_is_framed_by_its_landmarks_own_spread(onnx_embedder, faces):
    """The cameraman's head is turned, so his five points fit the template badly: dlib's fit
    from the template to them zooms his 55 px face in (they land farther apart on the chip than
    the template's points); the app's chip of him keeps his face's size."""
    cameraman, him = faces[1]
    template = dlib_onnx.CHIP_POINTS * dlib_onnx.CHIP_SIZE
    points = onnx_embedder.landmarks(cameraman, tuple(round(v) for v in him.box))
    assert dlib_chip.is_small(template, points)

    def on_chip(tform):
        back = np.linalg.inv(np.vstack([tform, [0, 0, 1]]))[:2]
        return points @ back[:, :2].T + back[:, 2]

    assert _spread(on_chip(dlib_chip.similarity(template, points))) > 1.03 * _spread(template)
    framed = dlib_chip.chip_transform(template, points, small_face_fit=True)
    assert _spread(on_chip(framed)) <= _spread(template) + 1e-9
    chip = onnx_embedder.chips(cameraman, [him])[0]
    np.testing.assert_array_equal(
        chip, dlib_chip.face_chip(cameraman, template, points, 150, small_face_fit=True))
    dlibs = dlib_chip.face_chip(cameraman, template, points, 150)
    assert np.abs(chip.astype(int) - dlibs).mean() > 5


def test_a_far_face_is_more_like_her_star_than_dlibs_recipe_makes_it(onnx_embedder, faces):
    """The astronaut enrolled from her photo (flip-averaged, as enrolment does), then seen far
    away (30-56 px, as in a wide shot) in live looks (flip off): her small face is more like her
    than dlib's recipe (its chip, no mirror image) makes it at nearly every size, and it gains
    less likeness to the cameraman than to her."""
    (astronaut, her), (cameraman, him) = faces[:2]
    star, other = onnx_embedder.embed_faces(astronaut, [her])[0], onnx_embedder.embed_faces(
        cameraman, [him])[0]
    template = dlib_onnx.CHIP_POINTS * dlib_onnx.CHIP_SIZE
    gains, other_gains = [], []
    for width in range(30, 57, 2):
        small, face = shrunk(astronaut, her, width)
        points = onnx_embedder.landmarks(small, tuple(round(v) for v in face.box))
        dlibs = onnx_embedder.embed_chips([dlib_chip.face_chip(small, template, points, 150)])[0]
        live = onnx_embedder.embed_faces(small, [face], flip=False)[0]
        gains.append(float(live @ star - dlibs @ star))
        other_gains.append(float(live @ other - dlibs @ other))
    assert np.mean(gains) > 0.002
    assert np.mean(np.array(gains) > 0) >= 0.8
    assert np.mean(other_gains) < np.mean(gains)


def test_the_shipped_weights_are_dlibs_dat_files_converted(tmp_path):
    predictor, recogniser = weights.dlib_model_paths()  # kpopcam[dev] has them
    card, graph = dlib_onnx.resnet_card()
    converted = tmp_path / "dlib_resnet.weights"
    write_weights_file(converted, dlib_convert.read_arrays(recogniser.read_bytes()),
                       card["layout"])
    assert weights.sha256_of(converted) == card["sha256"]
    assert weights.sha256_of(graph.with_name(card["weights_file"])) == card["sha256"]
    shipped = dlib_landmarks.load_shipped()
    from_dat = dlib_landmarks.read_predictor(predictor.read_bytes())
    assert sorted(shipped) == sorted(from_dat)
    for key, array in from_dat.items():
        np.testing.assert_array_equal(shipped[key], array)


@pytest.mark.parametrize("name", ["dlib_resnet.weights", "dlib_landmarks.npz"])
def test_a_damaged_shipped_file_is_a_clear_error(name, tmp_path, monkeypatch):
    for path in ROOT.joinpath("weights").glob("dlib_*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with open(tmp_path / name, "r+b") as f:
        f.seek((tmp_path / name).stat().st_size // 2)
        f.write(b"\xff" * 64)
    monkeypatch.setenv("KPOPCAM_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsError, match=name.replace(".", r"\.")):
        DlibOnnxEmbedder()


@pytest.mark.parametrize("reader", [dlib_convert.read_network, dlib_landmarks.read_predictor],
                         ids=["recogniser", "shape predictor"])
def test_a_cut_or_foreign_model_file_is_a_clear_error(reader):
    predictor, recogniser = weights.dlib_model_paths()
    data = (recogniser if reader is dlib_convert.read_network else predictor).read_bytes()
    for broken in (data[: len(data) // 2], data + b"\x01\x00", b"\x01\x05con_4" + data[:100]):
        with pytest.raises(WeightsError):
            reader(broken)


NO_TORCH_NO_DLIB = """
import importlib.abc, json, sys

BLOCKED = {"torch", "torchvision", "facenet_pytorch", "dlib", "_dlib_pybind11",
           "face_recognition_models"}


class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked)")
        return None


sys.meta_path.insert(0, Blocked())
from kpopcam.enrollment import enroll
from kpopcam.images import read_rgb
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery
from kpopcam.vision.detector import photo_detector
from kpopcam.vision.identity import make_embedder

star, again, other, folder = sys.argv[1:5]
detector, embedder = photo_detector(Settings()), make_embedder("dlib-onnx")
result = {}
with StarGallery(f"{folder}/stars.sqlite", "dlib-onnx") as gallery:
    result["added"] = len(enroll("Eileen Collins", [star], detector, embedder, gallery).added)
    for key, path in (("again", again), ("other", other)):
        rgb = read_rgb(path)
        face = detector.detect(rgb, color="rgb")[0]
        result[key] = gallery.match(embedder.embed_faces(rgb, [face])[0]).name
result["blocked_modules"] = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
print(json.dumps(result))
"""


def test_a_star_enrolled_from_one_photo_is_named_on_another_without_torch_or_dlibs_packages(
    tmp_path, astronaut, cameraman
):
    canvas, _ = moved_and_mirrored(astronaut)
    paths = [save_jpeg(image, tmp_path / f"{name}.jpg")
             for name, image in (("eileen", astronaut), ("eileen_again", canvas),
                                 ("cameraman", cameraman))]
    env = {**os.environ, "KPOPCAM_CACHE": str(tmp_path / "cache")}  # an empty cache, too
    done = subprocess.run([sys.executable, "-c", NO_TORCH_NO_DLIB, *paths, str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"added": 1, "again": "Eileen Collins", "other": None,
                      "blocked_modules": []}
