"""Does the app's MTCNN (onnxruntime + numpy) find the faces facenet-pytorch's finds, on real
data? Idol photos at the photo settings, clip frames at the photo and the live settings.

    python -m training.compare_mtcnn [DATA] [--photos 200] [--frames 10]

DATA: ../shared/data (idols/ and clips/). Each face of the reference is matched to the ONNX
face with the highest IoU; reported are faces found by one and not the other, the worst IoU,
the worst landmark error (px, largest coordinate difference) and the worst probability
difference, with the image each came from.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from kpopcam.types import iou
from kpopcam.vision.detector import MtcnnDetector

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {"photo": dict(min_face_px=20, scale=1.0), "live": dict(min_face_px=40, scale=0.5)}


def photos(data: Path, count: int) -> list[tuple[str, np.ndarray]]:
    """`count` idol photos spread evenly over idols/ (all groups and people), as BGR."""
    paths = sorted(p for p in (data / "idols").rglob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    chosen = [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]
    images = [(str(p.relative_to(data)), cv2.imread(str(p))) for p in chosen]
    return [(name, image) for name, image in images if image is not None]


def clip_frames(data: Path, per_clip: int) -> list[tuple[str, np.ndarray]]:
    """`per_clip` frames spread over each clip in clips/."""
    frames = []
    for clip in sorted((data / "clips").glob("*/clip.*")):
        capture = cv2.VideoCapture(str(clip))
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        for number in np.linspace(0, max(total - 1, 0), per_clip).round().astype(int):
            capture.set(cv2.CAP_PROP_POS_FRAMES, int(number))
            ok, frame = capture.read()
            if ok:
                frames.append((f"{clip.parent.name}#{number}", frame))
        capture.release()
    return frames


def compare(ours: list, reference: list) -> dict:
    """Unmatched faces and the worst IoU / landmark / probability difference of one image."""
    result = {"faces": len(reference), "missing": 0, "extra": 0, "iou": 1.0, "landmark_px": 0.0,
              "probability": 0.0}
    used = set()
    for ref in reference:
        best = max(range(len(ours)), key=lambda j: iou(ours[j].box, ref.box), default=None)
        if best is None or iou(ours[best].box, ref.box) < 0.5:
            result["missing"] += 1
            continue
        used.add(best)
        face = ours[best]
        result["iou"] = min(result["iou"], iou(face.box, ref.box))
        result["landmark_px"] = max(result["landmark_px"],
                                    float(np.abs(face.landmarks - ref.landmarks).max()))
        result["probability"] = max(result["probability"], abs(face.score - ref.score))
    result["extra"] = len(ours) - len(used)
    return result


def run(images: list, how: str) -> dict:
    from training.mtcnn_torch import TorchMtcnnDetector

    ours, reference = MtcnnDetector(**SETTINGS[how]), TorchMtcnnDetector(**SETTINGS[how])
    summary = {"images": len(images), "faces": 0, "missing": 0, "extra": 0,
               "iou": (1.0, None), "landmark_px": (0.0, None), "probability": (0.0, None)}
    for name, image in images:
        r = compare(ours.detect(image), reference.detect(image))
        for key in ("faces", "missing", "extra"):
            summary[key] += r[key]
        if r["missing"] or r["extra"]:
            print(f"  {how} {name}: {r['missing']} missing, {r['extra']} extra")
        if r["iou"] < summary["iou"][0]:
            summary["iou"] = (r["iou"], name)
        for key in ("landmark_px", "probability"):
            if r[key] > summary[key][0]:
                summary[key] = (r[key], name)
    return summary


def line(what: str, s: dict) -> str:
    return (f"{what}: {s['images']} images, {s['faces']} reference faces, {s['missing']} "
            f"missing, {s['extra']} extra; worst IoU {s['iou'][0]:.6f} ({s['iou'][1]}), "
            f"worst landmark {s['landmark_px'][0]:.4f} px ({s['landmark_px'][1]}), worst "
            f"probability {s['probability'][0]:.2e} ({s['probability'][1]})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data", type=Path, nargs="?", default=REPO.parent / "shared" / "data")
    p.add_argument("--photos", type=int, default=200)
    p.add_argument("--frames", type=int, default=10, help="frames per clip")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    idol_photos, frames = photos(args.data, args.photos), clip_frames(args.data, args.frames)
    print(line("idol photos, photo settings", run(idol_photos, "photo")))
    print(line("clip frames, photo settings", run(frames, "photo")))
    print(line("clip frames, live settings", run(frames, "live")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
