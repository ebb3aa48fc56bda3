"""Shared fixtures: real models loaded once, and the user's own folders never touched."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from tests.x_server import desktop, on_x, x_display  # noqa: F401 (fixtures: a real X server)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def isolated_user_folders(tmp_path_factory):
    """Config, data and cache folders of a throw-away user for the whole run."""
    root = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("CONFIG", "DATA", "CACHE"):
            mp.setenv(f"KPOPCAM_{name}", str(root / name.lower()))
        mp.setenv("KPOPCAM_CONFIG", str(root / "config" / "settings.toml"))
        yield root


@pytest.fixture
def fast_switching():
    """Threads switch every microsecond, so that a race shows within a short run."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


@pytest.fixture(scope="session")
def detector():
    from kpopcam.vision.detector import MtcnnDetector

    return MtcnnDetector(min_face_px=20)


@pytest.fixture(scope="session")
def embedder():
    """The default face embedder (dlib's network in onnxruntime), as the app makes it."""
    from kpopcam.vision.identity import make_embedder

    return make_embedder()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins, smiling (public domain, NASA): 512x512 RGB."""
    return data.astronaut()


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    """Another person (grey photo, as RGB)."""
    return np.stack([data.camera()] * 3, axis=-1)


def weights_with_a_corrupt_export(model: str, folder) -> Path:
    """Model `model`'s weights, card and ONNX export copied into `folder` with one byte of the
    export flipped; the copied weights file."""
    from kpopcam.vision.weights import find_weights

    pt, card_path = find_weights(model)
    export = pt.with_name(json.loads(card_path.read_text())["onnx"]["file"])
    for path in (pt, card_path, export):
        shutil.copy(path, Path(folder) / path.name)
    broken = bytearray(export.read_bytes())
    broken[len(broken) // 2] ^= 0xFF
    (Path(folder) / export.name).write_bytes(bytes(broken))
    return Path(folder) / pt.name


def save_jpeg(rgb: np.ndarray, path) -> str:
    Image.fromarray(rgb).save(path, quality=92)
    return str(path)
