"""The VGGFace2 FaceNet, the one identity model that still runs in torch.

Its weights are facenet-pytorch's download (online users only), loaded into
facenet_pytorch.InceptionResnetV1; torch and facenet-pytorch come with kpopcam's `train`
extra, which an app install may lack: then choosing vggface2 is refused with that advice.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from kpopcam.files import atomic_path
from kpopcam.vision import weights
from kpopcam.vision.weights import WeightsError

VGGFACE2_URL = (
    "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
    "20180402-114759-vggface2.pt"
)
DOWNLOAD_TIMEOUT_S = 30
NEEDS_TORCH = (
    "the vggface2 identity model runs in torch, which this install lacks: install kpopcam "
    "with its training extra (pip install 'kpopcam[train]'), or choose the casia-webface or "
    "dlib identity model, which need no torch"
)


class TorchFaceNet:
    """InceptionResnetV1 as a numpy callable: (N, 3, 160, 160) float32 -> (N, 512)."""

    def __init__(self, model, threads: int | None):
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        self.model = model.eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            return self.model(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def _torch_modules():
    try:
        import torch  # noqa: F401
        from facenet_pytorch import InceptionResnetV1
        from facenet_pytorch.models.inception_resnet_v1 import get_torch_home
    except ImportError as exc:
        raise WeightsError(NEEDS_TORCH) from exc
    return InceptionResnetV1, get_torch_home


def vggface2_path() -> Path:
    """Where facenet-pytorch keeps the VGGFace2 weights, so that an earlier download is reused."""
    _, get_torch_home = _torch_modules()
    return Path(get_torch_home()) / "checkpoints" / os.path.basename(VGGFACE2_URL)


def load_vggface2(threads: int | None = 1) -> TorchFaceNet:
    inception_resnet_v1, _ = _torch_modules()
    path = vggface2_path()
    if not path.is_file():
        _download(VGGFACE2_URL, path)
    state = weights.load_state_dict(path)
    # The checkpoint carries the VGGFace2 classifier, which embeddings do not use.
    state = {k: v for k, v in state.items() if not k.startswith("logits.")}
    model = inception_resnet_v1(pretrained=None, classify=False)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights {path} do not fit InceptionResnetV1: {exc}") from exc
    return TorchFaceNet(model, threads)


def _download(url: str, path: Path) -> None:
    try:
        with (
            atomic_path(path) as tmp,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
            open(tmp, "wb") as out,
        ):
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise WeightsError(
            f"the vggface2 FaceNet weights must be downloaded once from {url}, which needs an "
            f"internet connection ({exc}); the casia-webface model works offline"
        ) from exc
