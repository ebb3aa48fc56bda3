"""The portrait U-Net's data, training and evaluation scripts on a tiny made-up data set."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from kpopcam.models.unet import PortraitUNet
from training import eval_portrait, train_portrait
from training.portraits_data import (
    Augmenter,
    load_samples,
    person_free_backgrounds,
    read_pair,
    split,
    stems,
    to_tensor_layout,
)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Six photos of a bright 'person' ellipse; masks stored at half scale as in the real set."""
    root = tmp_path_factory.mktemp("portraits")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        image = rng.integers(0, 90, (96, 72, 3), dtype=np.uint8)
        mask = np.zeros((96, 72), np.uint8)
        cv2.ellipse(mask, (36 + i, 60), (20, 40), 0, 0, 360, 255, -1)
        image[mask > 0] = (230, 180, 150)
        Image.fromarray(image).save(root / "images" / f"{i + 1}.jpg", quality=95)
        half = cv2.resize(mask, (36, 48), interpolation=cv2.INTER_NEAREST)
        Image.fromarray(half).save(root / "masks" / f"{i + 1}.png")
    return root


def test_mask_is_resized_to_its_photo(tiny_data):
    image, mask = read_pair(tiny_data, "1")
    assert mask.shape == image.shape[:2] == (96, 72)
    assert set(np.unique(mask)) == {0, 1}


def test_split_is_fixed_and_disjoint():
    names = [str(i) for i in range(1, 233)]
    train, val = split(names, 32, seed=0)
    assert (train, val) == split(names, 32, seed=0)
    assert len(val) == 32 and len(train) == 200 and not set(train) & set(val)


def test_augmented_views(tiny_data):
    samples = load_samples(tiny_data, stems(tiny_data), short_side=64)
    augment = Augmenter(person_free_backgrounds(samples, size=48), size=64, seed=1)
    for sample in samples:
        image, mask, prior = augment(sample)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert mask.shape == (64, 64) and mask.min() >= 0 and mask.max() <= 1
        assert prior is None
        assert to_tensor_layout(image).shape == (3, 64, 64)


def test_the_prior_moves_with_the_photo(tiny_data):
    """Whatever crop, rotation or flip a view gets, its prior still lies over the person."""
    samples = load_samples(tiny_data, stems(tiny_data), short_side=64)
    for sample in samples:  # the 'face': the top of the person ellipse
        ys, xs = np.nonzero(sample.mask > 0.5)
        cx, top = xs.mean(), ys.min()
        sample.faces = [(cx - 5, top + 2, cx + 5, top + 14)]
    augment = Augmenter([], size=64, seed=3, with_prior=True)
    overlaps, empty = [], 0
    for _ in range(20):
        for sample in samples:
            image, mask, prior = augment(sample)
            assert prior.shape == mask.shape == (64, 64)
            if prior.max() == 0:
                empty += 1  # dropped on purpose: the net must cope without faces too
                continue
            overlaps.append(mask[prior > 0.5].mean())
    assert 0 < empty < 40
    assert np.mean(overlaps) > 0.8
    assert to_tensor_layout(image, prior).shape == (4, 64, 64)


def test_unet_output_matches_input_size():
    model = PortraitUNet((8, 8, 16, 16, 16)).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 96)).shape == (1, 1, 64, 96)


def test_learning_rate_warms_up_then_decays():
    lr = train_portrait.learning_rate
    assert lr(1.0, 0, 10) < lr(1.0, 3, 10)
    assert lr(1.0, 10, 10) == pytest.approx(0.01)
    assert type(lr(1.0, 5, 10)) is float  # checkpoints load with weights_only=True


def test_train_resume_and_evaluate(tiny_data, tmp_path, capsys):
    out, ckpt = tmp_path / "w" / "portrait_unet.pt", tmp_path / "ckpt"
    common = [
        "--data",
        str(tiny_data),
        "--out",
        str(out),
        "--checkpoint",
        str(ckpt),
        "--size",
        "64",
        "--batch",
        "2",
        "--n-val",
        "2",
        "--val-every",
        "1",
        "--widths",
        "8,8,16,16,16",
    ]
    assert train_portrait.main([*common, "--epochs", "1"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["architecture"] == "PortraitUNet" and card["input_size"] == 64
    assert len(card["data"]["val_stems"]) == 2 and "val_miou" in card
    assert train_portrait.main([*common, "--epochs", "2", "--resume"]) == 0
    assert "resumed at epoch 1" in capsys.readouterr().out
    assert eval_portrait.main([str(tiny_data), "--weights", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert set(json.loads(last)) == {"miou", "ms_per_frame"}

    # the same RGB weights as the start of a model with the face prior as 4th channel
    out4, cache = tmp_path / "w4" / "portrait_unet.pt", tmp_path / "faces.json"
    with_prior = [*common[:2], "--out", str(out4), "--checkpoint", str(tmp_path / "ckpt4"),
                  *common[6:], "--prior", "--faces-cache", str(cache)]
    assert train_portrait.main([*with_prior, "--epochs", "1", "--init", str(out)]) == 0
    assert "started from" in capsys.readouterr().out
    card = json.loads(out4.with_suffix(".json").read_text())
    assert card["arguments"]["in_channels"] == 4 and "person prior" in card["input"]
    assert set(json.loads(cache.read_text())) and len(json.loads(cache.read_text())) == 6
    assert eval_portrait.main(
        [str(tiny_data), "--weights", str(out4), "--faces-cache", str(cache)]
    ) == 0
    assert set(json.loads(capsys.readouterr().out.strip().splitlines()[-1])) == {
        "miou", "ms_per_frame"
    }


def test_warm_start_reads_the_prior_as_zero(tmp_path):
    """A 4-channel model started from RGB weights gives the RGB model's output at first."""
    from kpopcam.vision.weights import save_model

    rgb = PortraitUNet((8, 8, 16, 16, 16)).eval()
    save_model(rgb, {"architecture": "PortraitUNet"}, tmp_path / "rgb.pt")
    four = PortraitUNet((8, 8, 16, 16, 16), in_channels=4).eval()
    train_portrait.warm_start(four, tmp_path / "rgb.pt")
    x = torch.rand(1, 3, 64, 64)
    prior = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.allclose(rgb(x), four(torch.cat([x, prior], dim=1)), atol=1e-5)


def test_the_last_epochs_average_into_a_model(tiny_data, tmp_path, capsys):
    from training import average_portrait

    out, kept = tmp_path / "w" / "portrait_unet.pt", tmp_path / "epochs"
    assert train_portrait.main([
        "--data", str(tiny_data), "--out", str(out), "--checkpoint", str(tmp_path / "ckpt"),
        "--size", "64", "--batch", "2", "--n-val", "2", "--val-every", "1",
        "--widths", "8,8,16,16,16", "--epochs", "2", "--keep-weights", str(kept),
    ]) == 0
    epochs = sorted(kept.glob("epoch_*.pt"))
    assert [p.name for p in epochs] == ["epoch_001.pt", "epoch_002.pt"]
    averaged = tmp_path / "avg" / "portrait_unet.pt"
    assert average_portrait.main(
        [*map(str, epochs), "--out", str(averaged), "--base", str(out), "--data", str(tiny_data)]
    ) == 0
    card = json.loads(averaged.with_suffix(".json").read_text())
    reported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["miou"]
    assert card["weight_average"]["epochs"] == 2 and card["val_miou"] == reported
    assert card["data"]["val_stems"] == json.loads(out.with_suffix(".json").read_text())[
        "data"]["val_stems"]
