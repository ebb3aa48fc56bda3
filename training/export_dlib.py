"""Rebuild dlib's ResNet face recogniser as an ONNX graph, and check it against dlib-bin.

    python -m training.export_dlib [--out DIR]

Writes weights/dlib_resnet.onnx, anet_type of dlib's dnn_face_recognition_ex.cpp written
node by node with the onnx package (no torch): its weights are ONNX external data (location,
offset, length) in weights/dlib_resnet.weights (22 MB, shipped), and
weights/dlib_landmarks.npz, the arrays of dlib's 5-point shape predictor (compressed). Both
come from face-recognition-models' .dat files, read with numpy alone (kpopcam.vision.dlib_convert,
kpopcam.vision.dlib_landmarks); dlib's models are public domain. The card, weights/dlib_resnet.json,
holds the file's layout (name, offset, shape of each array), its sha256 and the graph's
sha256; training/dlib_parity.py adds the parity figures against dlib-bin (run it after an
export: the export writes a new card).
"""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

import numpy as np

from kpopcam.files import atomic_path, write_bytes_atomic
from kpopcam.vision import dlib_convert, dlib_landmarks, dlib_onnx, weights
from kpopcam.vision.embedder import write_weights_file
from kpopcam.vision.weights import sha256_of, write_card

REPO = Path(__file__).resolve().parents[1]
OPSET = 17
ALIGN = 4096  # external data offsets on page boundaries: onnxruntime can map them


