"""Train the portrait U-Net on ../shared/data/portraits and write weights/portrait_unet.pt.

python -m training.train_portrait [--data DIR] [--epochs N] [--resume]

A checkpoint (model, optimiser, epoch, best score) is written after every epoch to
training/checkpoints/portrait_unet.ckpt; --resume continues from it. The learning rate is a
function of the epoch alone and augmentation is seeded per epoch, so a resumed run follows
the same course. The weights with the best validation mIoU are the ones written out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from kpopcam import models
from kpopcam.files import atomic_path
from kpopcam.vision.portrait import PersonSegmenter
from kpopcam.vision.weights import load_checkpoint, save_model
from training.eval_portrait import evaluate
from training.portraits_data import (
    DEFAULT_ROOT,
    MEAN,
    STD,
    Augmenter,
    load_samples,
    person_free_backgrounds,
    photo_faces,
    split,
    stems,
    to_tensor_layout,
)
from training.torch_forward import TorchForward
from training.weight_average import save_epoch_weights

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = "PortraitUNet"
FACES_CACHE = ROOT / "training" / "runs" / "portrait_faces.json"  # MTCNN's boxes per photo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--out", type=Path, default=ROOT / "weights" / "portrait_unet.pt")
    p.add_argument(
        "--checkpoint", type=Path, default=ROOT / "training" / "checkpoints" / "portrait_unet.ckpt"
    )
    p.add_argument("--resume", action="store_true")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument(
        "--stop-after-min", type=float, default=None, help="checkpoint and stop after this long"
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--widths", default="16,32,64,128,256")
    p.add_argument("--n-val", type=int, default=32)
    p.add_argument("--val-every", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", type=Path, default=None, help="append one JSON line per epoch here")
    p.add_argument(
        "--prior", action="store_true",
        help="a fourth input channel: the person prior drawn from MTCNN's face boxes",
    )
    p.add_argument(
        "--init", type=Path, default=None,
        help="start from these weights (.pt); a 3-channel first layer gets a zero 4th channel",
    )
    p.add_argument("--faces-cache", type=Path, default=FACES_CACHE)
    p.add_argument("--keep-weights", type=Path, default=None, metavar="DIR",
                   help="keep each epoch's weights in DIR (for training.average_portrait)")
    return p.parse_args(argv)


def learning_rate(base: float, progress: float, total: int, warmup: float = 3.0) -> float:
    """Linear warm-up, then cosine decay to 1 % over `total` epochs; progress in epochs."""
    if progress < warmup:
        return base * (0.1 + 0.9 * progress / warmup)
    t = min(1.0, (progress - warmup) / max(1e-9, total - warmup))
    # a Python float: numpy scalars in the optimiser state cannot be loaded weights_only
    return float(base * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * t))))


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy plus soft Dice (per image), on soft targets."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    total = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (total + 1)
    return bce + dice.mean()


def warm_start(model: torch.nn.Module, pt_path: Path) -> None:
    """Load weights into model; a first layer trained on RGB alone reads the prior as zero."""
    state = load_checkpoint(pt_path)
    stem = model.stem[0].weight
    old = state["stem.0.weight"]
    if old.shape[1] < stem.shape[1]:
        pad = torch.zeros(old.shape[0], stem.shape[1] - old.shape[1], *old.shape[2:])
        state["stem.0.weight"] = torch.cat([old, pad], dim=1)
    model.load_state_dict(state)


def train_epoch(model, optimiser, samples, augment, args, epoch: int) -> float:
    model.train()
    order = np.random.default_rng(args.seed * 1000 + epoch).permutation(len(samples))
    steps = len(order) // args.batch
    losses = []
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(args.lr, epoch + step / steps, args.epochs)
        views = [augment(samples[i]) for i in order[step * args.batch : (step + 1) * args.batch]]
        x = torch.from_numpy(np.stack([to_tensor_layout(v[0], v[2]) for v in views]))
        y = torch.from_numpy(np.stack([v[1] for v in views]))[:, None]
        loss = segmentation_loss(model(x), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def model_card(
    args, arguments: dict, val: list[str], n_train: int, scores: dict, epoch: int, seconds: float
) -> dict:
    return {
        "architecture": ARCHITECTURE,
        "arguments": arguments,
        "task": "person segmentation for portrait mode",
        "output": "one logit per pixel; sigmoid > 0.5 = person",
        "input_size": args.size,
        "input": "RGB, whole frame stretched to input_size x input_size"
        + (
            "; 4th channel: person prior from the frame's face boxes "
            "(kpopcam.vision.person_prior, MTCNN faces with score >= 0.9)"
            if arguments.get("in_channels") == 4
            else ""
        ),
        "normalisation": {
            "mean": list(MEAN),
            "std": list(STD),
            "scale": "pixel / 255, then (x - mean) / std",
        },
        "val_miou": round(scores["miou"], 4),
        "val_iou_person": round(scores["iou_person"], 4),
        "val_iou_background": round(scores["iou_background"], 4),
        "val_miou_mean_of_photos": round(scores["miou_mean_of_photos"], 4),
        "val_ms_per_frame_1_thread": round(scores["ms_per_frame"], 1),
        "epoch": epoch,
        "training_time_s": round(seconds),
        "training": {
            "epochs_planned": args.epochs,
            "batch": args.batch,
            "lr": args.lr,
            "optimiser": "AdamW, weight decay 1e-4, warm-up + cosine",
            "loss": "BCE + soft Dice",
            "augmentation": "random resized crop (zoom in and out), rotation, flip, person "
            "pasted on inpainted person-free backgrounds, hue/saturation/contrast/brightness/"
            "white balance/gamma jitter, grey, blur, noise",
            "command": "python -m training.train_portrait",
            "torch_threads": 1,
        },
        "data": {
            "name": "portraits (232 photos with automatic person masks), ../shared/data/portraits",
            "n_train": n_train,
            "n_val": len(val),
            "split_seed": args.seed,
            "val_stems": val,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    train, val = split(stems(args.data), args.n_val, args.seed)
    faces = photo_faces(args.data, train + val, args.faces_cache) if args.prior else None
    samples = load_samples(args.data, train, faces=faces)
    augment = Augmenter(person_free_backgrounds(samples), args.size, with_prior=args.prior)
    arguments = {"widths": [int(w) for w in args.widths.split(",")], "separable_from": 1}
    if args.prior:
        arguments["in_channels"] = 4
    model = models.build(ARCHITECTURE, arguments)
    if args.init and not args.resume:
        warm_start(model, args.init)
        print(f"started from {args.init}", flush=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    start_epoch, best, elapsed = 0, -1.0, 0.0
    if args.resume and args.checkpoint.is_file():
        ckpt = load_checkpoint(args.checkpoint)
        model.load_state_dict(ckpt["model"])
        optimiser.load_state_dict(ckpt["optimiser"])
        start_epoch, best, elapsed = ckpt["epoch"], ckpt["best_miou"], ckpt["elapsed_s"]
        print(f"resumed at epoch {start_epoch}, best val mIoU {best:.4f}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{len(train)} train / {len(val)} val photos, {n_params / 1e6:.2f} M parameters", flush=True
    )
    began = time.time()
    for epoch in range(start_epoch, args.epochs):
        augment.rng = np.random.default_rng(args.seed * 1000 + epoch)
        t0 = time.time()
        loss = train_epoch(model, optimiser, samples, augment, args, epoch)
        elapsed += time.time() - t0
        record = {"epoch": epoch + 1, "loss": round(loss, 4), "s": round(time.time() - t0, 1)}
        if (epoch + 1) % args.val_every == 0 or epoch + 1 == args.epochs:
            segmenter = PersonSegmenter(TorchForward(model), args.size, MEAN, STD,
                                        in_channels=model.in_channels)
            scores = evaluate(segmenter, args.data, val, faces=faces)
            record.update(val_miou=round(scores["miou"], 4), ms=round(scores["ms_per_frame"], 1))
            if scores["miou"] > best:
                best = scores["miou"]
                card = model_card(args, arguments, val, len(train), scores, epoch + 1, elapsed)
                save_model(model, card, args.out)
                record["saved"] = True
        print(json.dumps(record), flush=True)
        if args.keep_weights:
            save_epoch_weights(model, args.keep_weights, epoch + 1)
        if args.log:
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        state = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "epoch": epoch + 1,
        }
        save_checkpoint(args.checkpoint, {**state, "best_miou": best, "elapsed_s": elapsed})
        if args.stop_after_min and time.time() - began > args.stop_after_min * 60:
            print(f"stopping after epoch {epoch + 1} (time limit); --resume continues", flush=True)
            break
    print(f"best val mIoU {best:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
