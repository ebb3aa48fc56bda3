"""The seed report's experiment grid, rerun on FER2013 (train/, selected on val/).

    python -m training.report_grid [--data ../shared/data/fer2013] [--epochs 5] [--sides 32,48]

MLPs (16/64 and 32/128 hidden units, dropout 0/0.2/0.5), a 2-conv CNN with batch-norm, a
3-conv CNN with and without a residual connection from the first to the third conv (dropout
0.2/0.3/0.5), and Canny edges alone and beside the grey face, at 32x32 and 48x48. Like the
report: no augmentation. Unlike it: FER2013 instead of TFD, and a short fixed budget for every
run (SGD + warm-up/cosine, bf16, one CPU thread). Results go to training/plots/report_grid.json
after every run (a stopped grid resumes where it was); the best state of each CNN to
training/checkpoints/grid/ for the filter plots.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from kpopcam.models import build
from training import report_nets  # noqa: F401  (registers the report's networks by name)
from training.fer2013 import DEFAULT_ROOT, FerSplit, load
from training.train_emotion import CHECKPOINTS, REPO, Recipe, fit, per_class_recall, resized

PLOTS = REPO / "training" / "plots"
RESULTS = PLOTS / "report_grid.json"
GRID_STATES = CHECKPOINTS / "grid"
CANNY_THRESHOLDS = (50, 150)


@dataclass(frozen=True)
class Run:
    name: str
    architecture: str
    arguments: dict
    channels: str = "grey"  # grey | canny | grey+canny
    lr: float = 0.05


def grid(side: int) -> list[Run]:
    runs = [
        Run(f"mlp-{a}-{b}-d{d}", "ReportMLP", {"hidden": [a, b], "dropout": d})
        for a, b in ((16, 64), (32, 128)) for d in (0.0, 0.2, 0.5)
    ]
    runs.append(Run("cnn2-bn", "ReportCNN2", {"dropout": 0.3}))
    runs += [
        Run(f"cnn3{'-res' if res else ''}-d{d}", "ReportCNN3", {"dropout": d, "residual": res})
        for res in (False, True) for d in (0.2, 0.3, 0.5)
    ]
    runs.append(Run("cnn3-res-canny", "ReportCNN3", {"dropout": 0.3, "residual": True}, "canny"))
    runs.append(Run("cnn3-res-grey+canny", "ReportCNN3",
                    {"dropout": 0.3, "residual": True, "in_channels": 2}, "grey+canny"))
    return [Run(f"{r.name}@{side}", r.architecture, {**r.arguments, "side": side}, r.channels,
                r.lr) for r in runs]


def canny(images: np.ndarray) -> np.ndarray:
    return np.stack([cv2.Canny(im, *CANNY_THRESHOLDS) for im in images])


def inputs(split: FerSplit, channels: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W): channel 0 is what batch_inputs standardizes (grey, or the edge map
    when edges are the only input), a second channel is scaled to 0-1."""
    planes = {"grey": [split.images], "canny": [canny(split.images)],
              "grey+canny": [split.images, canny(split.images)]}[channels]
    images = torch.from_numpy(np.stack(planes, axis=1))
    return images, torch.from_numpy(split.labels)


def run_one(run: Run, data: dict[int, tuple[FerSplit, FerSplit]], epochs: int) -> dict:
    train, val = data[run.arguments["side"]]
    model = build(run.architecture, run.arguments)
    recipe = Recipe(epochs=epochs, lr=run.lr, augment=False, label_smoothing=0.0)
    confusion_at_best: dict = {}

    def keep(model, history, confusion) -> None:
        confusion_at_best["value"] = confusion
        if run.architecture != "ReportMLP":
            GRID_STATES.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), GRID_STATES / f"{run.name}.pt")

    history, _, finished = fit(
        model, inputs(train, run.channels), inputs(val, run.channels), recipe, on_best=keep,
        log=lambda line: print(f"  {run.name} {line}", flush=True),
    )
    best = history.best_epoch
    confusion = confusion_at_best.get("value")
    return {
        **asdict(run),
        "parameters": sum(p.numel() for p in model.parameters()),
        "val_acc": None if best < 0 else round(history.val_acc[best], 4),
        "best_epoch": best + 1,
        "diverged": not finished,
        "train_acc_at_best": None if best < 0 else round(history.train_acc[best], 4),
        "per_class_recall": None if confusion is None else per_class_recall(confusion),
        "confusion": None if confusion is None else confusion.tolist(),
        "history": asdict(history),
        "seconds": round(sum(history.seconds)),
    }


REPORT_FIGURES = {  # the seed report's figures on TFD, by family
    "mlp": "63.5-73.3", "cnn2": "78.0", "cnn3": "80.1-84.7", "cnn3-res": "82.7-85.2",
    "grey+canny": "49.9", "canny": "diverged (NaN loss)",
}


def family(name: str) -> str:
    base = name.split("@")[0]
    if "canny" in base:
        return "grey+canny" if "grey+canny" in base else "canny"
    if base.startswith("cnn3-res"):
        return "cnn3-res"
    return base.split("-")[0]


def markdown_table(results: dict) -> str:
    """One row per configuration: val accuracy at 32x32 and 48x48 beside the report's."""
    rows = ["| model | params (32 / 48) | report (TFD) | FER2013 val @32 | FER2013 val @48 |",
            "|---|---|---|---|---|"]
    names = dict.fromkeys(n.split("@")[0] for n in results)
    for base in names:
        at = {side: results.get(f"{base}@{side}") for side in (32, 48)}
        cells = [_cell(r) for r in at.values()]
        params = " / ".join(f"{r['parameters'] / 1e3:.0f}k" if r else "-" for r in at.values())
        rows.append(f"| {base} | {params} | {REPORT_FIGURES[family(base)]} | "
                    f"{cells[0]} | {cells[1]} |")
    return "\n".join(rows)


def _cell(run: dict | None) -> str:
    if run is None:
        return "not run"
    if run["val_acc"] is None:
        return "diverged"
    note = " (then NaN)" if run["diverged"] else ""
    return f"{100 * run['val_acc']:.1f} % (train {100 * run['train_acc_at_best']:.0f}){note}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_ROOT))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sides", default="32,48")
    p.add_argument("--only", default="", help="comma-separated run names (default: all)")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--table", action="store_true", help="print results as markdown, run nothing")
    args = p.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.results.read_text())))
        return 0
    torch.set_num_threads(1)
    sides = [int(s) for s in args.sides.split(",")]
    cache = CHECKPOINTS / "cache"
    train, val = load(args.data, "train", cache), load(args.data, "val", cache)
    data = {side: (resized(train, side), resized(val, side)) for side in sides}
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    wanted = set(filter(None, args.only.split(",")))
    for side in sides:
        for run in grid(side):
            if run.name in results or (wanted and run.name not in wanted):
                continue
            tick = time.monotonic()
            results[run.name] = run_one(run, data, args.epochs)
            print(f"{run.name}: val {results[run.name]['val_acc']} "
                  f"({time.monotonic() - tick:.0f}s)", flush=True)
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
