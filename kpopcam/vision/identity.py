"""The face embedders a fan can choose (identity.weights), built by name."""

from __future__ import annotations

KINDS = ("dlib", "dlib-onnx", "casia-webface", "vggface2")


def make_embedder(kind: str = "dlib-onnx"):
    """DlibEmbedder, DlibOnnxEmbedder (dlib's network in onnxruntime, no dlib) or FaceEmbedder
    (FaceNet): all give unit vectors from `embed_faces`."""
    if kind == "dlib":
        from kpopcam.vision.dlib_embedder import DlibEmbedder

        return DlibEmbedder()
    if kind == "dlib-onnx":
        from kpopcam.vision.dlib_onnx import DlibOnnxEmbedder

        return DlibOnnxEmbedder()
    if kind in KINDS:
        from kpopcam.vision.embedder import FaceEmbedder

        return FaceEmbedder(kind)
    raise ValueError(f"unknown face embedder {kind!r} (choose from {', '.join(KINDS)})")
