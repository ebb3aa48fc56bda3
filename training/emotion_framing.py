"""Measure how FER2013's 48x48 framing relates to the MTCNN box, for crop_faces.

    python -m training.emotion_framing [DIR] [--faces 200]

Each face is upscaled 3x and run through the app's detector; prints the median of
(FER frame side / sqrt(box width x box height)) and of the box centre's offset from the frame
centre (fractions of the frame side). kpopcam.vision.emotion.CROP_SCALE/CROP_SHIFT come from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from kpopcam.vision.detector import MtcnnDetector, detect_in_photo
from training.fer2013 import DEFAULT_ROOT, load_folder

UPSCALE = 3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("dir", type=Path, nargs="?", default=DEFAULT_ROOT / "val")
    p.add_argument("--faces", type=int, default=200)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    split = load_folder(args.dir)
    step = max(1, len(split) // args.faces)
    detector = MtcnnDetector(min_face_px=20)
    scales, dx, dy = [], [], []
    for image in split.images[::step][: args.faces]:
        side = image.shape[0] * UPSCALE
        rgb = cv2.cvtColor(cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC),
                           cv2.COLOR_GRAY2RGB)
        faces = detect_in_photo(detector, rgb)
        if not faces:
            continue
        face = faces[0]
        scales.append(side / np.sqrt(face.width * face.height))
        dx.append(face.center[0] / side - 0.5)
        dy.append(face.center[1] / side - 0.5)
    print(f"{len(scales)} of {args.faces} faces found")
    print(f"frame side / sqrt(box area): median {np.median(scales):.3f}")
    print(f"box centre - frame centre: x {np.median(dx):+.3f}, y {np.median(dy):+.3f} "
          "(fractions of the frame side)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
