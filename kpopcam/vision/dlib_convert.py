"""Reads dlib's ResNet face recogniser (dlib_face_recognition_resnet_model_v1.dat) with numpy.

The file is dlib's own serialisation (dlib/serialize.h) of the inference network of dlib's
dnn_face_recognition_ex.cpp ("anet_type"): a ResNet-34-like network on 150x150 RGB chips,
128-d output. Its parts, as dlib writes them:

- an integer is one control byte (low nibble: how many bytes follow, 0x80: negative), then
  that many bytes, little-endian; a float or double is two integers, mantissa and exponent
  (value = mantissa * 2**exponent); a string is its length, then its bytes; a bool is '1'/'0';
- a tensor (version 2) is n, k, nr, nc, then n*k*nr*nc little-endian float32;
- the network is written top-down as nested headers (loss, then each layer's version: 2 for
  a layer with parameters or an operation, 1 for a tag or skip, 3 for the bottom layer that
  holds the input), then each layer's details bottom-up, each starting with its type's name
  ("con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2").

Tags and skips write nothing but their version, so the residual wiring is not in the file:
the header's sequence of versions is checked against the one anet_type gives (BLOCKS), and
the layer types against the blocks, before any array is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kpopcam.vision.weights import WeightsError

INPUT_SIZE = 150
DESCRIPTOR_DIM = 128
# anet_type's residual blocks bottom-up: (filters, halves the size). alevel4 .. alevel0.
BLOCKS = ((32, False),) * 3 + ((64, True),) + ((64, False),) * 3 + ((128, True),) + (
    (128, False),) * 2 + ((256, True),) + ((256, False),) * 2 + ((256, True),)
_STEM = ("con", "affine", "relu", "max_pool")
_BLOCK = ("con", "affine", "relu", "con", "affine")


class _Stream:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = memoryview(data), 0

    def integer(self) -> int:
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise WeightsError(f"not a dlib integer at byte {self.pos} of the model file")
        start = self.pos + 1
        value = int.from_bytes(self.data[start : start + size], "little")
        self.pos = start + size
        return -value if control & 0x80 else value

    def real(self) -> float:
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= 32000:  # dlib's codes for inf, -inf and nan
            raise WeightsError("the dlib model file holds a non-finite number")
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        size = self.integer()
        text = bytes(self.data[self.pos : self.pos + size]).decode("ascii", "replace")
        self.pos += size
        return text

    def boolean(self) -> bool:
        value = self.data[self.pos]
        self.pos += 1
        if value not in b"01":
            raise WeightsError(f"not a dlib bool at byte {self.pos - 1} of the model file")
        return value == ord("1")

    def tensor(self) -> np.ndarray:
        version = self.integer()
        if version != 2:
            raise WeightsError(f"dlib tensor version {version} is not supported (2 is)")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        array = np.frombuffer(self.data, "<f4", count, self.pos).reshape(shape)
        self.pos += 4 * count
        return array.astype(np.float32)

    def alias(self) -> tuple[int, ...]:
        if self.integer() != 1:
            raise WeightsError("unexpected dlib alias_tensor version")
        return tuple(self.integer() for _ in range(4))


@dataclass
class Layer:
    """One computational layer: its kind ("con", "affine", ...), arrays and settings."""

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, int] = field(default_factory=dict)


def _con(s: _Stream, name: str) -> Layer:
    params = s.tensor().reshape(-1)
    keys = ("filters", "nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    settings = {key: s.integer() for key in keys}
    shape, bias_shape = s.alias(), s.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        s.real()
    use_bias = s.boolean() if name == "con_5" else True
    size = int(np.prod(shape))
    if params.size != size + shape[0] * use_bias or (use_bias and bias_shape[1] != shape[0]):
        raise WeightsError("a dlib convolution's parameters do not match its filters")
    weight = params[:size].reshape(shape)
    bias = params[size:] if use_bias else np.zeros(shape[0], np.float32)
    return Layer("con", {"weight": weight, "bias": bias}, settings)


def _affine(s: _Stream, name: str) -> Layer:
    params = s.tensor().reshape(-1)
    gamma, beta = s.alias(), s.alias()
    mode = s.integer()
    channels = gamma[1]
    if mode != 0 or beta[1] != channels or params.size != 2 * channels:
        raise WeightsError("unexpected dlib affine layer (only per-channel mode is read)")
    return Layer("affine", {"scale": params[:channels], "shift": params[channels:]})


def _pool(s: _Stream, name: str) -> Layer:
    keys = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return Layer(name.rsplit("_", 1)[0].removesuffix("_"), {},
                 {key: s.integer() for key in keys})


def _fc(s: _Stream, name: str) -> Layer:
    outputs, inputs = s.integer(), s.integer()
    params = s.tensor().reshape(-1)
    s.alias(), s.alias()
    no_bias = s.integer() == 1
    for _ in range(4):
        s.real()
    if not no_bias or params.size != inputs * outputs:
        raise WeightsError("the dlib recogniser's last layer is not fc_no_bias")
    weight = params.reshape(inputs, outputs)
    return Layer("fc", {"weight": weight}, {"inputs": inputs, "outputs": outputs})


_DETAILS = {"con_4": _con, "con_5": _con, "affine_": _affine, "relu_": lambda s, n: Layer("relu"),
            "max_pool_2": _pool, "avg_pool_2": _pool, "add_prev_": lambda s, n: Layer("add"),
            "fc_2": _fc}


def _details(s: _Stream) -> Layer:
    name = s.string()
    if name not in _DETAILS:
        raise WeightsError(f"the dlib model holds a layer kpopcam cannot read: {name!r}")
    return _DETAILS[name](s, name)


def _layer_state(s: _Stream) -> None:
    """What add_layer keeps besides its details: three flags and three (empty) tensors."""
    for _ in range(3):
        s.boolean()
    for _ in range(3):
        s.tensor()


@dataclass
class Network:
    means: tuple[float, float, float]  # the input layer's red, green, blue means
    layers: list[Layer]  # bottom-up
    header: list[int]  # the versions, top-down, below the loss


def read_network(data: bytes) -> Network:
    try:
        return _read_network(_Stream(data))
    except (IndexError, ValueError) as exc:  # the file ends early, or a length runs past it
        raise WeightsError(f"dlib's face recogniser file is damaged: {exc}") from exc


def _read_network(s: _Stream) -> Network:
    if s.integer() != 1 or s.string() != "loss_metric_2":
        raise WeightsError("not dlib's face recogniser: the file does not start with its loss")
    s.real(), s.real()  # margin and distance threshold: training only
    header = []
    while (version := s.integer()) != 3:
        if version not in (1, 2):
            raise WeightsError(f"unexpected dlib layer version {version}")
        header.append(version)
    if s.string() != "input_rgb_image_sized":
        raise WeightsError("the dlib recogniser's input is not input_rgb_image_sized")
    means = (s.real(), s.real(), s.real())
    if (s.integer(), s.integer()) != (INPUT_SIZE, INPUT_SIZE):
        raise WeightsError(f"the dlib recogniser's input is not {INPUT_SIZE}x{INPUT_SIZE}")
    layers = [_details(s)]
    _layer_state(s)
    s.integer()  # the input layer's sample expansion factor
    for version in reversed(header):
        if version == 2:
            layers.append(_details(s))
            _layer_state(s)
    if s.pos != len(s.data):
        raise WeightsError(f"{len(s.data) - s.pos} bytes left over after the dlib network")
    return Network(means, layers, header)


def expected_header() -> list[int]:
    """anet_type's versions top-down: 2 for each layer, 1 for each tag and skip."""
    versions = [2, 2]  # fc_no_bias, avg_pool_everything
    for _, down in reversed(BLOCKS):
        versions += [2, 2]  # relu, add_prev
        if down:
            versions += [2, 1, 1]  # avg_pool, skip1, tag2
        versions += [2] * len(_BLOCK) + [1]  # the block, tag1
    return versions + [2] * (len(_STEM) - 1)  # max_pool, relu, affine (con is the bottom)


