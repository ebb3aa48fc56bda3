"""Export the portrait U-Net to the ONNX graph the app runs in onnxruntime.

    python -m training.export_portrait [--weights weights/portrait_unet.pt] [--data DIR]

The graph takes any batch and any height and width divisible by 32 (the app feeds the card's
input_size; a flip-averaged frame is a batch of two). Batch-norm is folded by the exporter.
Parity with the torch network is measured on the data's validation photos (the card's
val_stems) through the app's own PersonSegmenter: the largest difference of the person
probability and the IoU of the two masks cut at 0.5; the export's val mIoU goes beside them.
The export is written beside the weights and recorded, with its checksum and the parity
figures, in the card under "onnx".
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from kpopcam.files import write_bytes_atomic
from kpopcam.vision.portrait import MODEL_NAME, PersonSegmenter
from kpopcam.vision.weights import load_model, locate, read_card, sha256_of, write_card
from training.eval_portrait import evaluate
from training.portraits_data import DEFAULT_ROOT, read_pair
from training.torch_forward import torch_segmenter

OPSET = 17


def onnx_graph(model: torch.nn.Module, channels: int, side: int) -> bytes:
    """The float32 ONNX graph of the U-Net, dynamic in batch, height and width."""
    axes = {0: "batch", 2: "height", 3: "width"}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # the TorchScript exporter needs no onnxscript; torch 2.9+ only warns that it is old
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        path = Path(tmp) / "unet.onnx"
        torch.onnx.export(model.eval(), torch.zeros(1, channels, side, side), path,
                          input_names=["x"], output_names=["logits"], opset_version=OPSET,
                          dynamic_axes={"x": axes, "logits": axes}, dynamo=False)
        return path.read_bytes()


def parity(exported: PersonSegmenter, reference: PersonSegmenter, photos: list) -> dict:
    """Largest probability difference and the lowest and mean IoU of the 0.5 masks."""
    diffs, ious = [], []
    for image, faces in photos:
        a, b = exported.low_res(image, faces), reference.low_res(image, faces)
        diffs.append(float(np.abs(a - b).max()))
        ma, mb = a >= 0.5, b >= 0.5
        union = np.sum(ma | mb)
        ious.append(float(np.sum(ma & mb) / union) if union else 1.0)
    return {"photos": len(photos), "max_abs_prob_diff": max(diffs),
            "min_mask_iou": min(ious), "mean_mask_iou": float(np.mean(ious))}


def val_faces(root: Path, card: dict) -> dict:
    from training.portraits_data import photo_faces
    from training.train_portrait import FACES_CACHE

    return photo_faces(root, card["data"]["val_stems"], FACES_CACHE)


def export(pt_path: Path | None, root: Path) -> dict:
    torch.set_num_threads(1)
    pt_path, card_path = locate(MODEL_NAME, pt_path)
    model, card = load_model(MODEL_NAME, pt_path)
    channels = card["arguments"].get("in_channels", 3)
    onnx_path = pt_path.with_suffix(".onnx")
    write_bytes_atomic(onnx_path, onnx_graph(model, channels, card["input_size"]))
    card["onnx"] = {
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "precision": "float32",
        "input": "x: (batch, channels, height, width), height and width divisible by 32",
        "how": f"exported from torch (TorchScript exporter, opset {OPSET}, batch-norm folded); "
               "python -m training.export_portrait",
    }
    write_card(card_path, card)
    exported = PersonSegmenter.from_weights(pt_path)
    card = read_card(card_path)
    stems, faces = card["data"]["val_stems"], val_faces(root, card)
    photos = [(read_pair(root, stem)[0], faces.get(stem, [])) for stem in stems]
    card["onnx"]["parity_vs_torch"] = parity(exported, torch_segmenter(pt_path), photos)
    card["onnx"]["val_miou"] = round(evaluate(exported, root, stems, faces=faces)["miou"], 4)
    write_card(card_path, card)
    return card["onnx"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--weights", type=Path, default=None, help="default: the shipped weights")
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT,
                   help="portraits folder (images/, masks/) for the parity figures")
    args = p.parse_args(argv)
    print(export(args.weights, args.data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
