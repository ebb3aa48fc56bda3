"""Measure the portrait U-Net: mIoU against person masks and the median time per frame.

python -m training.eval_portrait DIR [--weights FILE] [--val | --stems a,b,...] [--refined]
    [--backend auto|onnx|torch]

DIR holds images/ and masks/ with the same stems; each mask is resized to its photo with
nearest-neighbour. A model that reads a person prior gets the faces MTCNN finds on each
photo (as `kpopcam portrait` does; the boxes are cached in training/runs/, and the time
reported is the network's alone). The prediction is upsampled to the photo's size (bilinear, or with
--refined the edge-aware upsampling that portrait mode uses) and cut at 0.5.
mIoU is the mean of person IoU and background IoU, with intersections and unions summed
over all photos (per-photo figures are printed too). Time: one thread (--backend onnx: the
app's onnxruntime export; torch: the network itself), the model's input size,
resize + normalise + network, median over the photos after a warm-up.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from kpopcam.vision.portrait import PersonSegmenter, refine_alpha
from training.portraits_data import read_pair, stems


def iou_pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(intersections, unions) for background and person, as two 2-vectors."""
    inter = np.array([np.sum(~pred & ~truth), np.sum(pred & truth)], np.int64)
    union = np.array([np.sum(~pred | ~truth), np.sum(pred | truth)], np.int64)
    return inter, union


def evaluate(
    segmenter: PersonSegmenter, root: Path, chosen: list[str], refined: bool = False,
    faces: dict | None = None,
) -> dict:
    """faces: {stem: face boxes} (training.portraits_data.photo_faces), for a model that
    reads a person prior."""
    inter_sum = np.zeros(2, np.int64)
    union_sum = np.zeros(2, np.int64)
    per_photo, times = {}, []
    segmenter.low_res(np.zeros((64, 64, 3), np.uint8))  # warm-up
    for stem in chosen:
        image, mask = read_pair(root, stem)
        start = time.perf_counter()
        prob = segmenter.low_res(image, (faces or {}).get(stem, []))
        times.append((time.perf_counter() - start) * 1000)
        h, w = mask.shape
        if refined:
            pred = refine_alpha(prob, image) >= 0.5
        else:
            pred = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
        inter, union = iou_pair(pred, mask.astype(bool))
        inter_sum += inter
        union_sum += union
        per_photo[stem] = float(np.mean(inter / np.maximum(union, 1)))
    ious = inter_sum / np.maximum(union_sum, 1)
    return {
        "miou": float(ious.mean()),
        "iou_person": float(ious[1]),
        "iou_background": float(ious[0]),
        "miou_mean_of_photos": float(np.mean(list(per_photo.values()))),
        "ms_per_frame": float(statistics.median(times)),
        "per_photo": per_photo,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("dir", type=Path, help="folder with images/ and masks/")
    parser.add_argument("--weights", type=Path, help="a .pt other than the shipped one")
    parser.add_argument("--stems", help="comma-separated stems to use (default: all)")
    parser.add_argument(
        "--refined", action="store_true", help="score the edge-aware mask portrait mode uses"
    )
    parser.add_argument(
        "--flip-average",
        choices=("card", "on", "off"),
        default="card",
        help="average the frame and its mirror image (default: as the model card says)",
    )
    parser.add_argument(
        "--backend", choices=("auto", "onnx", "torch"), default="auto",
        help="onnx: the export the app runs; torch: the network itself; auto (default): onnx "
        "when the card names an export (freshly trained weights have none)",
    )
    parser.add_argument("--val", action="store_true", help="only the validation stems of the card")
    parser.add_argument(
        "--faces-cache", type=Path, default=None,
        help="where MTCNN's face boxes per photo are kept (default training/runs/)",
    )
    args = parser.parse_args(argv)
    if args.backend == "auto":
        from kpopcam.vision.weights import locate, read_card

        card = read_card(locate("portrait_unet", args.weights)[1])
        args.backend = "onnx" if card.get("onnx") else "torch"
    if args.backend == "torch":
        from training.torch_forward import torch_segmenter

        segmenter = torch_segmenter(args.weights, threads=1)
    else:
        segmenter = PersonSegmenter.from_weights(args.weights)
    if args.flip_average != "card":
        segmenter.flip_average = args.flip_average == "on"
    chosen = stems(args.dir)
    if args.stems:
        chosen = [s for s in args.stems.split(",") if s]
    elif args.val:
        from kpopcam.vision.weights import find_weights, read_card

        card_path = (
            args.weights.with_suffix(".json") if args.weights else find_weights("portrait_unet")[1]
        )
        chosen = read_card(card_path)["data"]["val_stems"]
    faces = None
    if segmenter.wants_faces:
        from training.portraits_data import photo_faces
        from training.train_portrait import FACES_CACHE

        faces = photo_faces(args.dir, chosen, args.faces_cache or FACES_CACHE)
    result = evaluate(segmenter, args.dir, chosen, args.refined, faces)
    for stem, value in sorted(result["per_photo"].items(), key=lambda kv: kv[1]):
        print(f"{stem:>12}  mIoU {value:.4f}")
    print(
        f"{len(chosen)} photos: mIoU {result['miou']:.4f} (person {result['iou_person']:.4f}, "
        f"background {result['iou_background']:.4f}; mean over photos "
        f"{result['miou_mean_of_photos']:.4f}), median {result['ms_per_frame']:.1f} ms per frame "
        f"at {segmenter.input_size}x{segmenter.input_size}, 1 thread"
        + (", flip-averaged" if segmenter.flip_average else "")
    )
    print(
        json.dumps(
            {"miou": round(result["miou"], 4), "ms_per_frame": round(result["ms_per_frame"], 1)}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
