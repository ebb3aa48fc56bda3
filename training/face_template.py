"""Measures FACENET_TEMPLATE: where MTCNN's five landmarks sit, on average, in box crops.

python -m training.face_template DIR   (DIR/<person>/<photo>, e.g. ../shared/data/idols/blackpink)
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from training.identity_data import list_photos


def landmarks_in_box_crop(face, margin: float = 0.0) -> np.ndarray:
    """The face's landmarks as fractions of the square crop that box_crop makes."""
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    return (face.landmarks - [cx - side / 2, cy - side / 2]) / side


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--limit", type=int, default=400)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import MtcnnDetector, detect_in_photo

    detector = MtcnnDetector(min_face_px=20)
    points = []
    photos = list_photos(args.dir)
    for _, path in photos[:: max(1, len(photos) // args.limit)]:
        faces = detect_in_photo(detector, read_rgb(path))
        if faces:
            points.append(landmarks_in_box_crop(faces[0]))
    mean = np.mean(points, axis=0)
    # Make it left-right symmetric: the eyes and mouth corners mirror each other.
    sym = mean.copy()
    for a, b in ((0, 1), (3, 4)):
        y = (mean[a, 1] + mean[b, 1]) / 2
        dx = (mean[b, 0] - mean[a, 0]) / 2
        sym[a], sym[b] = (0.5 - dx, y), (0.5 + dx, y)
    sym[2, 0] = 0.5
    print(f"{len(points)} faces")
    print(np.array2string(sym, precision=4, separator=", "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
