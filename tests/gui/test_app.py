"""The app driven the way a fan would: real widgets, real models, a real video file."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog

from kpopcam.gui.controls import PICK_FILE
from kpopcam.gui.main_window import GALLERY, STARS
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg
from tests.live.conftest import write_video

STAR = "Eileen"


def pick_video(qtbot, window, monkeypatch, video):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(video), ""))
    combo = window.controls.source
    index = combo.findData(PICK_FILE)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    assert window.controls.source_spec() == str(video)


def test_fan_enrols_watches_a_video_and_keeps_a_portrait(qtbot, make_window, monkeypatch,
                                                          tmp_path, astronaut):
    window = make_window()

    # enrol the star from photos: one good, one without a face, one unreadable
    photos = tmp_path / "photos"
    photos.mkdir()
    good = save_jpeg(astronaut, photos / "eileen.jpg")
    blank = save_jpeg(np.full((200, 200, 3), 90, np.uint8), photos / "wall.jpg")
    broken = photos / "broken.jpg"
    broken.write_bytes(b"not a picture")
    window.show_tab(STARS)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *a, **k: ([good, blank, str(broken)], ""))
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (STAR, True))
    qtbot.mouseClick(window.stars.add_photos, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.stars.list.count() == 1, timeout=20000)
    qtbot.waitUntil(lambda: "skipped" in window.messages.text, timeout=5000)
    assert window.messages.text == f"{STAR}: 1 photo added, 2 skipped."
    assert "wall.jpg: no face found" in window.messages.details
    assert "broken.jpg" in window.messages.details
    assert STAR in [window.controls.star.itemData(i) for i in range(window.controls.star.count())]

    # pick the video, the star and the emotion; space starts
    video = write_video(tmp_path / "concert.mp4", [(0.5, None, 1), (2.5, astronaut, 0.6)])
    window.show_tab(0)
    pick_video(qtbot, window, monkeypatch, video)
    window.controls.star.setCurrentIndex(window.controls.star.findData(STAR))
    window.controls.emotion.setCurrentIndex(window.controls.emotion.findData("happy"))
    analyses = []
    window.bridge.analysed.connect(lambda a: analyses.append(a) if a.faces else None)
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.bridge.engine is not None, timeout=5000)

    # the live view shows frames and the star, named (a few frames after her face: she is
    # recognised beside the analysis), as the target
    qtbot.waitUntil(lambda: any(f.star == STAR for a in analyses for f in a.faces),
                    timeout=15000)
    face = next(f for a in analyses for f in a.faces if f.star == STAR)
    assert face.is_target
    assert window.live.frames_shown > 0
    grab = window.live.grab().toImage()
    assert not grab.isNull()

    # click the face in the live view to add it to the star
    qtbot.waitUntil(lambda: window.live.face_at(*_centre(window, face)) is not None
                    or window.bridge.engine is None, timeout=5000)
    if window.bridge.engine is not None:
        x, y = _centre(window, window.live.analysis.faces[0])
        qtbot.mouseClick(window.live, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
        dialog = window.add_face_dialog  # the face and the star it joins, before adding
        assert dialog.star_name() == STAR and "Joins" in dialog.joins.text()
        dialog.accept()
        qtbot.waitUntil(lambda: "Face added to Eileen" in window.messages.text, timeout=15000)
        assert window.gallery.stars()[0].face_count == 2

    # a capture appears: flash, toast, gallery; the run ends with the video
    qtbot.waitUntil(lambda: len(window.gallery_panel.grid.captures) >= 1, timeout=30000)
    assert window.live.toast_text == f"Saved: {STAR} · happy"
    qtbot.waitUntil(lambda: not window.bridge.is_running, timeout=15000)
    assert window.controls.start_button.text().endswith("Start")
    assert "capture" in window.status_text.text()

    # the gallery, by keyboard: filter by star, open, switch, delete (and undo)
    window.show_tab(GALLERY)
    panel = window.gallery_panel
    assert panel.set_star(STAR)
    assert len(panel.grid.captures) >= 1
    runs = {c.session for c in panel.grid.captures}
    assert len(runs) == 1 and None not in runs  # the run stamped each of its captures
    panel.emotion.setCurrentIndex(panel.emotion.findData("sad"))
    assert len(panel.grid.captures) == 0
    panel.emotion.setCurrentIndex(0)
    count = len(panel.grid.captures)
    capture = panel.grid.captures[0]
    qtbot.waitUntil(lambda: panel.grid.has_thumbnail(capture.id), timeout=5000)
    panel.grid.select(0)
    qtbot.keyClick(panel.grid, Qt.Key.Key_Return)
    viewer = panel.viewer
    assert viewer.isVisible() and viewer.showing_portrait
    qtbot.mouseClick(viewer.toggle, Qt.MouseButton.LeftButton)
    assert not viewer.showing_portrait
    viewer.accept()
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    assert len(panel.grid.captures) == count - 1
    assert not capture.portrait.exists() and not capture.original.exists()
    qtbot.mouseClick(panel.notice.action, Qt.MouseButton.LeftButton)  # Undo
    assert len(panel.grid.captures) == count and capture.portrait.exists()


def _centre(window, face):
    r = window.live.face_rect(face, window.live.analysis.frame_size
                              if window.live.analysis else (640, 480))
    return r.center().x(), r.center().y()


def test_choices_and_source_are_remembered(qtbot, make_window, monkeypatch, tmp_path,
                                           astronaut):
    window = make_window()
    video = write_video(tmp_path / "clip.mp4", [(0.2, astronaut, 0.5)])
    pick_video(qtbot, window, monkeypatch, video)
    window.controls.emotion.setCurrentIndex(window.controls.emotion.findData("surprise"))
    window.controls.min_score.setValue(72)
    window.controls.hold.setValue(1.5)
    window.controls.blur.setValue(6.0)
    window.resize(700, 520)
    window.close()

    saved = Settings.load(tmp_path / "config" / "settings.toml")
    assert (saved.trigger.emotion, saved.trigger.min_score, saved.trigger.hold_s) == (
        "surprise", 0.72, 1.5)
    assert saved.portrait.strength == 6.0
    again = make_window()
    c = again.controls
    assert c.emotion.currentData() == "surprise" and c.min_score.value() == 72
    assert c.hold.value() == pytest.approx(1.5) and c.blur.value() == pytest.approx(6.0)
    assert c.source_spec() == str(video)
    assert (again.width(), again.height()) == (700, 520)


def test_no_camera_and_bad_source_are_told_in_the_window(qtbot, make_window, monkeypatch,
                                                         tmp_path):
    window = make_window()
    # this machine has no camera: the window says so and offers the others
    qtbot.waitUntil(lambda: "camera" in window.controls.camera_note.text().lower()
                    and "Looking" not in window.controls.camera_note.text(), timeout=10000)
    if not any(str(window.controls.source.itemData(i)).startswith("camera:")
               for i in range(window.controls.source.count())):
        assert "No camera found" in window.messages.text
        assert window.controls.source_spec() == "screen"

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    pick_video(qtbot, window, monkeypatch, broken)
    qtbot.waitUntil(lambda: "cannot be opened" in window.messages.text, timeout=10000)
    window.messages.dismiss()  # the preview found it already; Start must say it again
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot be opened" in window.messages.text, timeout=10000)
    assert window.messages.kind == "error" and window.messages.details
    assert window.controls.start_button.text().endswith("Start")


def test_without_a_screen_the_app_says_so_instead_of_crashing(monkeypatch, capsys):
    import sys

    from kpopcam.gui.app import run_app

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert run_app(None) == 2
    assert "no screen" in capsys.readouterr().err


def test_closing_while_models_load_waits_for_them_out_of_sight(qtbot, tmp_path, gui_loader):
    """Closing the window during the first seconds must not leave a thread importing torch
    while Python shuts down (that ends in a baffling error in the terminal)."""
    import time

    from kpopcam.gui.main_window import MainWindow

    def slow_loader(settings, gallery, progress):
        time.sleep(1.5)
        return gui_loader(settings, gallery, progress)

    gallery = StarGallery(tmp_path / "stars.sqlite")
    window = MainWindow(Settings(), gallery, tmp_path / "settings.toml", loader=slow_loader)
    qtbot.addWidget(window)
    window.show()
    window.start_background_work()
    hidden_at = []
    window.bridge.wait_for_tasks = (
        lambda wait=window.bridge.wait_for_tasks: hidden_at.append(window.isVisible()) or wait()
    )
    window.close()
    assert hidden_at == [False]  # out of sight before waiting
    assert window.workers.pool.activeThreadCount() == 0
    gallery.close()
