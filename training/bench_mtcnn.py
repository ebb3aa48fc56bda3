"""How long face detection takes per frame: the app's MTCNN (onnxruntime + numpy) against
facenet-pytorch's, one thread, at the live settings (or those given).

    python -m training.bench_mtcnn [--clip ../shared/data/clips/crowd-1080p/clip.mp4]
        [--frame 60] [--runs 30] [--min-face 40] [--scale 0.5] [--factor 0.709]

One frame of the clip at 1920x1080 and the same frame resized to 640x480. The two detectors
take turns run by run, so that a busy machine slows both alike. Medians in ms per frame, split
into the three networks and the rest (resizing, pyramid, NMS, crops).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from kpopcam.vision.detector import MtcnnDetector
from kpopcam.vision.threads import INFERENCE_THREADS

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "clips" / "crowd-1080p" / "clip.mp4"


class _Timed:
    """Wraps a network (ONNX model or torch module) and adds each call's time to `spent`."""

    def __init__(self, net, name: str, spent: dict, method: str):
        self.net, self.name, self.spent, self.method = net, name, spent, method

    def _run(self, fn, x):
        start = time.perf_counter()
        out = fn(x)
        self.spent[self.name] += time.perf_counter() - start
        return out

    def __call__(self, x):
        return self._run(self.net, x)

    def outputs(self, x):
        return self._run(self.net.outputs, x)

    def parameters(self):  # facenet-pytorch asks P-Net for its dtype
        return self.net.parameters()


def timed_onnx(detector: MtcnnDetector, spent: dict) -> None:
    nets = detector._mtcnn.nets
    for name in ("pnet", "rnet", "onet"):
        setattr(nets, name, _Timed(getattr(nets, name), name, spent, "outputs"))


def timed_torch(detector, spent: dict) -> None:
    for name in ("pnet", "rnet", "onet"):
        net = getattr(detector.mtcnn, name)
        # not a Module: assigned through the instance dict so nn.Module's setattr allows it
        object.__setattr__(detector.mtcnn, name, _Timed(net, name, spent, "call"))
        detector.mtcnn._modules.pop(name, None)


def frame_of(clip: Path, number: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_POS_FRAMES, number)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read frame {number} of {clip}")
    return frame


def measure(detectors: dict, frame: np.ndarray, runs: int) -> dict:
    """Median ms per frame per detector: total, each network, the rest."""
    times: dict = {name: defaultdict(list) for name in detectors}
    faces = {}
    for _ in range(runs + 2):
        for name, (detector, spent) in detectors.items():
            spent.clear()
            start = time.perf_counter()
            faces[name] = len(detector.detect(frame))
            total = time.perf_counter() - start
            times[name]["total"].append(total)
            for net in ("pnet", "rnet", "onet"):
                times[name][net].append(spent[net])
            times[name]["rest"].append(total - sum(spent.values()))
    return {name: {"faces": faces[name], **{k: round(1000 * statistics.median(v[2:]), 1)
                                             for k, v in t.items()}}
            for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clip", type=Path, default=CLIP)
    p.add_argument("--frame", type=int, default=60)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--min-face", type=int, default=40, help="live.min_face_px")
    p.add_argument("--scale", type=float, default=0.5, help="live.detect_scale")
    p.add_argument("--factor", type=float, default=0.709, help="live.pyramid_factor")
    args = p.parse_args(argv)
    import torch

    from training.mtcnn_torch import TorchMtcnnDetector

    torch.set_num_threads(INFERENCE_THREADS)
    settings = dict(min_face_px=args.min_face, scale=args.scale, factor=args.factor)
    onnx, reference = MtcnnDetector(**settings), TorchMtcnnDetector(**settings)
    detectors = {"onnx": (onnx, defaultdict(float)), "torch": (reference, defaultdict(float))}
    timed_onnx(onnx, detectors["onnx"][1])
    timed_torch(reference, detectors["torch"][1])
    full = frame_of(args.clip, args.frame)
    print(f"{args.clip} frame {args.frame}; {settings}; {INFERENCE_THREADS} thread; "
          f"medians of {args.runs} runs, ms per frame")
    print("size       detector  faces  total   pnet   rnet   onet   rest")
    for size in ((640, 480), (1920, 1080)):
        frame = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
        with torch.no_grad():
            result = measure(detectors, frame, args.runs)
        for name, r in result.items():
            print(f"{size[0]}x{size[1]:<6} {name:8}  {r['faces']:5}  {r['total']:5}  "
                  f"{r['pnet']:5}  {r['rnet']:5}  {r['onet']:5}  {r['rest']:5}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
