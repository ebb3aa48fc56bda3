"""A main window on real widgets, with the session's real models handed in by a loader (so
they load once per test session, not once per window)."""

from __future__ import annotations

import pytest

from kpopcam.gui.bridge import LoadedModels
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery


@pytest.fixture(scope="session")
def gui_loader(detector, embedder):
    from kpopcam.live.analysis import FaceModels
    from kpopcam.vision.emotion import EmotionReader
    from kpopcam.vision.portrait import PortraitMaker

    emotion, portraits = EmotionReader(), PortraitMaker()

    def load(settings, gallery, progress):
        progress(1, 1, "Ready")
        return LoadedModels(FaceModels(detector, embedder, gallery, emotion), portraits,
                            detector)

    return load


@pytest.fixture
def make_window(qtbot, tmp_path, gui_loader):
    """make_window() -> a shown MainWindow whose models are loaded; same folders each call of
    one test, so a second window sees what the first remembered."""
    from kpopcam.gui.main_window import MainWindow

    config = tmp_path / "config" / "settings.toml"
    galleries = []

    def make(**trigger):
        if not config.exists():
            Settings().updated({
                "capture": {"folder": str(tmp_path / "captures")},
                "trigger": {"min_score": 0.5, "hold_s": 0.3, "cooldown_s": 1.0, **trigger},
            }).save(config)
        gallery = StarGallery(tmp_path / "stars.sqlite")
        galleries.append(gallery)
        window = MainWindow(Settings.load(config), gallery, config, loader=gui_loader)
        qtbot.addWidget(window)
        window.show()
        window.start_background_work()
        qtbot.waitUntil(lambda: window.bridge.is_ready, timeout=10000)
        return window

    yield make
    for gallery in galleries:
        gallery.close()
