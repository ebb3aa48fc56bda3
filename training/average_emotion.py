"""Average the emotion CNN's weights over the last epochs of a run (stochastic weight averaging).

    python -m training.average_emotion CKPT [CKPT ...] --out FILE [--data DIR]

Each CKPT is an epoch's weights as `train_emotion --keep-weights DIR` keeps them (or a
training checkpoint, whose "model" is taken). The average of weights taken late in a cosine
schedule sits nearer the middle of the flat region the optimiser wanders around, which
usually generalises better than any single epoch (Izmailov et al. 2018). Batch-norm
statistics do not average: they are measured again with one pass over train/ (no
augmentation). The result is scored on val/ and written, with a model card built from the
card beside --base, to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from kpopcam.models import build
from kpopcam.vision.weights import load_checkpoint, read_card, save_model
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


def averaged_state(paths: list[Path]) -> dict[str, torch.Tensor]:
    states = []
    for path in paths:
        state = load_checkpoint(path)
        states.append(state.get("model", state))
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(s[key] for s in states) / len(states)
        else:
            out[key] = first.clone()  # counters such as num_batches_tracked
    return out


def recalibrate_batch_norm(model: nn.Module, images: torch.Tensor, batch: int = 256) -> None:
    """Running means and variances measured anew over `images`, as a plain average."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches
    model.train()
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            x = batch_inputs(images[start : start + batch], None, None)
            model(x.contiguous(memory_format=CHANNELS_LAST))
    model.eval()


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
    recalibrate_batch_norm(model, train_images)
    _, accuracy, confusion = evaluate(model, *as_tensors(load(args.data, "val", cache)))
    print(f"{len(args.checkpoints)} checkpoints averaged: val accuracy {accuracy:.4f}")
    card = {key: value for key, value in card.items() if key not in ("sha256", "inference")}
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