def _expected_kinds() -> list[str]:
    kinds = list(_STEM)
    for _, down in BLOCKS:
        kinds += list(_BLOCK) + (["avg_pool"] if down else []) + ["add", "relu"]
    return kinds + ["avg_pool", "fc"]


def network_arrays(net: Network) -> dict[str, np.ndarray]:
    """The network's arrays by name ("block3.conv1.weight"), float32, in the shapes the ONNX
    graph uses (kpopcam.vision.dlib_onnx)."""
    if net.header != expected_header() or [x.kind for x in net.layers] != _expected_kinds():
        raise WeightsError("the dlib model file is not the network of dnn_face_recognition_ex "
                           "(anet_type) that kpopcam rebuilds")
    arrays = {"input.mean": np.array(net.means, np.float32).reshape(1, 3, 1, 1)}
    convs = [x for x in net.layers if x.kind in ("con", "affine")]
    names = ["stem"] + [f"block{i}.{part}" for i in range(len(BLOCKS)) for part in ("1", "2")]
    for name, (con, affine) in zip(names, zip(convs[::2], convs[1::2], strict=True),
                                   strict=True):
        prefix = name if name == "stem" else name[:-2] + f".conv{name[-1]}"
        arrays[f"{prefix}.weight"] = con.arrays["weight"]
        arrays[f"{prefix}.bias"] = con.arrays["bias"]
        arrays[f"{prefix}.scale"] = affine.arrays["scale"].reshape(1, -1, 1, 1)
        arrays[f"{prefix}.shift"] = affine.arrays["shift"].reshape(1, -1, 1, 1)
    arrays["fc.weight"] = net.layers[-1].arrays["weight"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}


def read_arrays(data: bytes) -> dict[str, np.ndarray]:
    return network_arrays(read_network(data))
