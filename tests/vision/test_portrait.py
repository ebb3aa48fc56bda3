"""Portrait mode on the public-domain astronaut photo, with the shipped U-Net."""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest
from PIL import Image

from kpopcam.types import Face
from kpopcam.vision.portrait import (
    PersonSegmenter,
    PortraitMaker,
    PortraitOptions,
    blur_background,
    drop_specks,
    keep_person_under_face,
    lens_kernel,
)
from tests.conftest import weights_with_a_corrupt_export

skimage_data = pytest.importorskip("skimage.data")

FACE = (175.0, 60.0, 270.0, 165.0)  # the astronaut's face, x1 y1 x2 y2
INNER_FACE = (slice(80, 150), slice(190, 255))  # rows, columns well inside the face
# the background beside the head: flag on the left, wall and shuttle model on the right
BACKGROUND = np.zeros((512, 512), bool)
BACKGROUND[0:200, 0:110] = True
BACKGROUND[0:200, 320:512] = True


def sharpness(image: np.ndarray, region) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F)[region].var())


@pytest.fixture(scope="module")
def maker() -> PortraitMaker:
    return PortraitMaker(PersonSegmenter.from_weights())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def portrait(maker, astronaut) -> np.ndarray:
    return maker.render(astronaut, Face(FACE, 0.99))


def _mask_parity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(largest probability difference, IoU of the masks cut at 0.5)."""
    ma, mb = a >= 0.5, b >= 0.5
    return float(np.abs(a - b).max()), float(np.sum(ma & mb) / max(np.sum(ma | mb), 1))


@pytest.mark.parametrize("flip", [False, True])
def test_the_onnx_export_masks_real_photos_as_the_torch_network_does(maker, astronaut, flip):
    from training.torch_forward import torch_segmenter

    exported, reference = maker.segmenter, torch_segmenter()
    assert type(exported.forward).__name__ == "OnnxModel"  # the app never runs torch
    # with the face, without it, and a photo with no person but a (made-up) face box
    coffee = skimage_data.coffee()
    photos = [(astronaut, [FACE]), (astronaut, []), (coffee, [(180.0, 40.0, 300.0, 200.0)])]
    for segmenter in (exported, reference):
        segmenter.flip_average = flip
    try:
        for image, faces in photos:
            a, b = exported.low_res(image, faces), reference.low_res(image, faces)
            diff, iou = _mask_parity(a, b)
            assert diff < 1e-4 and iou > 0.999, (diff, iou)
    finally:
        exported.flip_average = reference.flip_average = False


def test_the_export_takes_other_input_sizes(maker, astronaut):
    """The graph is dynamic in height and width: a model card may name another input size."""
    from training.torch_forward import torch_segmenter

    reference = torch_segmenter()
    for segmenter in (maker.segmenter, reference):
        segmenter.input_size = 192
    try:
        a, b = maker.segmenter.low_res(astronaut, [FACE]), reference.low_res(astronaut, [FACE])
        assert a.shape == (192, 192)
        diff, iou = _mask_parity(a, b)
        assert diff < 1e-4 and iou > 0.999
    finally:
        maker.segmenter.input_size = 256


def test_a_corrupt_export_is_refused(tmp_path):
    from kpopcam.vision.weights import WeightsError

    with pytest.raises(WeightsError, match="checksum"):
        PersonSegmenter.from_weights(weights_with_a_corrupt_export("portrait_unet", tmp_path))


def test_portrait_keeps_size_and_type(portrait, astronaut):
    assert portrait.shape == astronaut.shape
    assert portrait.dtype == np.uint8


def test_face_stays_sharp_background_blurs(portrait, astronaut):
    before, after = sharpness(astronaut, INNER_FACE), sharpness(portrait, INNER_FACE)
    assert abs(after - before) <= 0.10 * before
    # the shipped model takes part of the flag for the astronaut (it touches her suit), so
    # the flag alone stays sharp; the background as a whole loses more than half
    assert sharpness(portrait, BACKGROUND) < 0.5 * sharpness(astronaut, BACKGROUND)


def test_no_halo_along_the_subject_edge(maker, astronaut, portrait):
    alpha = maker.subject_alpha(astronaut, FACE)
    person = (alpha >= 0.5).astype(np.uint8)
    ring = np.ones((9, 9), np.uint8)
    boundary = (cv2.dilate(person, ring) - cv2.erode(person, ring)).astype(bool)
    outside = (cv2.dilate(person, np.ones((25, 25), np.uint8)) - person).astype(bool)
    grey_before = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY).astype(float)
    grey_after = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY).astype(float)
    for band in (boundary, outside):
        assert abs(grey_after[band].mean() - grey_before[band].mean()) < 4.0


def test_mask_edge_is_smooth_not_staircase(maker, astronaut):
    alpha = maker.subject_alpha(astronaut)
    assert alpha.shape == astronaut.shape[:2]
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    soft = np.mean((alpha > 0.02) & (alpha < 0.98))
    assert 0 < soft < 0.1  # a thin feathered edge, neither hard nor a wide smear


def test_photo_without_person_comes_back_unchanged(maker):
    ramp = np.linspace(0, 255, 320, dtype=np.float32)
    sky = np.stack([np.tile(ramp, (240, 1))] * 3, axis=2).astype(np.uint8)
    assert maker.subject_alpha(sky) is None
    assert np.array_equal(maker.render(sky), sky)
    black = np.zeros((100, 150, 3), np.uint8)
    assert maker.render(black).shape == black.shape
    with pytest.raises(ValueError, match="RGB"):
        maker.render(np.zeros((100, 150), np.uint8))


def test_without_a_face_box_portrait_mode_finds_the_faces_itself(maker, astronaut):
    """The shipped model reads a person prior drawn from face boxes; a photo handed over
    without one (kpopcam portrait) gets MTCNN's, and the same mask as with the box."""
    assert maker.segmenter.wants_faces
    found = maker.subject_alpha(astronaut) >= 0.5
    given = maker.subject_alpha(astronaut, Face(FACE, 0.99)) >= 0.5
    assert (found & given).sum() / (found | given).sum() > 0.95


