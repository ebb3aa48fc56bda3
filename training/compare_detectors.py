"""MTCNN against the Haar cascade on the same photos: faces found, false alarms, speed.

python -m training.compare_detectors DATA   (DATA: ../shared/data, with idols/ and portraits/)

- Idol photos (one face each, tight crops placed on a plain border as kpopcam does): a face is
  found when a box's centre lies on the original photo and its side is at least a third of it;
  every other box is a false alarm.
- Portrait photos (people with person masks): a box whose centre lies on the background (mask
  0) is a false alarm; "person's face found" counts photos with a box on the person.
- Speed: median ms per 640x480 frame (portrait photos resized), one thread.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from training.identity_data import list_photos

FRAME = (640, 480)


def on_border(rgb: np.ndarray, fraction: float = 0.4):
    h, w = rgb.shape[:2]
    dy, dx = round(h * fraction), round(w * fraction)
    fill = [int(v) for v in rgb.reshape(-1, 3).mean(axis=0)]
    padded = cv2.copyMakeBorder(rgb, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=fill)
    return padded, (dx, dy, dx + w, dy + h)


def idol_figures(detector, photos, read_rgb) -> dict:
    found = false_alarms = 0
    for _, path in photos:
        padded, (x1, y1, x2, y2) = on_border(read_rgb(path))
        hits = 0
        for face in detector.detect(padded, color="rgb"):
            cx, cy = face.center
            inside = x1 <= cx <= x2 and y1 <= cy <= y2
            if inside and max(face.width, face.height) >= (x2 - x1) / 3:
                hits += 1
            else:
                false_alarms += 1
        found += hits > 0
        false_alarms += max(0, hits - 1)
    return {"photos": len(photos), "found": found / len(photos),
            "false_alarms_per_photo": false_alarms / len(photos)}


def portrait_figures(detector, pairs, read_rgb) -> dict:
    on_person = false_alarms = 0
    times = []
    for image_path, mask_path in pairs:
        rgb = read_rgb(image_path)
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        mask = cv2.resize(mask, rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        faces = detector.detect(rgb, color="rgb")
        hits = [mask[int(f.center[1]), int(f.center[0])] > 127 for f in faces
                if 0 <= f.center[0] < rgb.shape[1] and 0 <= f.center[1] < rgb.shape[0]]
        on_person += any(hits)
        false_alarms += hits.count(False)
        frame = cv2.resize(rgb, FRAME, interpolation=cv2.INTER_AREA)
        start = time.perf_counter()
        detector.detect(frame, color="rgb")
        times.append((time.perf_counter() - start) * 1000)
    return {"photos": len(pairs), "person_face_found": on_person / len(pairs),
            "false_alarms_per_photo": false_alarms / len(pairs),
            "ms_per_640x480_frame": float(np.median(times))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with idols/ and portraits/")
    parser.add_argument("--idols-per-person", type=int, default=60)
    args = parser.parse_args(argv)

    import torch

    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import HaarDetector, MtcnnDetector

    torch.set_num_threads(1)
    photos = list_photos(args.data / "idols" / "blackpink")
    by_person: dict[str, list] = {}
    for person, path in photos:
        by_person.setdefault(person, []).append((person, path))
    photos = [p for group in by_person.values() for p in group[: args.idols_per_person]]
    images = sorted((args.data / "portraits" / "images").iterdir())
    pairs = [(p, args.data / "portraits" / "masks" / f"{p.stem}.png") for p in images]

    results = {}
    for name, detector in (("mtcnn", MtcnnDetector(min_face_px=20)),
                           ("haar", HaarDetector(min_face_px=20))):
        results[name] = {"idols": idol_figures(detector, photos, read_rgb),
                         "portraits": portrait_figures(detector, pairs, read_rgb)}
        print(name, json.dumps(results[name], indent=1))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
