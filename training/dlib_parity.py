"""dlib's face recogniser in onnxruntime against dlib-bin, and its chips against dlib's.

    python -m training.dlib_parity PHOTOS... [--limit N] [--card "WHICH PHOTOS"]

PHOTOS: photo files or folders (searched recursively for .jpg/.jpeg/.png), e.g.
kpopcam/assets ../shared/data/clips/*/enrol ../shared/data/portraits/images (public data the
template may be fitted on), or ../shared/data/idols/blackpink (measurement only). For the
largest MTCNN face of each photo, dlib-bin's 5-point shape predictor in the MTCNN box and
get_face_chip make dlib's chip; then:

- parity: the largest absolute difference between the ONNX export's descriptors and dlib-bin's
  compute_face_descriptor on those same chips;
- cut: the chip cut by kpopcam.vision.dlib_chip.face_chip at dlib's own points against
  dlib's chip (mean absolute pixel difference, share of chips equal to the pixel; cosine of
  the two descriptors);
- landmarks: how often the numpy shape predictor (kpopcam.vision.dlib_landmarks) gives
  dlib-bin's five points exactly, and the largest difference in pixels;
- app: the app's chip (numpy landmarks, then that cut) against dlib's chip, the same two
  figures as for the cut.

--card writes the figures into the export's card (weights/dlib_resnet.json, "parity", with
the photos described as given): only for public photos, not the measurement-only idols.
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
from pathlib import Path

import numpy as np

from kpopcam.vision import dlib_onnx, weights
from kpopcam.vision.dlib_chip import face_chip
from kpopcam.vision.dlib_embedder import unit_rows

DLIB_POINTS = dlib_onnx.CHIP_POINTS


def photo_paths(items: list[str]) -> list[Path]:
    paths = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(p for p in item.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg",
                                                                                 ".png"))
        else:
            paths.append(item)
    return paths


def largest_faces(paths: list[Path]):
    import torch

    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import MtcnnDetector, detect_in_photo

    torch.set_num_threads(1)
    detector = MtcnnDetector(min_face_px=20)
    for path in paths:
        rgb = read_rgb(path)
        faces = detect_in_photo(detector, rgb)
        if faces and faces[0].landmarks is not None:
            yield path, rgb, faces[0]


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(unit_rows(a) * unit_rows(b), axis=1)


def measure(paths: list[Path]) -> dict:
    import dlib

    predictor_path, recogniser_path = weights.dlib_model_paths()
    predictor = dlib.shape_predictor(str(predictor_path))
    recogniser = dlib.face_recognition_model_v1(str(recogniser_path))
    embedder = dlib_onnx.DlibOnnxEmbedder()
    size = dlib_onnx.CHIP_SIZE
    dlib_chips, cut_chips, app_chips, point_diffs = [], [], [], []
    for _, rgb, face in largest_faces(paths):
        x1, y1, x2, y2 = (round(v) for v in face.box)
        shape = predictor(rgb, dlib.rectangle(x1, y1, x2, y2))
        points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], float)
        dlib_chips.append(dlib.get_face_chip(rgb, shape, size, 0.25))
        cut_chips.append(face_chip(rgb, DLIB_POINTS * size, points, size))
        app_chips.append(embedder.chips(rgb, [face])[0])
        ours = embedder.landmarks(rgb, (x1, y1, x2, y2))
        point_diffs.append(np.abs(ours - points).max())
    reference = np.array([list(d) for d in recogniser.compute_face_descriptor(dlib_chips)])
    ours = _forward(embedder, dlib_chips)
    result = {"faces": len(dlib_chips),
              "parity_max_abs_diff": float(np.abs(ours - reference).max()),
              "parity_median_abs_diff": float(np.median(np.abs(ours - reference))),
              "landmarks_exact": float(np.mean(np.array(point_diffs) == 0)),
              "landmarks_max_diff_px": float(np.max(point_diffs))}
    for name, chips in (("cut", cut_chips), ("app", app_chips)):
        pixels = np.abs(np.stack(chips).astype(int) - np.stack(dlib_chips).astype(int))
        cosines = _cosine(_forward(embedder, chips), reference)
        result[name] = {"mean_abs_pixel_diff": float(pixels.mean()),
                        "chips_equal": float(np.mean(pixels.max(axis=(1, 2, 3)) == 0)),
                        "cosine_vs_dlib_min": float(cosines.min()),
                        "cosine_vs_dlib_median": float(np.median(cosines)),
                        "cosine_vs_dlib_mean": float(cosines.mean())}
    return result


def _forward(embedder, chips: list[np.ndarray], batch: int = 32) -> np.ndarray:
    return np.concatenate([embedder.forward(_nchw(chips[i : i + batch]))
                           for i in range(0, len(chips), batch)])


def _nchw(chips: list[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(np.stack(chips).transpose(0, 3, 1, 2), dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("photos", nargs="+")
    p.add_argument("--limit", type=int, default=0, help="at most N photos, evenly spread")
    p.add_argument("--card", metavar="WHICH_PHOTOS", help="write the figures into the card")
    args = p.parse_args(argv)
    paths = photo_paths(args.photos)
    if args.limit and len(paths) > args.limit:
        paths = paths[:: len(paths) // args.limit][: args.limit]
    result = measure(paths)
    print(json.dumps(result))
    if args.card:
        _, card_path = weights.find_weights(dlib_onnx.NAME, ".onnx")
        card = weights.read_card(card_path)
        card["parity"] = {**result, "photos": args.card,
                          "dlib": f"dlib-bin {metadata.version('dlib-bin')}"}
        weights.write_card(card_path, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