def test_any_photo_gives_a_result(maker):
    coffee = skimage_data.coffee()
    assert maker.render(coffee).shape == coffee.shape


def test_only_the_person_under_the_face_stays(maker):
    prob = np.zeros((64, 64), np.float32)
    prob[10:60, 5:25] = 0.95  # person on the left
    prob[10:60, 40:60] = 0.95  # person on the right
    image_shape = (640, 640)
    kept = keep_person_under_face(prob, (420.0, 120.0, 560.0, 260.0), image_shape)
    assert kept[30, 50] > 0.9 and kept[30, 15] == 0
    assert np.array_equal(
        keep_person_under_face(prob, (300.0, 0.0, 340.0, 40.0), image_shape), prob
    )


def test_small_blobs_without_a_face_are_not_people():
    prob = np.zeros((100, 100), np.float32)
    prob[30:100, 20:60] = 0.9  # the person
    prob[2:6, 80:84] = 0.9  # the tip of a rocket model
    prob[5:9, 5:9] = 0.9  # a small face far away
    prob[0:4, 40:44] = 0.9  # a face cut off by the top of the frame
    faces = [(10.0, 10.0, 18.0, 18.0), (80.0, -6.0, 88.0, 6.0)]
    cleaned = drop_specks(prob, faces, (200, 200))
    assert cleaned[50, 40] == pytest.approx(0.9) and cleaned[7, 7] == pytest.approx(0.9)
    assert cleaned[1, 42] == pytest.approx(0.9)
    assert cleaned[4, 82] == 0


def test_subject_colour_does_not_bleed_into_background():
    image = np.full((200, 200, 3), 255, np.uint8)
    image[70:130, 70:130] = (255, 0, 0)
    alpha = np.zeros((200, 200), np.float32)
    alpha[70:130, 70:130] = 1
    for lens in ("disc", "gaussian"):
        out = blur_background(image, alpha, PortraitOptions(strength=8, lens=lens))
        assert np.array_equal(out[70:130, 70:130], image[70:130, 70:130])
        assert out[alpha == 0].min() >= 254  # white stays white right up to the subject


def test_strength_zero_is_identity_and_full_blur_without_subject():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    zero = np.zeros((120, 160), np.float32)
    assert np.array_equal(blur_background(image, zero, PortraitOptions(strength=0)), image)
    blurred = blur_background(image, zero, PortraitOptions(strength=5))
    assert blurred.std() < image.std() / 3


def test_lens_kernels_are_normalised():
    for lens in ("disc", "gaussian"):
        for radius in (0.3, 2.5, 11):
            assert lens_kernel(radius, lens).sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError):
        PortraitOptions(lens="fisheye")


def test_portrait_command(tmp_path, astronaut, capsys):
    from kpopcam.commands import portrait as command

    photos = tmp_path / "in"
    photos.mkdir()
    rotated = Image.fromarray(astronaut[:, :400])  # 400 wide, 512 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    exif[0x010F] = "kpopcam test camera"
    rotated.save(photos / "astronaut.jpg", exif=exif.tobytes())
    (photos / "broken.jpg").write_bytes(b"not a photo")
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["portrait", str(photos), "--out", str(tmp_path / "out"), "--strength", "4"]
    )
    assert args.run(args) == 1  # one file skipped
    assert "broken.jpg" in capsys.readouterr().err
    with Image.open(tmp_path / "out" / "astronaut_portrait.jpg") as result:
        assert result.size == (512, 400)  # upright
        assert result.getexif()[0x010F] == "kpopcam test camera"
        assert result.getexif().get(0x0112, 1) == 1
