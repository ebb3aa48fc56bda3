"""The gallery with thousands of captures: it fills at once and thumbnails arrive without
freezing the window."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kpopcam.captures import CaptureStore, encode_jpeg


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    """2,000 real capture pairs (small JPEGs, real index rows), written quickly by copying."""
    folder = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    with CaptureStore(folder) as store:
        for i in range(2000):
            rgb = np.full((120, 160, 3), rng.integers(0, 255, 3), np.uint8)
            facts = {"star": ["Lisa", "Jennie"][i % 2], "emotion": "happy", "score": 0.9,
                     "taken": 1_800_000_000 + i, "source": "s", "frame": i}
            data = encode_jpeg(rgb, facts)
            stem = f"cap{i:05d}"
            (folder / f"{stem}.jpg").write_bytes(data)
            (folder / f"{stem}_portrait.jpg").write_bytes(data)
            store._insert(facts, folder / f"{stem}.jpg", folder / f"{stem}_portrait.jpg")
    return folder


def test_thousands_of_captures_load_without_freezing(qtbot, big_folder):
    from PySide6.QtCore import QElapsedTimer, QTimer

    from kpopcam.gui.gallery_panel import GalleryPanel

    start = time.perf_counter()
    panel = GalleryPanel(big_folder)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.refresh()
    assert panel.model.rowCount() == 2000
    assert time.perf_counter() - start < 3.0

    # the event loop keeps turning while thumbnails load: no gap between ticks over 250 ms
    gaps, clock = [], QElapsedTimer()
    clock.start()

    def tick():
        gaps.append(clock.restart())

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    qtbot.waitUntil(lambda: panel.model.has_thumbnail(panel.model.captures[0].id),
                    timeout=10_000)
    qtbot.wait(500)
    timer.stop()
    assert max(gaps) < 250, max(gaps)

    panel.star.setCurrentIndex(panel.star.findText("Lisa"))
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1000, timeout=3000)


def test_a_new_capture_joins_the_grid_without_listing_the_gallery_again(qtbot, tmp_path,
                                                                         big_folder):
    """Each capture of a run used to list every capture twice on the GUI thread."""
    import shutil

    from kpopcam.gui.gallery_panel import GalleryPanel

    folder = tmp_path / "captures"
    shutil.copytree(big_folder, folder)
    panel = GalleryPanel(folder)
    qtbot.addWidget(panel)
    panel.refresh()
    with CaptureStore(folder) as engine_store:  # the engine's own connection, as in a run
        rgb = np.full((120, 160, 3), 200, np.uint8)
        capture = engine_store.save(rgb, rgb, "Rosé", "happy", 0.9, "concert.mp4", 7)
    statements = []
    panel.store._db.set_trace_callback(statements.append)
    panel.add_capture(capture)
    assert statements == []
    assert panel.model.rowCount() == 2001
    assert panel.model.captures[0].id == capture.id
    assert panel.star.findData("Rosé") >= 0  # her name joins the star filter


def test_a_capture_folder_that_cannot_be_used_is_said_and_the_old_one_stays(qtbot, tmp_path):
    from kpopcam.gui.gallery_panel import GalleryPanel

    panel = GalleryPanel(tmp_path / "captures")
    qtbot.addWidget(panel)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with qtbot.waitSignal(panel.message) as said:
        panel.set_folder(blocked)
    assert "cannot be used" in said.args[0] and said.args[2] == "error"
    assert panel.store.folder == tmp_path / "captures"
    assert blocked.read_text() == "not a folder"
