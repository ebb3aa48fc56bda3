"""The bridge's life cycle as a fan drives it: stop and close at any moment, enrol whatever
state the models are in, captures shown without listing the gallery again."""

from __future__ import annotations

import threading
import time

from kpopcam.gui.bridge import EngineBridge, Lifecycle
from kpopcam.gui.workers import Workers
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery
from tests.live.conftest import write_video


def engine_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("kpopcam-") and
            t.name != "kpopcam-detect"]


def make_bridge(tmp_path, loader) -> EngineBridge:
    settings = Settings().updated({"capture": {"folder": str(tmp_path / "captures")}})
    gallery = StarGallery(tmp_path / "stars.sqlite")
    return EngineBridge(settings, gallery, Workers(), loader)


def test_stop_while_starting_stops_the_run(qtbot, tmp_path, gui_loader, astronaut):
    video = write_video(tmp_path / "long.mp4", [(20.0, astronaut, 0.5)])
    bridge = make_bridge(tmp_path, gui_loader)
    with qtbot.waitSignal(bridge.ready, timeout=10000):
        bridge.load()
    with qtbot.waitSignal(bridge.stopped, timeout=10000):
        bridge.start(video, bridge.settings)
        assert bridge.state is Lifecycle.STARTING
        bridge.stop()
    assert bridge.state is Lifecycle.IDLE and not bridge.is_running
    qtbot.waitUntil(lambda: not engine_threads(), timeout=5000)


def test_closing_while_starting_leaves_no_engine_behind(qtbot, tmp_path, gui_loader, astronaut):
    video = write_video(tmp_path / "long.mp4", [(20.0, astronaut, 0.5)])
    bridge = make_bridge(tmp_path, gui_loader)
    with qtbot.waitSignal(bridge.ready, timeout=10000):
        bridge.load()
    bridge.start(video, bridge.settings)
    bridge.shutdown()  # the window closes at once
    assert bridge.wait_for_tasks(30)
    time.sleep(0.5)
    assert not engine_threads()


def test_enrolling_after_the_models_failed_says_so_at_once(qtbot, tmp_path, astronaut):
    def broken(settings, gallery, progress):
        raise RuntimeError("weights for the emotion model not found")

    bridge = make_bridge(tmp_path, broken)
    with qtbot.waitSignal(bridge.failed, timeout=10000):
        bridge.load()
    assert bridge.state is Lifecycle.BROKEN
    started = time.monotonic()
    with qtbot.waitSignal(bridge.failed, timeout=5000) as blocker:
        bridge.enroll("Lisa", [tmp_path / "lisa.jpg"])
    assert time.monotonic() - started < 5
    assert "could not be loaded" in blocker.args[0]


def test_enrolling_while_models_load_can_be_cancelled(qtbot, tmp_path, gui_loader):
    release = threading.Event()

    def slow(settings, gallery, progress):
        release.wait(30)
        return gui_loader(settings, gallery, progress)

    bridge = make_bridge(tmp_path, slow)
    bridge.load()
    with qtbot.waitSignal(bridge.failed, timeout=5000) as blocker:
        cancel = bridge.enroll("Lisa", [tmp_path / "lisa.jpg"])
        cancel.set()
    assert "cancelled" in blocker.args[0]
    assert bridge.gallery.stars() == []
    release.set()
    assert bridge.wait_for_tasks(30)
