"""Train the emotion CNN the app ships, on FER2013 train/, selecting the epoch on val/.

    python -m training.train_emotion [--data ../shared/data/fer2013] [--epochs 60]

Built for a CPU: the whole split sits in RAM as uint8, augmentation runs batched on tensors,
the forward/backward pass runs in bfloat16 autocast, torch uses one thread. Every epoch writes
a checkpoint (model, optimiser, schedule, history); `--resume` goes on from it, so a run that is
stopped (or `--max-minutes`) continues in a later session with the same learning-rate schedule.
The best epoch on val is written to --out with its model card each time it improves.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kpopcam.models import build
from kpopcam.types import EMOTIONS
from kpopcam.vision.emotion import CROP_SCALE, CROP_SHIFT, standardize
from kpopcam.vision.weights import load_checkpoint, save_model
from training.fer2013 import DEFAULT_ROOT, FerSplit, load
from training.weight_average import save_epoch_weights

REPO = Path(__file__).resolve().parents[1]
CHECKPOINTS = REPO / "training" / "checkpoints"
# NHWC: oneDNN's convolutions run about twice as fast on it on a CPU, in training too.
CHANNELS_LAST = torch.channels_last


@dataclass
class Recipe:
    epochs: int = 60
    batch: int = 128
    lr: float = 0.1  # peak of the warm-up + cosine schedule (SGD, Nesterov momentum 0.9)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    augment: bool = True
    rotate_deg: float = 15.0
    zoom: float = 0.12
    shift: float = 0.1  # fraction of the side
    erase_p: float = 0.5
    bf16: bool = True
    seed: int = 0


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def best_epoch(self) -> int:
        return int(np.argmax(self.val_acc)) if self.val_acc else -1


# ---------------------------------------------------------------- augmentation


def augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    """Random flip, rotation, zoom and shift of a float batch (N, C, H, W), in one warp."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (high - low) + low

    angle = uniform(-recipe.rotate_deg, recipe.rotate_deg) * math.pi / 180
    scale = uniform(1 - recipe.zoom, 1 + recipe.zoom)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, :, 2] = torch.rand(n, 2, generator=gen) * 4 * recipe.shift - 2 * recipe.shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def erase(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Random erasing: with probability p a rectangle of 4-20 % of the image is set to 0."""
    n, _, h, w = x.shape
    area = torch.rand(n, generator=gen) * 0.16 + 0.04
    aspect = torch.exp(torch.rand(n, generator=gen) * 1.4 - 0.7)
    eh = (torch.sqrt(area * aspect) * h).clamp(1, h)
    ew = (torch.sqrt(area / aspect) * w).clamp(1, w)
    y0 = torch.rand(n, generator=gen) * (h - eh)
    x0 = torch.rand(n, generator=gen) * (w - ew)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    inside = (
        (ys >= y0.view(n, 1, 1))
        & (ys < (y0 + eh).view(n, 1, 1))
        & (xs >= x0.view(n, 1, 1))
        & (xs < (x0 + ew).view(n, 1, 1))
    )
    chosen = (torch.rand(n, generator=gen) < p).view(n, 1, 1)
    return x.masked_fill((inside & chosen).unsqueeze(1), 0.0)


def batch_inputs(
    images: torch.Tensor, recipe: Recipe | None, gen: torch.Generator | None
) -> torch.Tensor:
    """uint8 (N, C, H, W) -> model input; augmented when a recipe and generator are given.
    Channel 0 is the grey face (standardized as in the app); further channels (e.g. edges)
    are scaled to 0-1.
    """
    x = images.float()
    if recipe is not None and recipe.augment and gen is not None:
        x = augment(x, recipe, gen)
    grey = torch.from_numpy(standardize(x[:, :1].numpy()))  # the app's own step
    x = torch.cat([grey, x[:, 1:] / 255.0], dim=1) if x.shape[1] > 1 else grey
    if recipe is not None and recipe.augment and gen is not None and recipe.erase_p > 0:
        x = erase(x, recipe.erase_p, gen)
    return x


# ---------------------------------------------------------------- loops


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 500):
    """(mean loss, accuracy, confusion matrix [true, predicted]) in fp32, eval mode."""
    model.eval()
    k = len(EMOTIONS)
    confusion = torch.zeros(k, k, dtype=torch.long)
    total_loss = 0.0
    with torch.inference_mode():
        for start in range(0, len(labels), batch):
            x = batch_inputs(images[start : start + batch], None, None)
            x = x.contiguous(memory_format=CHANNELS_LAST)
            y = labels[start : start + batch]
            logits = model(x).float()
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            confusion += torch.bincount(
                y * k + logits.argmax(1), minlength=k * k
            ).view(k, k)
    accuracy = confusion.diag().sum().item() / max(1, len(labels))
    return total_loss / max(1, len(labels)), accuracy, confusion


def learning_rate(recipe: Recipe, progress: float) -> float:
    """Linear warm-up over the first 10 % from a tenth of the peak, then cosine to zero.
    A function of progress (not a stateful scheduler) so a resumed run may change --epochs.
    """
    warm = 0.1
    if progress < warm:
        return recipe.lr * (0.1 + 0.9 * progress / warm)
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warm) / (1 - warm))))


def train_epoch(model, optimizer, epoch, images, labels, recipe, gen) -> tuple[float, float]:
    model.train()
    order = torch.randperm(len(labels), generator=gen)
    steps = math.ceil(len(order) / recipe.batch)
    total_loss, correct, seen = 0.0, 0, 0
    for step, start in enumerate(range(0, len(order), recipe.batch)):
        index = order[start : start + recipe.batch]
        if len(index) < 2:  # batch-norm needs two samples
            continue
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(recipe, (epoch + step / steps) / recipe.epochs)
        x = batch_inputs(images[index], recipe, gen).contiguous(memory_format=CHANNELS_LAST)
        y = labels[index]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=recipe.bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=recipe.label_smoothing)
        if not torch.isfinite(loss):
            raise FloatingPointError("loss is not finite")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return total_loss / max(1, seen), correct / max(1, seen)


def as_tensors(split: FerSplit) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(np.ascontiguousarray(split.images))
    if images.ndim == 3:
        images = images.unsqueeze(1)
    return images, torch.from_numpy(split.labels)


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    recipe: Recipe,
    checkpoint: Path | None = None,
    resume: bool = False,
    max_minutes: float | None = None,
    on_best: Callable[[nn.Module, History, torch.Tensor], None] | None = None,
    log: Callable[[str], None] = print,
    keep_weights: Path | None = None,
    reseed: int | None = None,
) -> tuple[History, dict | None, bool]:
    """Train with SGD + warm-up/cosine; returns (history, best state dict on val, finished).

    A non-finite loss stops training early and is recorded as NaN in the history.
    keep_weights: a folder that gets each epoch's weights (epoch_NNN.pt), for averaging.
    reseed: on resume, draw augmentation and dropout from this seed instead of going on with
    the checkpoint's random state: two runs resumed from one checkpoint then differ, and the
    average of both runs' weights beats either.
    """
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    model.to(memory_format=CHANNELS_LAST)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True,
        weight_decay=recipe.weight_decay,
    )
    history, best_state, start_epoch = History(), None, 0
    if resume and checkpoint is not None and checkpoint.is_file():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        history = History(**state["history"])
        best_state = state["best"]
        start_epoch = len(history.val_acc)
        log(f"resumed from {checkpoint} after epoch {start_epoch}")
        if reseed is not None:
            gen.manual_seed(reseed)
            torch.manual_seed(reseed)
    began = time.monotonic()
    for epoch in range(start_epoch, recipe.epochs):
        tick = time.monotonic()
        try:
            train_loss, train_acc = train_epoch(
                model, optimizer, epoch, *train, recipe, gen
            )
        except FloatingPointError:
            log(f"epoch {epoch + 1}: loss became NaN, training stopped")
            history.train_loss.append(float("nan"))
            history.train_acc.append(float("nan"))
            history.val_loss.append(float("nan"))
            history.val_acc.append(float("nan"))
            history.seconds.append(time.monotonic() - tick)
            return history, best_state, False
        val_loss, val_acc, confusion = evaluate(model, *val)
        for name, value in (("train_loss", train_loss), ("train_acc", train_acc),
                            ("val_loss", val_loss), ("val_acc", val_acc),
                            ("seconds", time.monotonic() - tick)):
            getattr(history, name).append(value)
        improved = history.best_epoch == epoch
        if improved:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if on_best is not None:
                on_best(model, history, confusion)
        log(
            f"epoch {epoch + 1}/{recipe.epochs}: loss {train_loss:.3f} acc {train_acc:.3f} | "
            f"val loss {val_loss:.3f} acc {val_acc:.4f}{' *' if improved else ''} | "
            f"{history.seconds[-1]:.0f}s"
        )
        if keep_weights is not None:
            save_epoch_weights(model, keep_weights, epoch + 1)
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": gen.get_state(),
                 "history": asdict(history), "best": best_state, "recipe": asdict(recipe)},
                checkpoint,
            )
        out_of_time = max_minutes is not None and (time.monotonic() - began) / 60 > max_minutes
        if out_of_time and epoch + 1 < recipe.epochs:
            log(f"stopped after {max_minutes} min; run again with --resume to go on")
            return history, best_state, False
    return history, best_state, True


# ---------------------------------------------------------------- the shipped model


def per_class_recall(confusion: torch.Tensor) -> dict[str, float]:
    rows = confusion.sum(1).clamp_min(1)
    recall = (confusion.diag().float() / rows).tolist()
    return {name: round(r, 4) for name, r in zip(EMOTIONS, recall, strict=True)}


def model_card(arguments: dict, recipe: Recipe, history: History, confusion: torch.Tensor,
               data: str, train_size: int, side: int) -> dict:
    best = history.best_epoch
    return {
        "architecture": "EmotionCNN",
        "arguments": arguments,
        "input_size": [side, side],
        "preprocessing": (
            f"grey face crop framed like FER2013 (kpopcam.vision.emotion.crop_faces: side "
            f"{CROP_SCALE} x sqrt(box area), centre {CROP_SHIFT} of the side above the box "
            f"centre, resized to {side}x{side}), then kpopcam.vision.emotion.standardize "
            "(per-image mean 0, std 1)"
        ),
        "classes": list(EMOTIONS),
        "val_accuracy": round(history.val_acc[best], 4),
        "val_per_class_recall": per_class_recall(confusion),
        "val_confusion": confusion.tolist(),
        "selected_epoch": best + 1,
        "training": {
            "data": data,
            "train_images": train_size,
            "selection": "FER2013 PublicTest (val/), best epoch",
            "epochs_run": len(history.val_acc),
            "seconds": round(sum(history.seconds)),
            "hardware": f"CPU ({platform.processor() or platform.machine()}), 1 thread, bf16",
            "recipe": asdict(recipe),
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_ROOT),
                   help="FER2013 folder (with train/ and val/) or fer2013.csv")
    p.add_argument("--out", default=str(REPO / "weights" / "emotion.pt"))
    p.add_argument("--checkpoint", default=str(CHECKPOINTS / "emotion.ckpt"))
    p.add_argument("--resume", action="store_true", help="go on from --checkpoint")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop (resumably) after the epoch that passes this time")
    p.add_argument("--epochs", type=int, default=Recipe.epochs)
    p.add_argument("--batch", type=int, default=Recipe.batch)
    p.add_argument("--lr", type=float, default=Recipe.lr)
    p.add_argument("--widths", default="16,32,96,192")
    p.add_argument("--convs", default="2,2,2,2")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--side", type=int, default=48, help="input side in pixels")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-cache", action="store_true", help="do not cache decoded images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reseed", type=int, default=None, metavar="N",
                   help="with --resume: new random draws from seed N (a second branch)")
    p.add_argument("--keep-weights", type=Path, default=None, metavar="DIR",
                   help="keep each epoch's weights in DIR (for training.average_emotion)")
    return p.parse_args(argv)


def resized(split: FerSplit, side: int) -> FerSplit:
    if split.images.shape[1] == side:
        return split
    import cv2

    images = np.stack([cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA)
                       for im in split.images])
    return FerSplit(images, split.labels, split.source)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    cache = None if args.no_cache else CHECKPOINTS / "cache"
    train_split = resized(load(args.data, "train", cache), args.side)
    val_split = resized(load(args.data, "val", cache), args.side)
    print(f"train {len(train_split)} images, val {len(val_split)} images", flush=True)
    recipe = Recipe(epochs=args.epochs, batch=args.batch, lr=args.lr,
                    augment=not args.no_augment, seed=args.seed)
    arguments = {"widths": [int(w) for w in args.widths.split(",")],
                 "convs": [int(c) for c in args.convs.split(",")], "dropout": args.dropout}
    model = build("EmotionCNN", arguments)
    out = Path(args.out)

    def write_best(best_model: nn.Module, history: History, confusion: torch.Tensor) -> None:
        card = model_card(arguments, recipe, history, confusion, args.data,
                          len(train_split), args.side)
        save_model(best_model, card, out)

    history, _, finished = fit(
        model, as_tensors(train_split), as_tensors(val_split), recipe,
        checkpoint=Path(args.checkpoint), resume=args.resume, max_minutes=args.max_minutes,
        on_best=write_best, log=lambda line: print(line, flush=True),
        keep_weights=args.keep_weights, reseed=args.reseed,
    )
    history_path = out.with_name(out.stem + ".history.json")
    if CHECKPOINTS in out.parents or out.parent == REPO / "weights":
        history_path = CHECKPOINTS / (out.stem + ".history.json")
    history_path.parent.mkdir(parents=True, exist_ok=True)
    history_path.write_text(json.dumps(asdict(history), indent=1))
    best = history.best_epoch
    if best >= 0:
        print(f"best val accuracy {history.val_acc[best]:.4f} at epoch {best + 1}; "
              f"weights in {out}; {sum(history.seconds) / 60:.1f} min")
    return 0 if finished else 3


if __name__ == "__main__":
    raise SystemExit(main())
