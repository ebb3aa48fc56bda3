"""Export facenet-pytorch's MTCNN networks (P-Net, R-Net, O-Net) to the ONNX files the app's
detector runs in onnxruntime.

    python -m training.export_mtcnn [--out weights/]

The weights ship inside the facenet-pytorch wheel (facenet_pytorch/data/*.pt). P-Net gets
dynamic batch, height and width (it slides over each pyramid level); R-Net and O-Net a dynamic
batch (all candidates of a stage in one run). Each file gets a card beside it
(mtcnn_pnet.json ...) with its checksum, its source and the largest output difference between
torch and onnxruntime on real image data (pyramid levels and face crops of skimage's astronaut
and the demo faces).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from kpopcam.files import write_bytes_atomic
from kpopcam.vision.face_boxes import area_resize, integral, normalise, pyramid_size
from kpopcam.vision.onnx_model import OnnxModel
from kpopcam.vision.weights import sha256_of, write_card

REPO = Path(__file__).resolve().parents[1]
OPSET = 17
# name -> (facenet-pytorch class, its weight file, outputs in the forward's order, input side)
NETS = {
    "pnet": ("PNet", "pnet.pt", ["box_offsets", "face_prob"], None),
    "rnet": ("RNet", "rnet.pt", ["box_offsets", "face_prob"], 24),
    "onet": ("ONet", "onet.pt", ["box_offsets", "landmarks", "face_prob"], 48),
}


def network(name: str) -> torch.nn.Module:
    import facenet_pytorch.models.mtcnn as mtcnn

    return getattr(mtcnn, NETS[name][0])(pretrained=True).eval()


def source_file(name: str) -> Path:
    import facenet_pytorch

    return Path(facenet_pytorch.__file__).parent / "data" / NETS[name][1]


def onnx_graph(name: str, model: torch.nn.Module) -> bytes:
    outputs, side = NETS[name][2], NETS[name][3]
    axes = {0: "batch"} if side else {0: "batch", 2: "height", 3: "width"}
    example = torch.zeros(1, 3, side or 60, side or 80)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(model, example, path, input_names=["image"],
                              output_names=outputs, opset_version=OPSET,
                              dynamic_axes={"image": axes, **{o: {0: "batch"} for o in outputs}},
                              dynamo=False)
        return path.read_bytes()


def real_images() -> list[np.ndarray]:
    """RGB photos with faces: skimage's astronaut and the demo faces kpopcam ships."""
    import cv2
    from skimage import data

    folder = REPO / "kpopcam" / "assets"
    demo = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(
        folder.glob("*.jpg"))]
    return [data.astronaut(), *demo]


def parity_inputs(name: str, images: list[np.ndarray]) -> list[np.ndarray]:
    """Normalised NCHW inputs the net sees on real images: pyramid levels for P-Net, a batch of
    face-sized and random crops for R-Net and O-Net."""
    rng = np.random.default_rng(0)
    side = NETS[name][3]
    inputs = []
    for rgb in images:
        h, w = rgb.shape[:2]
        if side is None:
            sums = integral(rgb[None])
            for scale in (0.6, 0.3, 0.1):
                inputs.append(normalise(area_resize(sums, h, w, *pyramid_size(h, w, scale))))
            continue
        crops = []
        for _ in range(32):
            s = int(rng.integers(12, min(h, w)))
            y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
            crop = integral(np.ascontiguousarray(rgb[None, y:y + s, x:x + s]))
            crops.append(area_resize(crop, s, s, side, side))
        inputs.append(normalise(np.concatenate(crops)))
    return inputs


def max_difference(model: torch.nn.Module, onnx: OnnxModel, inputs: list[np.ndarray]) -> dict:
    worst: dict[str, float] = {}
    names = [o.name for o in onnx.session.get_outputs()]
    for x in inputs:
        with torch.no_grad():
            ours = [t.numpy() for t in model(torch.from_numpy(x))]
        for n, a, b in zip(names, ours, onnx.outputs(x), strict=True):
            worst[n] = max(worst.get(n, 0.0), float(np.abs(a - b).max()))
    return {n: float(f"{v:.3g}") for n, v in worst.items()}


def export(name: str, out: Path, images: list[np.ndarray]) -> dict:
    torch.set_num_threads(1)
    model = network(name)
    onnx_path = out / f"mtcnn_{name}.onnx"
    write_bytes_atomic(onnx_path, onnx_graph(name, model))
    source = source_file(name)
    side = NETS[name][3]
    card = {
        "architecture": f"facenet_pytorch.models.mtcnn.{NETS[name][0]}",
        "arguments": {},
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "opset": OPSET,
        "input": "image: float32 (batch, 3, " + (f"{side}, {side})" if side else
                                                 "height, width)")
                 + ", RGB, (pixel - 127.5) / 128, area-resampled as facenet-pytorch does",
        "outputs": NETS[name][2],
        "source": {
            "package": f"facenet-pytorch {importlib.metadata.version('facenet-pytorch')}",
            "file": f"facenet_pytorch/data/{source.name}",
            "sha256": sha256_of(source),
            "licence": "MIT (facenet-pytorch); weights converted from the MTCNN authors' "
                       "release (Zhang et al. 2016) via davidsandberg/facenet",
        },
        "how": f"torch.onnx.export (TorchScript exporter, opset {OPSET}) of the eval-mode "
               "network; python -m training.export_mtcnn",
    }
    onnx = OnnxModel(onnx_path, card["sha256"], threads=1)
    card["parity"] = {
        "max_abs_difference": max_difference(model, onnx, parity_inputs(name, images)),
        "against": f"torch {torch.__version__.split('+')[0]} on one thread",
        "inputs": "skimage astronaut and kpopcam/assets/*.jpg: "
                  + ("pyramid levels at scales 0.6, 0.3, 0.1" if side is None else
                     "32 random square crops each, area-resampled"),
    }
    write_card(onnx_path.with_suffix(".json"), card)
    return card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "weights", help="folder for the files")
    args = p.parse_args(argv)
    images = real_images()
    for name in NETS:
        card = export(name, args.out, images)
        size = (args.out / card["file"]).stat().st_size
        print(f"{card['file']}: {size / 1024:.0f} KiB, max |torch - onnx| "
              f"{card['parity']['max_abs_difference']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
