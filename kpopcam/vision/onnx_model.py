"""A network exported to ONNX, run by onnxruntime on the CPU: how the app runs every model.

Each model ships as an ONNX export of its torch network (training/export_*.py). On one thread
onnxruntime runs them in about half torch's time or less (emotion CNN 1.0 ms against
1.7-2.2 ms per face here), with the same outputs; an int8 export of the emotion CNN is about
four times as fast again but moves some predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kpopcam.vision.threads import INFERENCE_THREADS, onnx_session_options
from kpopcam.vision.weights import WeightsError, verify_file


class OnnxModel:
    """One input; calling it gives the first output, `outputs` all of them in the graph's
    order. threads: intra-op threads (None: onnxruntime's default); arena: see
    onnx_session_options."""

    def __init__(self, path: str | Path, sha256: str | None = None,
                 threads: int | None = INFERENCE_THREADS, arena: bool = True):
        import onnxruntime as ort

        path = verify_file(Path(path), sha256)
        options = onnx_session_options(threads, arena)
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own kinds for a bad file
            raise WeightsError(f"ONNX file {path} cannot be loaded: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.outputs(x)[0]

    def outputs(self, x: np.ndarray) -> list[np.ndarray]:
        feed = {self.input_name: np.ascontiguousarray(x, dtype=np.float32)}
        return self.session.run(None, feed)
