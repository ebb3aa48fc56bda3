"""Builds the engine's parts from the settings: models, rule, capture store."""

from __future__ import annotations

from pathlib import Path

from kpopcam.captures import CaptureStore
from kpopcam.live.analysis import FaceModels, FrameAnalyzer
from kpopcam.live.engine import Engine
from kpopcam.live.sources import FrameSource
from kpopcam.live.trigger import CaptureRule
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery


def load_face_models(settings: Settings, gallery: StarGallery) -> FaceModels:
    """Detector, embedder and emotion reader; a missing weight file raises WeightsError."""
    from kpopcam.vision.detector import live_detector
    from kpopcam.vision.emotion import EmotionReader
    from kpopcam.vision.identity import make_embedder

    live = settings.live
    return FaceModels(
        detector=live_detector(settings),
        embedder=make_embedder(settings.identity.weights),
        gallery=gallery,
        emotion=EmotionReader(settings.emotion.weights or None),
        flip=live.flip,
    )


def make_analyzer(settings: Settings, models: FaceModels, rule: CaptureRule) -> FrameAnalyzer:
    live = settings.live
    return FrameAnalyzer(models, rule, smoothing=settings.emotion.smoothing,
                         detect_every=live.detect_every,
                         identity_refresh_s=live.identity_refresh_s,
                         background_detection=live.background_detection,
                         background_recognition=live.background_recognition)


def load_portrait_maker(settings: Settings):
    from kpopcam.vision.portrait import PortraitMaker, PortraitOptions

    p = settings.portrait
    maker = PortraitMaker(options=PortraitOptions(strength=p.strength, lens=p.lens))
    return maker.warm_up()


# every frame, deterministic
BATCH = {"background_detection": False, "background_recognition": False, "detect_every": 1}


def build_engine(settings: Settings, source: FrameSource, models: FaceModels,
                 portraits=None, capture_folder: Path | None = None, every_frame: bool = False,
                 **callbacks) -> Engine:
    """every_frame: batch work; every frame is analysed in order, faces found on each (the
    same result on every run), as fast as the machine allows."""
    if every_frame:
        settings = settings.updated({"live": BATCH})
    analyzer = make_analyzer(settings, models, CaptureRule.from_settings(settings.trigger))
    store = CaptureStore(capture_folder or settings.capture.path)
    return Engine(source, analyzer, portraits=portraits, store=store, every_frame=every_frame,
                  **callbacks)
