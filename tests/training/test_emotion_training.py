"""FER2013 loaders (folder and CSV) and the emotion training script, on generated data."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from kpopcam.types import EMOTIONS
from kpopcam.vision.weights import WeightsError, load_model
from training import average_emotion, train_emotion, weight_average
from training.fer2013 import FerDataError, load, load_csv, load_folder

PER_CLASS = {"train": 3, "val": 2}
USAGE = {"train": "Training", "val": "PublicTest"}


@pytest.fixture(scope="module")
def fer(tmp_path_factory):
    """The same faces as a folder tree (<split>/<label>/<row>.png) and as fer2013.csv."""
    root = tmp_path_factory.mktemp("fer2013")
    rng = np.random.default_rng(0)
    rows = ["emotion,pixels,Usage"]
    for split, count in PER_CLASS.items():
        for label, name in enumerate(EMOTIONS):
            (root / split / name).mkdir(parents=True)
            for _ in range(count):
                # a bright blob whose place depends on the class: learnable, not noise alone
                image = rng.integers(0, 60, (48, 48), dtype=np.uint8)
                image[label * 6 : label * 6 + 12, 10:38] += 150
                row = len(rows) - 1
                cv2.imwrite(str(root / split / name / f"{row:05d}.png"), image)
                rows.append(f"{label},{' '.join(map(str, image.ravel()))},{USAGE[split]}")
    rows.append(f"0,{' '.join(['7'] * 2304)},PrivateTest")
    (root / "fer2013.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.parametrize("split", ["train", "val"])
def test_csv_and_folder_loaders_agree(fer, split):
    folder = load_folder(fer / split)
    table = load_csv(fer / "fer2013.csv", split)
    assert len(folder) == len(table) == PER_CLASS[split] * len(EMOTIONS)
    # the folder is read label by label; the CSV in row order, which here is the same
    np.testing.assert_array_equal(folder.labels, table.labels)
    np.testing.assert_array_equal(folder.images, table.images)
    assert folder.images.dtype == np.uint8 and folder.images.shape[1:] == (48, 48)


def test_load_takes_the_root_a_split_folder_or_the_csv(fer, tmp_path):
    by_root = load(fer, "val")
    by_split = load(fer / "val", "val")
    by_csv = load(fer / "fer2013.csv", "val", cache_dir=tmp_path)
    cached = load(fer / "fer2013.csv", "val", cache_dir=tmp_path)
    for other in (by_split, by_csv, cached):
        np.testing.assert_array_equal(by_root.images, other.images)
        np.testing.assert_array_equal(by_root.labels, other.labels)


def test_bad_csv_row_names_file_and_line(tmp_path):
    path = tmp_path / "fer2013.csv"
    good = f"3,{' '.join(['1'] * 2304)},Training"
    path.write_text(f"emotion,pixels,Usage\n{good}\n3,1 2 3,Training\n")
    with pytest.raises(FerDataError, match=r"fer2013\.csv, line 3: 3 pixel values"):
        load_csv(path)
    path.write_text(f"emotion,pixels,Usage\n{good}\n9,{' '.join(['1'] * 2304)},Training\n")
    with pytest.raises(FerDataError, match="line 3: emotion '9'"):
        load_csv(path)


def test_unknown_label_folder_and_missing_paths(fer, tmp_path):
    (tmp_path / "happy").mkdir()
    (tmp_path / "contempt").mkdir()
    with pytest.raises(FerDataError, match="unknown label folder.*contempt"):
        load_folder(tmp_path)
    with pytest.raises(FerDataError, match="no such folder"):
        load_folder(tmp_path / "nowhere")
    with pytest.raises(FerDataError, match="no such file"):
        load_csv(tmp_path / "missing.csv")


def test_training_script_runs_an_epoch_and_resumes(fer, tmp_path):
    out, checkpoint = tmp_path / "emotion.pt", tmp_path / "emotion.ckpt"
    common = ["--data", str(fer), "--out", str(out), "--checkpoint", str(checkpoint),
              "--no-cache", "--widths", "8,16", "--convs", "1,1", "--batch", "8"]
    assert train_emotion.main([*common, "--epochs", "1"]) == 0
    model, card = load_model("emotion", out)
    assert card["classes"] == list(EMOTIONS)
    assert set(card["val_per_class_recall"]) == set(EMOTIONS)
    assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 7)
    assert train_emotion.main([*common, "--epochs", "2", "--resume"]) == 0
    history = json.loads(out.with_name("emotion.history.json").read_text())
    assert len(history["val_acc"]) == 2


def test_weights_of_the_last_epochs_average_into_a_model(fer, tmp_path, capsys):
    out, kept = tmp_path / "emotion.pt", tmp_path / "epochs"
    assert train_emotion.main([
        "--data", str(fer), "--out", str(out), "--checkpoint", str(tmp_path / "ckpt"),
        "--no-cache", "--widths", "8,16", "--convs", "1,1", "--batch", "8", "--epochs", "2",
        "--keep-weights", str(kept),
    ]) == 0
    epochs = sorted(kept.glob("epoch_*.pt"))
    assert [p.name for p in epochs] == ["epoch_001.pt", "epoch_002.pt"]
    averaged = tmp_path / "avg" / "emotion.pt"
    assert average_emotion.main([*map(str, epochs), "--out", str(averaged), "--base", str(out),
                                 "--data", str(fer), "--no-cache"]) == 0
    model, card = load_model("emotion", averaged)
    assert card["weight_average"]["checkpoints"] == 2
    reported = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"]
    assert card["val_accuracy"] == reported
    assert model(torch.zeros(1, 1, 48, 48)).shape == (1, 7)
    a, b = (torch.load(p, weights_only=True) for p in epochs)
    mean = weight_average.averaged_state(epochs)["features.0.weight"]
    assert torch.allclose(mean, (a["features.0.weight"] + b["features.0.weight"]) / 2)
    assert not torch.allclose(mean, a["features.0.weight"])


def test_branches_resumed_with_other_seeds_differ(fer, tmp_path):
    import shutil

    common = ["--data", str(fer), "--no-cache", "--widths", "8,16", "--convs", "1,1",
              "--batch", "8"]
    start = tmp_path / "start.ckpt"
    assert train_emotion.main([*common, "--out", str(tmp_path / "a.pt"), "--checkpoint",
                               str(start), "--epochs", "1"]) == 0
    weights = {}
    for seed in (1, 2):
        branch = tmp_path / f"branch{seed}.ckpt"
        shutil.copy(start, branch)
        kept = tmp_path / f"kept{seed}"
        assert train_emotion.main([*common, "--out", str(tmp_path / f"b{seed}.pt"),
                                   "--checkpoint", str(branch), "--epochs", "2", "--resume",
                                   "--reseed", str(seed), "--keep-weights", str(kept)]) == 0
        weights[seed] = torch.load(kept / "epoch_002.pt", weights_only=True)
    assert not torch.equal(weights[1]["features.0.weight"], weights[2]["features.0.weight"])


def tiny_model(fer, folder, *options):
    """A one-epoch EmotionCNN trained on the generated faces: its .pt path (card beside it)."""
    out = folder / "emotion.pt"
    assert train_emotion.main([
        "--data", str(fer), "--out", str(out), "--checkpoint", str(folder / "ckpt"),
        "--no-cache", "--widths", "8,16", "--convs", "1,1", "--batch", "8", "--epochs", "1",
        *options]) == 0
    return out


def test_members_join_into_an_ensemble_and_export_to_int8(fer, tmp_path, capsys):
    from kpopcam.vision.emotion import EmotionReader
    from training import ensemble_emotion, export_emotion
    from training.torch_forward import torch_emotion_reader

    members = [tiny_model(fer, tmp_path / f"m{seed}", "--seed", str(seed)) for seed in (1, 2)]
    for seconds, member in zip((100, 200), members, strict=True):
        member_card = json.loads(member.with_suffix(".json").read_text())
        member_card["training"]["seconds"] = seconds
        member.with_suffix(".json").write_text(json.dumps(member_card))
    joined = tmp_path / "joined" / "emotion.pt"
    assert ensemble_emotion.main([*map(str, members), "--out", str(joined),
                                  "--data", str(fer), "--no-cache"]) == 0
    model, card = load_model("emotion", joined)
    assert card["architecture"] == "EmotionEnsemble" and len(card["members"]) == 2
    assert [m["val_accuracy"] for m in card["members"]] == [
        json.loads(p.with_suffix(".json").read_text())["val_accuracy"] for p in members]
    assert "onnx" not in card
    assert card["training"]["seconds_single_thread"] == 100 + 200  # the members' CPU time
    with pytest.raises(WeightsError, match="names no ONNX export"):
        EmotionReader(joined)

    capsys.readouterr()
    assert export_emotion.main(["--weights", str(joined), "--data", str(fer), "--no-cache",
                                "--int8", "14"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = json.loads(joined.with_suffix(".json").read_text())
    assert card["onnx"]["file"] == "emotion.onnx" and joined.with_suffix(".onnx").is_file()
    assert card["onnx"]["val_accuracy"] == round(figures["accuracy"], 4)
    # the int8 graph reads the val faces as the float ensemble does
    faces = load(fer, "val").images
    int8 = EmotionReader(joined).probabilities(faces)
    float32 = torch_emotion_reader(joined).probabilities(faces)
    assert EmotionReader(joined).backend == "onnx"
    np.testing.assert_allclose(int8, float32, atol=0.05)
    assert (int8.argmax(1) == float32.argmax(1)).mean() >= 0.9


def test_members_must_share_their_input(fer, tmp_path, capsys):
    from training import ensemble_emotion

    paths = [tiny_model(fer, tmp_path / f"s{side}", "--side", str(side)) for side in (48, 40)]
    with pytest.raises(SystemExit):
        ensemble_emotion.main([*map(str, paths), "--out", str(tmp_path / "x.pt"),
                               "--data", str(fer), "--no-cache"])
    assert "differs from" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
