"""The app's MTCNN (onnxruntime + numpy) finds the faces facenet-pytorch's MTCNN finds, where
it finds them, and needs no torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from kpopcam.settings import Settings
from kpopcam.types import Face, iou
from kpopcam.vision.detector import MtcnnDetector, live_detector, photo_detector
from kpopcam.vision.weights import WeightsError
from tests.live.conftest import write_video
from training.mtcnn_torch import TorchMtcnnDetector

ROOT = Path(__file__).resolve().parents[2]
DEMO_FACES = sorted((ROOT / "kpopcam" / "assets").glob("*.jpg"))
# (min_face_px, scale, factor): photos (enrol, analyze) and the live engine's defaults
PHOTO, LIVE = (20, 1.0, 0.709), (40, 0.5, 0.709)


@pytest.fixture(scope="module")
def pairs():
    """(ONNX detector, torch reference) for the photo and the live settings."""
    return {how: (MtcnnDetector(m, s, factor=f), TorchMtcnnDetector(m, s, factor=f))
            for how, (m, s, f) in (("photo", PHOTO), ("live", LIVE))}


def rgb_of(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def assert_same_faces(ours: list[Face], reference: list[Face]) -> None:
    assert len(ours) == len(reference)
    for ref in reference:
        match = max(ours, key=lambda f: iou(f.box, ref.box))
        assert iou(match.box, ref.box) >= 0.95
        assert np.abs(match.landmarks - ref.landmarks).max() <= 1.0
        assert match.score == pytest.approx(ref.score, abs=1e-3)


@pytest.mark.parametrize("how", ["photo", "live"])
def test_same_faces_as_facenet_pytorch_on_real_photos(pairs, how, astronaut):
    ours, reference = pairs[how]
    photos = [astronaut, *(rgb_of(p) for p in DEMO_FACES)]
    for rgb in photos:
        found = ours.detect(rgb, color="rgb")
        assert found, "every photo shows a face"
        assert_same_faces(found, reference.detect(rgb, color="rgb"))


def test_same_faces_on_a_photo_of_several_people(pairs, astronaut, cameraman):
    people = [cv2.resize(p, (300, 300), interpolation=cv2.INTER_AREA)
              for p in (astronaut, cameraman, *(rgb_of(p) for p in DEMO_FACES))]
    group = np.hstack(people)
    ours, reference = pairs["photo"]
    found = ours.detect(group, color="rgb")
    assert len(found) >= len(people)
    assert_same_faces(found, reference.detect(group, color="rgb"))


@pytest.fixture(scope="module")
def video_frames(tmp_path_factory, astronaut) -> list[np.ndarray]:
    """Frames of a real mp4v file: the astronaut drifting across a 640x480 frame."""
    path = write_video(tmp_path_factory.mktemp("mtcnn") / "drift.mp4",
                       [(2.0, astronaut, 0.6, 40)], fps=10)
    capture = cv2.VideoCapture(path)
    frames = []
    while len(frames) < 20:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames[::4]


@pytest.mark.parametrize("how", ["photo", "live"])
def test_same_faces_on_video_frames(pairs, how, video_frames):
    ours, reference = pairs[how]
    assert len(video_frames) == 5
    for frame in video_frames:
        found = ours.detect(frame)
        assert len(found) == 1
        assert_same_faces(found, reference.detect(frame))


def test_no_faces_on_blank_or_tiny_images(pairs):
    ours, _ = pairs["photo"]
    assert ours.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert ours.detect(np.full((300, 300, 3), 128, np.uint8)) == []
    assert ours.detect(np.full((10, 10, 3), 128, np.uint8)) == []  # smaller than any face


def test_many_frames_at_once_give_what_each_gives_alone(pairs, video_frames, astronaut):
    ours, _ = pairs["live"]
    images = [*video_frames, cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)]  # two sizes
    together = ours.detect_many(images)
    for image, faces in zip(images, together, strict=True):
        alone = ours.detect(image)
        assert len(faces) == len(alone) == 1
        assert iou(faces[0].box, alone[0].box) > 0.999
        assert np.abs(faces[0].landmarks - alone[0].landmarks).max() < 0.01


def test_a_corrupt_network_file_is_named(tmp_path, monkeypatch):
    for path in (ROOT / "weights").glob("mtcnn_*"):
        shutil.copy(path, tmp_path / path.name)
    with open(tmp_path / "mtcnn_rnet.onnx", "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 16)
    monkeypatch.setenv("KPOPCAM_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsError, match="mtcnn_rnet.onnx"):
        MtcnnDetector()


NO_TORCH = """
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "facenet_pytorch"):
            raise ImportError(f"{name} is not installed")

sys.meta_path.insert(0, NoTorch())
"""


def test_the_apps_detectors_run_without_torch(tmp_path):
    script = NO_TORCH + textwrap.dedent("""
        from skimage import data
        from kpopcam.settings import Settings
        from kpopcam.vision.detector import detect_in_photo, live_detector, photo_detector
        from kpopcam.vision.person_prior import faces_for_prior, prior_detector

        photo = data.astronaut()
        settings = Settings()
        found = [len(detect_in_photo(photo_detector(settings), photo)),
                 len(live_detector(settings).detect(photo, color="rgb")),
                 len(faces_for_prior(prior_detector(), photo))]
        assert "torch" not in sys.modules
        print(found)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1, 1, 1]"


def test_the_app_makes_the_onnx_detector_from_its_settings():
    settings = Settings()
    for detector in (photo_detector(settings), live_detector(settings)):
        assert isinstance(detector, MtcnnDetector)
    assert live_detector(settings).scale == settings.live.detect_scale


def test_resampling_and_nms_are_torchs_to_the_bit():
    """The two steps where a near-miss would move faces: torch's "area" resampling (pyramid
    levels and crops) and torchvision's NMS, on random pixels and boxes with tied scores."""
    import torch
    from torch.nn.functional import interpolate
    from torchvision.ops import nms

    from kpopcam.vision import face_boxes as fb

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (1, 97, 131, 3), dtype=np.uint8)
    sums = fb.integral(image)
    as_torch = torch.from_numpy(image).permute(0, 3, 1, 2).float()
    for size in ((58, 79), (24, 24), (200, 150), (12, 17)):
        theirs = interpolate(as_torch, size=size, mode="area").permute(0, 2, 3, 1).numpy()
        assert np.array_equal(fb.area_resize(sums, 97, 131, *size), theirs)
    y, x = np.array([1, 30, 90]), np.array([1, 50, 120])
    ey, ex = np.array([97, 70, 97]), np.array([40, 131, 131])
    for side in (24, 48):
        ours = fb.crops(sums, np.zeros(3, np.int64), y, ey, x, ex, side)
        for k in range(3):
            crop = as_torch[:, :, y[k] - 1:ey[k], x[k] - 1:ex[k]]
            theirs = interpolate(crop, size=(side, side), mode="area")
            assert np.array_equal(ours[k], theirs[0].permute(1, 2, 0).numpy())
    corners = rng.uniform(0, 200, (400, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(5, 60, (400, 2))], axis=1,
                           dtype=np.float32)
    scores = rng.choice(np.float32([0.9, 0.95, 0.99, 1.0]), 400)  # many ties
    expected = nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5).numpy()
    assert np.array_equal(fb.nms(boxes, scores, 0.5), expected)
