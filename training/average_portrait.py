"""Average the portrait U-Net's weights over the last epochs of a run (weight averaging).

    python -m training.average_portrait EPOCH.pt [EPOCH.pt ...] --out FILE [--data DIR]

Each EPOCH.pt is an epoch's weights as `train_portrait --keep-weights DIR` keeps them (or a
training checkpoint); see training/weight_average.py for why. Batch-norm statistics are
measured again over the training photos as portrait mode sees them (whole photo stretched to
the input size, with the person prior of its faces when the model reads one). The result is
scored on the card's validation photos and written, with a model card built from the card
beside --base, to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kpopcam import models
from kpopcam.vision.portrait import PersonSegmenter
from kpopcam.vision.weights import read_card, save_model
from training.eval_portrait import evaluate
from training.portraits_data import (
    DEFAULT_ROOT,
    MEAN,
    STD,
    photo_faces,
    read_pair,
    stems,
)
from training.torch_forward import TorchForward
from training.train_portrait import FACES_CACHE, ROOT
from training.weight_average import averaged_state, recalibrate_batch_norm


def photo_batches(segmenter: PersonSegmenter, root: Path, chosen: list[str],
                  faces: dict | None, batch: int = 16):
    """The photos exactly as the network sees them in portrait mode, in batches."""
    views = []
    for stem in chosen:
        image, _ = read_pair(root, stem)
        views.append(segmenter.input_array(image, (faces or {}).get(stem, [])))
    for start in range(0, len(views), batch):
        yield torch.from_numpy(np.stack(views[start : start + batch]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("weights", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--base", type=Path, default=ROOT / "weights" / "portrait_unet.pt",
                   help="weights whose card gives the architecture, input and split")
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--faces-cache", type=Path, default=FACES_CACHE)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    card = read_card(args.base.with_suffix(".json"))
    model = models.build(card["architecture"], card["arguments"])
    model.load_state_dict(averaged_state(args.weights))
    val = card["data"]["val_stems"]
    train = [s for s in stems(args.data) if s not in set(val)]
    prior = card["arguments"].get("in_channels", 3) == 4
    faces = photo_faces(args.data, train + val, args.faces_cache) if prior else None
    segmenter = PersonSegmenter(TorchForward(model), card["input_size"], MEAN, STD,
                                in_channels=model.in_channels)
    recalibrate_batch_norm(model, photo_batches(segmenter, args.data, train, faces))
    scores = evaluate(segmenter, args.data, val, faces=faces)
    print(f"{len(args.weights)} epochs averaged: val mIoU {scores['miou']:.4f}")
    card = {key: value for key, value in card.items() if key != "sha256"}
    card.update(
        val_miou=round(scores["miou"], 4),
        val_iou_person=round(scores["iou_person"], 4),
        val_iou_background=round(scores["iou_background"], 4),
        val_miou_mean_of_photos=round(scores["miou_mean_of_photos"], 4),
        weight_average={
            "epochs": len(args.weights),
            "how": "mean of the weights after each of the last epochs; batch-norm statistics "
            "measured again over the training photos (python -m training.average_portrait)",
        },
    )
    save_model(model, card, args.out)
    print(json.dumps({"miou": round(scores["miou"], 4), "out": str(args.out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
