"""How many threads each inference may use: set here, and only here.

Two threads each running torch with 2 intra-op threads on 2 cores stalled 30-70x (DESIGN.md),
so every thread that runs a model (analysis, detection, capture, a command) runs it on one.
The app's models run in onnxruntime, each session with the options below.
"""

from __future__ import annotations

import sys

INFERENCE_THREADS = 1


def use_inference_threads() -> None:
    """Call at the start of every thread that runs a model (and of each command): torch, when
    something has imported it (facenet-pytorch's MTCNN, the vggface2 embedder), runs on
    INFERENCE_THREADS too. It is never imported here: the app's install may have no torch."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(INFERENCE_THREADS)


def onnx_session_options(threads: int | None = INFERENCE_THREADS):
    """onnxruntime's options for one model: `threads` intra-op threads (None: its default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's
    return options
