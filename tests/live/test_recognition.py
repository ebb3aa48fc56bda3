"""Recognition in a thread of its own: the analysis never embeds a face itself, names arrive a
few frames after the face, and a look taken before a camera cut never names anyone after it."""

from __future__ import annotations

import threading
import time

import pytest

from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.engine import Engine
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule
from tests.live.conftest import STAR, write_video


class ThreadNotingEmbedder:
    """The real embedder, noting which thread asks for each embedding; `delay` makes each
    call last longer, as a busy machine would."""

    def __init__(self, embedder, delay: float = 0.0):
        self.embedder, self.delay = embedder, delay
        self.threads: list[str] = []

    def embed_faces(self, rgb, faces, flip=True):
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        return self.embedder.embed_faces(rgb, faces, flip=flip)


@pytest.fixture
def models(detector, embedder, star_gallery):
    from kpopcam.vision.emotion import EmotionReader

    return lambda delay=0.0: FaceModels(detector, ThreadNotingEmbedder(embedder, delay),
                                        star_gallery, EmotionReader())


def never_fires() -> CaptureRule:
    return CaptureRule(star=STAR, emotion="disgust", min_score=0.99)


def test_faces_are_recognised_beside_the_analysis_and_named_soon_after(tmp_path, astronaut,
                                                                       models):
    video = write_video(tmp_path / "star.mp4", [(2.0, astronaut, 0.6)])
    face_models = models()
    analyzer = FrameAnalyzer(face_models, never_fires(), background_recognition=True)
    with VideoFileSource(video) as source:  # at its own rate, as a stream comes
        analyses = [analyzer.analyse(frame) for frame in source.frames()]
    analyzer.close()
    seen = [a.faces[0] for a in analyses if a.faces]
    assert seen[0].star is None  # the first frame does not wait for the embedding ...
    named = [i for i, f in enumerate(seen) if f.star == STAR]
    assert named and named[0] <= 10  # ... which names her within a second (10 fps)
    assert all(f.star == STAR for f in seen[named[0]:])
    assert len({f.track_id for f in seen}) == 1
    assert face_models.embedder.threads  # every embedding was made on the recognition thread
    assert set(face_models.embedder.threads) == {"kpopcam-identify_0"}


def test_a_look_from_before_a_cut_never_names_the_next_person(tmp_path, astronaut, cameraman,
                                                              models):
    """Short shots of the star and a stranger in the same place, cut back and forth about as
    fast as an embedding takes: looks of the star land after the cut to the stranger."""
    shots = [(0.8, astronaut, 0.6, 150), (0.4, cameraman, 0.7, 150)] * 5
    video = write_video(tmp_path / "cuts.mp4", shots, fps=20)
    analyzer = FrameAnalyzer(models(delay=0.25), never_fires(), background_detection=True,
                             background_recognition=True)
    named: list[tuple[int, str | None]] = []
    engine = Engine(VideoFileSource(video), analyzer, on_analysis=lambda a: named.extend(
        (a.frame_number, f.star) for f in a.faces))
    engine.start()
    assert engine.wait(60) and engine.error is None
    stranger_frames = {n for n in range(120) if n % 24 >= 16}
    assert any(star == STAR for n, star in named if n not in stranger_frames)
    assert not [n for n, star in named if n in stranger_frames and star == STAR]
