"""Figures for training/RESULTS.md: learning curves, confusion matrices, conv filters.

    python -m training.emotion_plots

Reads the shipped weights (weights/emotion.pt), the production runs' histories
(training/plots/emotion_history*.json; --history copies more there) and the grid's results
(training/plots/report_grid.json with training/checkpoints/grid/*.pt), writes PNGs into
training/plots/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state

from kpopcam.models import build
from kpopcam.types import EMOTIONS
from kpopcam.vision.weights import load_model, load_state_dict
from training.report_grid import GRID_STATES, PLOTS, RESULTS, family

DPI = 80


def plot_curves(histories: dict[str, dict], path: Path, title: str) -> None:
    fig = Figure(figsize=(10, 3.8))
    loss_ax, acc_ax = fig.subplots(1, 2)
    colors = matplotlib.colormaps["tab10"].colors
    for (name, h), color in zip(histories.items(), colors, strict=False):
        epochs = np.arange(1, len(h["val_acc"]) + 1)
        loss_ax.plot(epochs, h["train_loss"], "--", color=color)
        loss_ax.plot(epochs, h["val_loss"], "-", color=color, label=name)
        acc_ax.plot(epochs, h["train_acc"], "--", color=color)
        acc_ax.plot(epochs, h["val_acc"], "-", color=color, label=name)
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss (dashed: train, solid: val)")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy (dashed: train, solid: val)")
    acc_ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def plot_confusions(confusions: dict[str, list], path: Path) -> None:
    fig = Figure(figsize=(4.2 * len(confusions), 4))
    axes = fig.subplots(1, len(confusions))
    for ax, (name, matrix) in zip(np.atleast_1d(axes), confusions.items(), strict=True):
        m = np.asarray(matrix, dtype=float)
        m = m / np.maximum(m.sum(1, keepdims=True), 1)
        ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(EMOTIONS)):
            for j in range(len(EMOTIONS)):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if m[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(EMOTIONS)), [e[:3] for e in EMOTIONS], fontsize=7)
        ax.set_yticks(range(len(EMOTIONS)), [e[:3] for e in EMOTIONS], fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title=name)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def conv_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [m.weight.detach() for m in model.modules() if isinstance(m, torch.nn.Conv2d)
            and m.kernel_size != (1, 1)]


def plot_filters(model: torch.nn.Module, path: Path, title: str, max_out: int = 16) -> None:
    """First-layer filters (one 3x3 image each) and second-layer filters (one row per output
    channel, one 3x3 image per input channel), as the report's figure 5."""
    first, second = conv_weights(model)[:2]
    first = first[:, 0]
    second = second[:max_out, : min(second.shape[1], 16)]
    fig = Figure(figsize=(9, 4.6))
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 2.2])
    left = grid[0].subgridspec(int(np.ceil(len(first) / 4)), 4, wspace=0.1, hspace=0.1)
    for i, w in enumerate(first):
        ax = fig.add_subplot(left[i // 4, i % 4])
        ax.imshow(w, cmap="gray")
        ax.axis("off")
    right = grid[1].subgridspec(second.shape[0], second.shape[1], wspace=0.05, hspace=0.05)
    for o in range(second.shape[0]):
        for i in range(second.shape[1]):
            ax = fig.add_subplot(right[o, i])
            ax.imshow(second[o, i], cmap="gray")
            ax.axis("off")
    fig.suptitle(f"{title}: layer 1 ({len(first)} filters, left), layer 2 (rows: first "
                 f"{second.shape[0]} outputs, columns: {second.shape[1]} inputs)", fontsize=9)
    fig.savefig(path, dpi=DPI)


def production_figures(new_histories: list[Path]) -> None:
    """Curves of every run kept in training/plots/ (emotion_history*.json; new_histories are
    copied there first), the shipped model's confusion and its first member's filters."""
    model, card = load_model("emotion")
    for path in new_histories:
        if path.is_file():
            kept = PLOTS / f"emotion_history_{path.parent.name}.json"
            if path.resolve() != kept.resolve():
                shutil.copy(path, kept)
    histories = {path.stem.removeprefix("emotion_history").strip("_") or "first run":
                 json.loads(path.read_text())
                 for path in sorted(PLOTS.glob("emotion_history*.json"))}
    if histories:
        plot_curves(histories, PLOTS / "production_curves.png",
                    "production runs, FER2013 train / val")
    plot_confusions({f"production (val {card['val_accuracy']:.3f})": card["val_confusion"]},
                    PLOTS / "production_confusion.png")
    plot_filters(model, PLOTS / "production_filters.png",
                 "production EmotionCNN" if card["architecture"] == "EmotionCNN"
                 else "production ensemble, member 1")


def grid_figures() -> None:
    results = json.loads(RESULTS.read_text())
    for side in (32, 48):
        runs = {n: r for n, r in results.items() if n.endswith(f"@{side}")}
        if not runs:
            continue
        shown = best_of_each_family(runs)
        plot_curves({n: runs[n]["history"] for n in shown}, PLOTS / f"grid_curves_{side}.png",
                    f"report grid at {side}x{side}")
        plot_confusions({f"{n} ({runs[n]['val_acc']:.3f})": runs[n]["confusion"]
                         for n in shown if runs[n]["confusion"] and "mlp" not in n},
                        PLOTS / f"grid_confusion_{side}.png")
    best_cnn = max((n for n in results if n.startswith("cnn3-res-d")),
                   key=lambda n: results[n]["val_acc"] or 0, default=None)
    if best_cnn and (GRID_STATES / f"{best_cnn}.pt").is_file():
        run = results[best_cnn]
        model = build(run["architecture"], run["arguments"])
        model.load_state_dict(load_state_dict(GRID_STATES / f"{best_cnn}.pt"))
        plot_filters(model, PLOTS / "grid_filters.png", best_cnn)


def best_of_each_family(runs: dict[str, dict]) -> list[str]:
    """The best run of each kind: MLP, CNN-2, CNN-3, CNN-3 + residual, Canny, grey + Canny."""
    best: dict[str, str] = {}
    for name, run in runs.items():
        current = best.get(family(name))
        if current is None or (run["val_acc"] or 0) > (runs[current]["val_acc"] or 0):
            best[family(name)] = name
    return list(best.values())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--history", type=Path, nargs="*", default=[],
                   help="a run's emotion.history.json to keep beside the others and plot")
    p.add_argument("--skip-grid", action="store_true")
    args = p.parse_args(argv)
    PLOTS.mkdir(parents=True, exist_ok=True)
    production_figures(args.history)
    if not args.skip_grid and RESULTS.is_file():
        grid_figures()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
