"""Who each followed face is, worked out beside the analysis, not in its way.

Embedding a face takes 25-60 ms of one core; ten new faces of a crowd shot cost the analysis
thread half a second and a dozen dropped frames when it embeds them itself. In the background
the analysis hands a job (the frame the faces were found on, the faces, their tracks) to a
thread of its own and takes the finished looks on a later frame; the tracks stay the analysis
thread's alone. Inline (batch work) a job is done at once, so every run gives the same names.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from kpopcam.live.face_samples import FaceSample, face_sharpness, sample
from kpopcam.types import Face
from kpopcam.vision.gallery_crop import make_crop
from kpopcam.vision.threads import as_background_thread


@dataclass(frozen=True, eq=False)
class LookJob:
    """Faces to recognise, on the frame (BGR, never written to) they were found on."""

    image: np.ndarray
    faces: tuple[Face, ...]
    track_ids: tuple[int, ...]
    frame_number: int
    timestamp: float
    shot: int  # which shot the frame belongs to: looks from an earlier one are thrown away


@dataclass(frozen=True, eq=False)
class Look:
    """One track's face, embedded: the sample carries its crop for "add this face"."""

    track_id: int
    shot: int
    timestamp: float
    sample: FaceSample
    job_ms: float  # how long its whole job took (all the faces handed on with it)


def look_at(embedder, job: LookJob, flip: bool) -> tuple[Look, ...]:
    """The job's faces embedded and judged (size, sharpness, pose), each with its crop."""
    start = time.perf_counter()
    rgb = cv2.cvtColor(job.image, cv2.COLOR_BGR2RGB)
    embeddings = embedder.embed_faces(rgb, list(job.faces), flip=flip)
    samples = []
    for track_id, face, embedding in zip(job.track_ids, job.faces, embeddings, strict=True):
        look = sample(embedding, face, face_sharpness(job.image, face), job.frame_number,
                      make_crop(rgb, face))
        samples.append((track_id, look))
    ms = (time.perf_counter() - start) * 1000
    return tuple(Look(track_id, job.shot, job.timestamp, s, ms) for track_id, s in samples)


class Recogniser:
    """Runs look jobs one at a time, in a thread of its own (background) or at once. Owned by
    the analysis thread: only it calls these methods."""

    def __init__(self, embedder, flip: bool, background: bool):
        self.embedder, self.flip = embedder, flip
        self._pool = ThreadPoolExecutor(1, "kpopcam-identify", as_background_thread) if (
            background) else None
        self._pending: Future | None = None
        self._done: tuple[Look, ...] = ()

    @property
    def busy(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def submit(self, job: LookJob) -> bool:
        """Starts the job; False (nothing done) while the last one is still running."""
        if self.busy:
            return False
        self._collect()
        if self._pool is None:
            self._done += look_at(self.embedder, job, self.flip)
        else:
            self._pending = self._pool.submit(look_at, self.embedder, job, self.flip)
        return True

    def take(self) -> tuple[Look, ...]:
        """The looks finished since the last take (a failed job raises here)."""
        self._collect()
        done, self._done = self._done, ()
        return done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _collect(self) -> None:
        if self._pending is not None and self._pending.done():
            pending, self._pending = self._pending, None
            self._done += pending.result()
