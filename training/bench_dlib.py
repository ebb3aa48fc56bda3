"""dlib's face recogniser in onnxruntime (dlib-onnx) against dlib-bin and FaceNet-CASIA: time
per face, and what each does to the other threads (the GIL).

    python -m training.bench_dlib [--repeats 30] [--sleeps 200]

Speed: one face of the public-domain astronaut photo, `embed_faces` as the app calls it
(landmarks or alignment, chip, network), without and with flip averaging, one thread, the
embedders taking turns call by call; medians of the wall clock and of the thread's CPU time
(training.bench_backends.median_ms). dlib-onnx's parts are timed too: its numpy landmarks,
the landmarks and the chip together, its network on one chip.

GIL: a second thread embeds the face in a loop (flip off) while the main thread times
`time.sleep(0.002)` `--sleeps` times; the median and largest time a 2 ms sleep takes to come
back. A Python thread that keeps the GIL through its model's call stalls every other thread
(the GUI's included) for that long. The last line is one JSON object of all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import numpy as np
from skimage import data

from kpopcam.settings import Settings
from kpopcam.types import Face
from kpopcam.vision.detector import photo_detector
from kpopcam.vision.identity import make_embedder
from training.bench_backends import median_ms


def sleep_delays(embedder, rgb: np.ndarray, face: Face, sleeps: int) -> dict[str, float]:
    """Median and largest wall time (ms) of a 2 ms sleep while another thread embeds."""
    stop = threading.Event()

    def embed_forever() -> None:
        while not stop.is_set():
            embedder.embed_faces(rgb, [face], flip=False)

    worker = threading.Thread(target=embed_forever, daemon=True)
    worker.start()
    time.sleep(0.5)  # the worker is inside its loop
    delays = []
    for _ in range(sleeps):
        start = time.perf_counter()
        time.sleep(0.002)
        delays.append((time.perf_counter() - start) * 1000)
    stop.set()
    worker.join()
    return {"median": round(statistics.median(delays), 2), "max": round(max(delays), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--sleeps", type=int, default=200)
    p.add_argument("--embedders", nargs="+", default=["dlib-onnx", "dlib", "casia-webface"])
    args = p.parse_args(argv)
    rgb = data.astronaut()
    face = photo_detector(Settings()).detect(rgb, color="rgb")[0]  # the app's MTCNN
    embedders = {kind: make_embedder(kind) for kind in args.embedders}
    result: dict[str, dict] = {}
    for flip in (False, True):
        calls = {kind: (lambda e=e, f=flip: e.embed_faces(rgb, [face], flip=f))
                 for kind, e in embedders.items()}
        result["flip" if flip else "plain"] = median_ms(calls, args.repeats)
    if "dlib-onnx" in embedders:
        ours = embedders["dlib-onnx"]
        box = tuple(round(v) for v in face.box)
        chip = ours.chips(rgb, [face])
        x = np.ascontiguousarray(np.stack(chip).transpose(0, 3, 1, 2), dtype=np.float32)
        result["dlib-onnx parts"] = median_ms({
            "landmarks": lambda: ours.landmarks(rgb, box),
            "landmarks_and_chip": lambda: ours.chips(rgb, [face]),
            "network": lambda: ours.forward(x)}, args.repeats)
    result["sleep_2ms_while_embedding"] = {kind: sleep_delays(e, rgb, face, args.sleeps)
                                           for kind, e in embedders.items()}
    for name, figures in result.items():
        print(f"{name:26} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
