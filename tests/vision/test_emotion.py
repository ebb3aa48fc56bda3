"""The emotion wrapper with the shipped weights, on real photos."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from skimage import data

from kpopcam.models.emotion_cnn import EmotionCNN, fuse_batchnorm
from kpopcam.types import EMOTIONS, Face
from kpopcam.vision.emotion import EmotionReader, crop_faces, standardize
from kpopcam.vision.weights import WeightsError, find_weights, load_model
from tests.conftest import weights_with_a_corrupt_export
from training.torch_forward import torch_emotion_reader


@pytest.fixture(scope="module")
def reader():
    return EmotionReader()


@pytest.fixture(scope="module")
def detector():
    from kpopcam.vision.detector import MtcnnDetector

    return MtcnnDetector()


def test_astronaut_smiles(reader, detector):
    rgb = data.astronaut()
    faces = detector.detect(rgb, color="rgb")
    assert faces, "MTCNN finds the astronaut's face"
    reading = reader.read(rgb, faces[:1], color="rgb")[0]
    assert reading.top == "happy", reading.as_dict()
    assert reading["happy"] > 0.5
    assert sum(reading.probabilities) == pytest.approx(1.0, abs=1e-4)


def test_the_app_runs_the_onnx_export_and_it_reads_as_torch_does(reader, detector):
    assert reader.backend == "onnx"
    torch_reader = torch_emotion_reader()
    rgb = data.astronaut()
    faces = detector.detect(rgb, color="rgb")[:1]
    exported, original = (r.read(rgb, faces, color="rgb")[0] for r in (reader, torch_reader))
    assert exported.top == original.top == "happy"
    np.testing.assert_allclose(exported.probabilities, original.probabilities, atol=1e-4)


def test_the_export_reads_many_faces_as_torch_does(reader):
    """Parity on several real faces at once (a batch), not on one."""
    faces = _photo_faces()
    exported = reader.probabilities(faces)
    original = torch_emotion_reader().probabilities(faces)
    np.testing.assert_allclose(exported, original, atol=1e-4)
    assert (exported.argmax(1) == original.argmax(1)).all()


def _photo_faces() -> np.ndarray:
    """Grey 48x48 faces cut from the public-domain photos (astronaut, camera man)."""
    faces = [crop_faces(data.astronaut(), [Face((180.0, 40.0, 290.0, 170.0), 1.0)], color="rgb"),
             crop_faces(data.camera(), [Face((200.0, 50.0, 300.0, 170.0), 1.0)])]
    rng = np.random.default_rng(0)
    shifted = [np.roll(faces[0], int(dx), axis=2) for dx in rng.integers(-4, 5, 8)]
    return np.concatenate([*faces, *shifted])


def test_a_corrupt_export_is_refused(tmp_path):
    with pytest.raises(WeightsError, match="checksum"):
        EmotionReader(weights_with_a_corrupt_export("emotion", tmp_path))


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_no_face_no_reading(reader, detector, kind):
    rng = np.random.default_rng(0)
    image = (np.zeros((480, 640, 3), np.uint8) if kind == "blank"
             else rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    faces = detector.detect(image)
    assert faces == []
    assert reader.read(image, faces) == []


def test_all_faces_of_a_frame_in_one_batch_match_one_by_one(reader):
    rgb = data.astronaut()
    faces = [Face((180.0, 40.0, 290.0, 170.0), 1.0), Face((0.0, 0.0, 80.0, 80.0), 0.9)]
    together = [r.probabilities for r in reader.read(rgb, faces, color="rgb")]
    alone = [reader.read(rgb, [f], color="rgb")[0].probabilities for f in faces]
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_crop_at_the_frame_edge_keeps_its_size():
    grey = np.full((100, 120), 128, np.uint8)
    crops = crop_faces(grey, [Face((-30.0, -20.0, 40.0, 60.0), 1.0)], side=48)
    assert crops.shape == (1, 48, 48) and crops.dtype == np.uint8


def test_standardize_flat_and_normal_faces():
    faces = np.stack([np.full((48, 48), 200, np.uint8),
                      np.random.default_rng(1).integers(0, 256, (48, 48), dtype=np.uint8)])
    x = standardize(faces)
    assert x.shape == (2, 1, 48, 48)
    assert x.dtype == np.float32 and np.all(x[0] == 0)
    assert abs(float(x[1].mean())) < 1e-5 and float(x[1].std(ddof=1)) == pytest.approx(1, abs=1e-3)
    # the same numbers as the torch step training used before it called this one
    t = torch.as_tensor(faces).float().unsqueeze(1)
    reference = (t - t.mean(dim=(1, 2, 3), keepdim=True)) / t.std(
        dim=(1, 2, 3), keepdim=True).clamp_min(2.0)
    np.testing.assert_allclose(x, reference.numpy(), atol=1e-5)


def test_batchnorm_fusion_keeps_outputs():
    model = EmotionCNN(widths=(8, 16), convs=(1, 2)).eval()
    for m in model.modules():  # non-trivial statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(3, 1, 48, 48)
    torch.testing.assert_close(fuse_batchnorm(model)(x), model(x), atol=1e-4, rtol=1e-4)


def test_card_and_weights_must_agree(tmp_path):
    """The torch weights (training's) are checked against their card; the app's reader
    checks the card's classes and its export's checksum."""
    pt, card_path = find_weights("emotion")
    card = json.loads(card_path.read_text())
    assert card["classes"] == list(EMOTIONS)
    for path in (pt, pt.with_name(card["onnx"]["file"])):
        shutil.copy(path, tmp_path / path.name)
    wrong = {**card, "arguments": {**card["arguments"], "widths": [4, 8, 16, 32]}}
    (tmp_path / "emotion.json").write_text(json.dumps(wrong))
    with pytest.raises(WeightsError, match="do not match"):
        load_model("emotion", tmp_path / "emotion.pt")
    (tmp_path / "emotion.json").write_text(json.dumps({**card, "sha256": "0" * 64}))
    with pytest.raises(WeightsError, match="checksum"):
        load_model("emotion", tmp_path / "emotion.pt")
    swapped = [*card["classes"][1:], card["classes"][0]]
    (tmp_path / "emotion.json").write_text(json.dumps({**card, "classes": swapped}))
    with pytest.raises(ValueError, match="classes"):
        EmotionReader(tmp_path / "emotion.pt")
    (tmp_path / "emotion.json").write_text(json.dumps({**card, "onnx": {
        **card["onnx"], "sha256": "0" * 64}}))
    with pytest.raises(WeightsError, match="checksum"):
        EmotionReader(tmp_path / "emotion.pt")


def test_analyze_photo_without_a_gallery(reader, detector, tmp_path):
    from kpopcam.commands.analyze import analyze_photo, draw_reports

    rgb = data.astronaut()
    reports = analyze_photo(rgb, detector, reader)
    assert len(reports) >= 1
    top = reports[0].as_dict()
    assert top["emotion"] == "happy" and top["star"] is None
    assert set(top["emotions"]) == set(EMOTIONS)
    drawn = draw_reports(rgb, reports)
    assert drawn.size == (rgb.shape[1], rgb.shape[0])


def test_a_big_face_in_a_dim_noisy_stream_is_cut_as_the_face_not_the_noise():
    """A 230 px face shrunk to 48 px: each crop pixel averages the face's own pixels, so a dim
    room's sensor noise (and a stream's blocks) mostly cancels instead of being picked up one
    pixel in 20 and read as the face."""
    rgb = np.kron(data.astronaut(), np.ones((2, 2, 1), np.uint8))  # the face is about 230 px
    face = Face((360.0, 90.0, 590.0, 350.0), 1.0)
    noise = np.random.default_rng(0).normal(0, 20, rgb.shape)
    noisy = np.clip(rgb + noise, 0, 255).astype(np.uint8)
    clean_crop, noisy_crop = (crop_faces(image, [face], color="rgb")[0].astype(float)
                              for image in (rgb, noisy))
    # the noise: 20 a channel, about 13 in grey; a warp straight to 48 px kept about 9 of it
    assert (noisy_crop - clean_crop).std() < 4
