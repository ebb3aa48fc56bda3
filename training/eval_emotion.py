"""Measure emotion weights on FER2013-style faces (folder per class).

    python -m training.eval_emotion DIR [--weights FILE] [--backend auto|onnx|torch]

Prints overall and per-class accuracy (recall), the confusion matrix and the median
milliseconds per face at batch 1 on one CPU thread (standardize + forward pass, as the app
runs it); the last line is one JSON object with the same figures as fractions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from kpopcam.types import EMOTIONS
from kpopcam.vision.emotion import EmotionReader
from kpopcam.vision.weights import WeightsError
from training.fer2013 import FerDataError, FerSplit, load_folder

TIMED_FACES = 300


def predictions(reader: EmotionReader, images: np.ndarray, batch: int = 500) -> np.ndarray:
    return np.concatenate(
        [reader.probabilities(images[i : i + batch]).argmax(1)
         for i in range(0, len(images), batch)]
    )


def ms_per_face(reader: EmotionReader, images: np.ndarray,
                count: int = TIMED_FACES) -> tuple[float, float]:
    """Medians over `count` faces of one batch-1 call, after a warm-up: (wall clock, CPU
    time of this thread). They differ when other processes compete for the cores."""
    faces = images[:count]
    for face in faces[:20]:
        reader.probabilities(face[None])
    wall, cpu = [], []
    for face in faces:
        start, start_cpu = time.perf_counter(), time.thread_time()
        reader.probabilities(face[None])
        cpu.append(time.thread_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    k = len(EMOTIONS)
    return np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)


def format_confusion(confusion: np.ndarray) -> str:
    short = [e[:7] for e in EMOTIONS]
    lines = ["true \\ predicted " + " ".join(f"{s:>8}" for s in short)]
    for name, row in zip(short, confusion, strict=True):
        lines.append(f"{name:>17} " + " ".join(f"{v:8d}" for v in row))
    return "\n".join(lines)


def evaluate(directory: Path, weights: Path | None = None, backend: str = "auto") -> dict:
    """backend: onnx, the export the app runs; torch, the network itself; auto: onnx when
    the card names an export (freshly trained weights have none)."""
    if backend == "auto":
        from kpopcam.vision.weights import locate, read_card

        backend = "onnx" if read_card(locate("emotion", weights)[1]).get("onnx") else "torch"
    if backend == "torch":
        from training.torch_forward import torch_emotion_reader

        reader = torch_emotion_reader(weights, threads=1)
    else:
        reader = EmotionReader(weights, threads=1)
    return score(reader, load_folder(directory))


def score(reader: EmotionReader, split: FerSplit) -> dict:
    """Accuracy, per-class recall, confusion and ms per face of `reader` on `split`."""
    images = split.images
    if images.shape[1] != reader.side:
        images = np.stack([cv2.resize(im, (reader.side, reader.side),
                                      interpolation=cv2.INTER_AREA) for im in images])
    predicted = predictions(reader, images)
    confusion = confusion_matrix(split.labels, predicted)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(1), 1)
    wall_ms, cpu_ms = ms_per_face(reader, images)
    return {
        "accuracy": float(np.trace(confusion) / max(1, confusion.sum())),
        "per_class": {e: round(float(r), 4) for e, r in zip(EMOTIONS, per_class, strict=True)},
        "ms_per_face": round(wall_ms, 3),
        "cpu_ms_per_face": round(cpu_ms, 3),
        "confusion": confusion,
        "faces": len(split),
        "backend": "onnx" if reader.backend == "onnx" else "torch",
    }


def summary_line(result: dict) -> str:
    """The one JSON line the issue asks for (fractions, not percent)."""
    return json.dumps({"accuracy": round(result["accuracy"], 4), "per_class": result["per_class"],
                       "ms_per_face": result["ms_per_face"]})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dir", type=Path, help="folder with one sub-folder per emotion")
    p.add_argument("--weights", type=Path, help="a .pt other than weights/emotion.pt")
    p.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                   help="onnx: the ONNX export the app runs; torch: the network; auto "
                   "(default): onnx when the card names an export")
    args = p.parse_args(argv)
    try:
        result = evaluate(args.dir, args.weights, args.backend)
    except (FerDataError, WeightsError) as exc:
        print(f"eval_emotion: {exc}", file=sys.stderr)
        return 2
    print(f"{result['faces']} faces in {args.dir} ({result['backend']})")
    print(f"accuracy {result['accuracy']:.4f}")
    for name, value in result["per_class"].items():
        print(f"  {name:>8} {value:.4f}")
    print(format_confusion(result["confusion"]))
    print(f"median {result['ms_per_face']:.3f} ms per face (batch 1, 1 thread, wall clock; "
          f"CPU time {result['cpu_ms_per_face']:.3f} ms; load average {os.getloadavg()[0]:.1f})")
    print(summary_line(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
