"""The gallery with thousands of captures: it fills at once, and scrolling to the bottom while
thumbnails arrive never freezes the window."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kpopcam.captures import CaptureStore


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory, detector):
    """2,000 captures in a real index: files linked from 3 real captures (MTCNN face box, U-Net
    portrait), a new watch run every 60."""
    from kpopcam.gui.gallery_bench import Shot, fill_index, real_captures
    from kpopcam.vision.portrait import PortraitMaker

    root = tmp_path_factory.mktemp("many")
    now = time.time()
    seeds = real_captures(root / "seeds", [Shot("Eileen", "happy", 0.9, now - k, "s", shift=k * 20)
                                           for k in range(3)], detector, PortraitMaker())
    fill_index(root / "captures", seeds, 2000, now)
    return root / "captures"


def test_thousands_of_captures_fill_at_once_and_scroll_without_stalls(qtbot, big_folder):
    from kpopcam.gui.gallery_bench import measure_gallery

    figures = measure_gallery(big_folder, step_ms=20)
    assert figures["captures"] == 2000
    assert figures["fill_s"] < 3.0
    assert figures["first_faces_s"] < 10.0
    # a tick every 5 ms. The benchmark holds the 100 ms line on 20,000; this test runs beside
    # others on a shared 2-core machine (load 12 measured 200-300 ms), so its line is wider,
    # still far below a decode on the GUI thread (a frame each paint: seconds)
    assert figures["longest_stall_ms"] < 400, figures
    assert figures["p99_tick_ms"] < 150, figures
    assert figures["last_screen_faces"]  # the bottom of the gallery shows faces too


def test_star_filter_narrows_thousands(qtbot, big_folder):
    from kpopcam.gui.gallery_panel import GalleryPanel

    panel = GalleryPanel(big_folder)
    qtbot.addWidget(panel)
    panel.set_star("Lisa")
    assert len(panel.grid.captures) == 400
    assert {c.star for c in panel.grid.captures} == {"Lisa"}


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
        capture = engine_store.save(rgb, rgb, "Yuna", "happy", 0.9, "concert.mp4", 7,
                                    session="run-now")
        again = engine_store.save(rgb, rgb, "Yuna", "happy", 0.8, "concert.mp4", 9,
                                  session="run-now", taken=capture.taken + 1)
    statements = []
    panel.store._db.set_trace_callback(statements.append)
    panel.add_capture(capture)
    assert statements == []
    assert len(panel.grid.captures) == 2001
    assert panel.grid.captures[0].id == capture.id
    assert panel.grid.sections[0].title.endswith("concert.mp4 · 1 portrait")
    from kpopcam.gui.gallery_grid import sections_of

    assert panel.grid.sections == sections_of(panel.grid.captures)  # as if listed again
    panel.add_capture(again)
    assert panel.grid.sections[0].title.endswith("concert.mp4 · 2 portraits")
    assert panel.grid.sections == sections_of(panel.grid.captures)
    assert "Yuna" in panel.chips.names()  # her name joins the star chips


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


def test_the_gallery_benchmark_command_reports_its_figures(capsys):
    import json

    from kpopcam.cli import main

    assert main(["bench", "--gallery", "--captures", "300", "--json"]) == 0
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["captures"] == 300 and figures["last_screen_faces"]
    assert "longest event-loop stall" in out
