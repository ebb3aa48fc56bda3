"""Median time per call of each model, the app's ONNX export against the torch network.

    python -m training.bench_backends [--repeats 50]

One thread for both (the app's setting), batch 1, after a warm-up, on the public-domain
astronaut photo: FaceNet on one aligned face (plain and flip-averaged, as the app embeds), the
portrait U-Net on the whole photo with its face (resize, normalise, network), and the emotion
CNN on one face. Medians of the wall clock and of the thread's CPU time per call. The last
line is one JSON object: {model: {"onnx": {"wall": ms, "cpu": ms}, "torch": {...}}}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from skimage import data

from kpopcam.types import Face
from kpopcam.vision.embedder import FaceEmbedder
from kpopcam.vision.emotion import EmotionReader, crop_faces
from kpopcam.vision.portrait import PersonSegmenter
from training.torch_forward import torch_emotion_reader, torch_face_embedder, torch_segmenter

FACE = Face((181.0, 62.0, 268.0, 172.0), 1.0)


def median_ms(backends: dict[str, object], repeats: int) -> dict[str, dict[str, float]]:
    """{backend: {"wall": ms, "cpu": ms}}, medians per call of the wall clock and of this
    thread's CPU time (both run on the calling thread with one intra-op thread; the CPU time
    is less moved by other processes on a shared machine). The backends take turns call by
    call, so that a burst of load from elsewhere hits them alike."""
    warm_up = max(3, repeats // 10)
    wall: dict[str, list[float]] = {b: [] for b in backends}
    cpu: dict[str, list[float]] = {b: [] for b in backends}
    for i in range(warm_up + repeats):
        for backend, call in backends.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            call()
            if i >= warm_up:
                wall[backend].append((time.perf_counter() - start) * 1000)
                cpu[backend].append((time.thread_time() - start_cpu) * 1000)
    return {b: {"wall": round(statistics.median(wall[b]), 2),
                "cpu": round(statistics.median(cpu[b]), 2)} for b in backends}


def calls() -> dict[str, dict[str, object]]:
    rgb = data.astronaut()
    crop = np.stack([np.asarray(rgb[62:222, 145:305])])  # 160x160 around the face
    grey = crop_faces(rgb, [FACE], color="rgb")
    embedders = {"onnx": FaceEmbedder(), "torch": torch_face_embedder()}
    segmenters = {"onnx": PersonSegmenter.from_weights(), "torch": torch_segmenter()}
    readers = {"onnx": EmotionReader(), "torch": torch_emotion_reader()}
    box = [FACE.box]
    return {
        "facenet_face": {b: (lambda e=e: e.embed(crop)) for b, e in embedders.items()},
        "facenet_face_flip": {b: (lambda e=e: e.embed(crop, flip=True))
                              for b, e in embedders.items()},
        "portrait_unet_frame": {b: (lambda s=s: s.low_res(rgb, box))
                                for b, s in segmenters.items()},
        "emotion_face": {b: (lambda r=r: r.probabilities(grey)) for b, r in readers.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args(argv)
    result = {}
    for model, backends in calls().items():
        result[model] = median_ms(backends, args.repeats)
        print(f"{model:20} " + "  ".join(f"{b} {t['wall']:7.2f} ms (cpu {t['cpu']:7.2f})"
                                           for b, t in result[model].items()))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
