"""How the app's threads run its models: set here, and only here.

Two threads each running a model with 2 intra-op threads on 2 cores stalled 30-70x (DESIGN.md),
so each model session runs on one thread: every onnxruntime session is made with the options
below (torch, only behind the vggface2 option, is set where that model is made). Threads whose
work may wait run at a lower priority.
"""

from __future__ import annotations

INFERENCE_THREADS = 1


def onnx_session_options(threads: int | None = INFERENCE_THREADS, arena: bool = True):
    """onnxruntime's options for one model: `threads` intra-op threads (None: its default).

    arena: onnxruntime's memory arena, which keeps the memory of the largest run so far and
    saves allocating big tensors each time (14 ms of the U-Net's 18). Off for MTCNN, whose
    batches of candidates range from a few to hundreds: its arenas held about 250 MB more than
    it needed on 1080p crowds (memory.py)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's
    options.enable_cpu_mem_arena = arena
    return options


BACKGROUND_NICENESS = 5  # niceness added: about a third of a core's share against the others


def as_background_thread() -> None:
    """Call at the start of a thread whose work may wait (detection, recognition): on Linux it
    gets a lower priority, so that on a busy machine the analysis, the captures and the window
    come first. Elsewhere (or where the system refuses) it runs as it is."""
    import os
    import threading

    try:
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness))
    except (AttributeError, OSError):
        pass
