"""Average the emotion CNN's weights over the last epochs of a run (stochastic weight averaging).

    python -m training.average_emotion CKPT [CKPT ...] --out FILE [--data DIR]

Each CKPT is an epoch's weights as `train_emotion --keep-weights DIR` keeps them (or a
training checkpoint, whose "model" is taken); see training/weight_average.py for why.
Batch-norm statistics are measured again with one pass over train/ (no augmentation). The
result is scored on val/ and written, with a model card built from the card beside --base,
to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from kpopcam.models import build
from kpopcam.vision.weights import read_card, save_model
from training.fer2013 import DEFAULT_ROOT, load
from training.train_emotion import (
    CHANNELS_LAST,
    CHECKPOINTS,
    REPO,
    as_tensors,
    batch_inputs,
    evaluate,
    per_class_recall,
)
from training.weight_average import averaged_state, recalibrate_batch_norm


def train_batches(images: torch.Tensor, batch: int = 256):
    for start in range(0, len(images), batch):
        x = batch_inputs(images[start : start + batch], None, None)
        yield x.contiguous(memory_format=CHANNELS_LAST)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--base", type=Path, default=REPO / "weights" / "emotion.pt",
                   help="weights whose card gives the architecture and training facts")
    p.add_argument("--data", default=str(DEFAULT_ROOT))
    p.add_argument("--no-cache", action="store_true", help="do not cache decoded images")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    card = read_card(args.base.with_suffix(".json"))
    model = build(card["architecture"], card["arguments"])
    model.load_state_dict(averaged_state(args.checkpoints))
    model.to(memory_format=CHANNELS_LAST)
    cache = None if args.no_cache else CHECKPOINTS / "cache"
    train_images, _ = as_tensors(load(args.data, "train", cache))
    recalibrate_batch_norm(model, train_batches(train_images))
    _, accuracy, confusion = evaluate(model, *as_tensors(load(args.data, "val", cache)))
    print(f"{len(args.checkpoints)} checkpoints averaged: val accuracy {accuracy:.4f}")
    card = {key: value for key, value in card.items() if key not in ("sha256", "inference", "onnx")}
    card.update(
        val_accuracy=round(accuracy, 4),
        val_per_class_recall=per_class_recall(confusion),
        val_confusion=confusion.tolist(),
        weight_average={
            "checkpoints": len(args.checkpoints),
            "how": "mean of the weights after each of the last epochs; batch-norm statistics "
            "measured again over train/ (python -m training.average_emotion)",
        },
    )
    save_model(model, card, args.out)
    print(json.dumps({"accuracy": round(accuracy, 4), "out": str(args.out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