class _Graph:
    """Collects nodes and initialisers; tracks the (square) feature map's side."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays, self.nodes, self.inits, self.count = arrays, [], [], 0

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        from onnx import helper

        self.count += 1
        out = f"{kind.lower()}{self.count}"
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def weight(self, name: str) -> str:
        from onnx import numpy_helper

        if name not in {i.name for i in self.inits}:
            self.inits.append(numpy_helper.from_array(self.arrays[name], name))
        return name

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(value, name))
        return name


def _side(side: int, settings: dict) -> int:
    return 1 + (side + 2 * settings["padding_y"] - settings["nr"]) // settings["stride_y"]


def _conv_affine(g: _Graph, x: str, prefix: str, con: dlib_convert.Layer) -> str:
    s = con.settings
    x = g.op("Conv", [x, g.weight(f"{prefix}.weight"), g.weight(f"{prefix}.bias")],
             kernel_shape=[s["nr"], s["nc"]], strides=[s["stride_y"], s["stride_x"]],
             pads=[s["padding_y"], s["padding_x"]] * 2)
    x = g.op("Mul", [x, g.weight(f"{prefix}.scale")])
    return g.op("Add", [x, g.weight(f"{prefix}.shift")])


def _pool(g: _Graph, kind: str, x: str, layer: dlib_convert.Layer) -> str:
    s = layer.settings
    return g.op(kind, [x], kernel_shape=[s["nr"], s["nc"]],
                strides=[s["stride_y"], s["stride_x"]], pads=[s["padding_y"], s["padding_x"]] * 2)


def _pad(g: _Graph, x: str, channels: int, side: int, to_channels: int, to_side: int) -> str:
    """dlib's add_prev adds tensors of different sizes as if the smaller were zero-padded at
    its end (more channels, one more row and column): its output has the larger of each."""
    if (channels, side) == (to_channels, to_side):
        return x
    pads = np.array([0, 0, 0, 0, 0, to_channels - channels, to_side - side, to_side - side],
                    np.int64)
    return g.op("Pad", [x, g.constant(f"pads{g.count}", pads)])


def build_model(net: dlib_convert.Network):
    """anet_type as an ONNX model with its weights inline: x (faces, 3, 150, 150) float32 RGB
    pixel values 0..255 of dlib's chips -> descriptors (faces, 128), not normalised (dlib's)."""
    from onnx import TensorProto, helper

    arrays = dlib_convert.network_arrays(net)
    g = _Graph(arrays)
    layers = iter(net.layers)
    x = g.op("Sub", ["x", g.weight("input.mean")])
    # input_rgb_image_sized: (pixel - mean) / 256
    x = g.op("Div", [x, g.constant("input.divisor", np.array(256.0, np.float32))])
    con = next(layers)
    x = _conv_affine(g, x, "stem", con)
    side = _side(dlib_convert.INPUT_SIZE, con.settings)
    next(layers), next(layers)  # affine (read with the convolution), relu
    x = g.op("Relu", [x])
    pool = next(layers)
    x, side, channels = _pool(g, "MaxPool", x, pool), _side(side, pool.settings), 32
    for i, (filters, down) in enumerate(dlib_convert.BLOCKS):
        shortcut, in_side = x, side
        con1, _, _, con2, _ = (next(layers) for _ in range(5))
        y = g.op("Relu", [_conv_affine(g, x, f"block{i}.conv1", con1)])
        y = _conv_affine(g, y, f"block{i}.conv2", con2)
        side = _side(side, con1.settings)
        if down:
            pool = next(layers)
            shortcut, in_side = _pool(g, "AveragePool", shortcut, pool), _side(in_side,
                                                                                pool.settings)
        out_side = max(side, in_side)
        y = _pad(g, y, filters, side, filters, out_side)
        shortcut = _pad(g, shortcut, channels, in_side, filters, out_side)
        next(layers), next(layers)  # add, relu
        x = g.op("Relu", [g.op("Add", [shortcut, y])])
        side, channels = out_side, filters
    next(layers)  # avg_pool_everything
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])])
    fc = next(layers)
    x = g.op("MatMul", [x, g.weight("fc.weight")])
    g.nodes[-1].output[0] = "descriptors"
    dim = fc.settings["outputs"]
    graph = helper.make_graph(
        g.nodes, "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["faces", 3, 150, 150])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["faces", dim])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="kpopcam training.export_dlib")
    model.ir_version = 8
    return model


def externalise(proto, arrays: dict[str, np.ndarray], data_name: str) -> list:
    """Points each initialiser named after one of the network's arrays at that array's place in
    the weights file (data_name) and drops its bytes; returns the file's layout
    [[name, offset, shape], ...]."""
    from onnx import TensorProto

    layout, end = [], 0
    for init in proto.graph.initializer:
        if init.name not in arrays:
            continue
        value = arrays[init.name]
        end = -(-end // ALIGN) * ALIGN
        layout.append([init.name, end, list(value.shape)])
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        for key, entry in (("location", data_name), ("offset", end), ("length", value.nbytes)):
            init.external_data.add(key=key, value=str(entry))
        end += value.nbytes
    missing = sorted(set(arrays) - {name for name, _, _ in layout})
    if missing:
        raise SystemExit(f"network arrays the graph does not use: {missing[:5]}")
    return layout


def export(out: Path) -> dict:
    _, source = weights.dlib_model_paths()
    net = dlib_convert.read_network(source.read_bytes())
    arrays = dlib_convert.network_arrays(net)
    proto = build_model(net)
    name = dlib_onnx.NAME
    layout = externalise(proto, arrays, f"{name}.weights")
    graph_path = out / f"{name}.onnx"
    write_bytes_atomic(graph_path, proto.SerializeToString())
    data = out / f"{name}.weights"
    write_weights_file(data, arrays, layout)
    card = {
        "architecture": "dlib dnn_face_recognition_ex.cpp anet_type (ResNet: 27 convolutions, "
                        "a 128-d linear layer)",
        "arguments": {"input_size": dlib_convert.INPUT_SIZE},
        "trained_on": "dlib's face recogniser v1 (about 3 million faces; Davis King, public "
                      "domain)",
        "source": f"face-recognition-models {metadata.version('face-recognition-models')}: "
                  f"models/{source.name}",
        "input": "x: (faces, 3, 150, 150) float32 RGB pixel values 0..255 of dlib's face "
                 "chip (get_face_chip, 150 px, padding 0.25); the graph subtracts the .dat's "
                 "means and divides by 256 as input_rgb_image_sized does",
        "output": "descriptors: (faces, 128), dlib's, not normalised",
        "onnx": {"file": graph_path.name, "sha256": sha256_of(graph_path),
                 "how": f"written node by node with the onnx package, opset {OPSET}; "
                        "python -m training.export_dlib"},
        "weights_file": data.name,
        "sha256": sha256_of(data),
        "layout": layout,
    }
    write_card(graph_path.with_suffix(".json"), card)
    return card


def export_landmarks(out: Path) -> dict:
    """weights/dlib_landmarks.npz: the 5-point shape predictor's arrays, and its card."""
    predictor, _ = weights.dlib_model_paths()
    arrays = dlib_landmarks.read_predictor(predictor.read_bytes())
    path = out / f"{dlib_landmarks.NAME}.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    card = {
        "architecture": "dlib shape_predictor: a cascade of regression-tree forests (Kazemi and "
                        "Sullivan, 2014), 5 points: the eyes' corners and the base of the nose",
        "arguments": {k: list(v.shape) for k, v in arrays.items()},
        "trained_on": "dlib's 5-point face landmarks (Davis King, public domain)",
        "source": f"face-recognition-models {metadata.version('face-recognition-models')}: "
                  f"models/{predictor.name}, read by kpopcam.vision.dlib_landmarks.read_predictor",
        "how": "python -m training.export_dlib",
        "sha256": sha256_of(path),
    }
    write_card(path.with_suffix(".json"), card)
    return card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "weights")
    args = p.parse_args(argv)
    card = export(args.out)
    print({k: v for k, v in card.items() if k != "layout"})
    print(export_landmarks(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
