"""The faces of a run in the live view, with the real engine and models: "Add this face" shows
the clicked face and its star before adding, and each capture of the run appears in the
session strip as the star's face with its time, opening the capture when clicked."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDesktopServices

from tests.conftest import save_jpeg
from tests.gui.test_app import pick_video
from tests.gui.test_sources_gui import rgb_of
from tests.live.conftest import write_video

STAR = "Eileen"


def test_add_a_face_then_see_and_open_this_runs_captures(qtbot, make_window, monkeypatch,
                                                         tmp_path, astronaut, detector):
    window = make_window(star=STAR, emotion="happy")
    window.stars.enrol(STAR, [save_jpeg(astronaut, tmp_path / "eileen.jpg")])
    qtbot.waitUntil(lambda: window.stars.list.count() == 1, timeout=20000)
    video = write_video(tmp_path / "concert.mp4", [(0.5, None, 1), (5.0, astronaut, 0.6)])
    pick_video(qtbot, window, monkeypatch, video)
    faces = []
    window.bridge.captured_face.connect(lambda capture, face: faces.append((capture, face)))
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)

    # pause: her box stays drawn on the held picture, to be clicked at leisure
    qtbot.waitUntil(lambda: bool(window.live.analysis and window.live.analysis.faces),
                    timeout=20000)
    qtbot.mouseClick(window.playback.pause_button, Qt.MouseButton.LeftButton)
    qtbot.wait(1500)  # longer than an analysis stays drawn while the video plays
    drawn = window.live.faces_drawn
    window.live.repaint()
    assert window.live.faces_drawn > drawn
    qtbot.mouseClick(window.playback.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.live.draws_analysis() and bool(window.live.analysis.faces),
                    timeout=10000)

    # click the star in the live view: the dialog shows her face and where it goes
    r = window.live.face_rect(window.live.analysis.faces[0], window.live.analysis.frame_size)
    qtbot.mouseClick(window.live, Qt.MouseButton.LeftButton,
                     pos=QPoint(int(r.center().x()), int(r.center().y())))
    dialog = window.add_face_dialog
    assert window.playback.paused  # the video holds while she is added
    shown = rgb_of(dialog.picture.pixmap().toImage())
    found = detector.detect(shown, color="rgb")
    assert len(found) == 1  # the clicked face, cut out ...
    x1, y1, x2, y2 = found[0].box
    assert x2 - x1 > 0.3 * shown.shape[1]  # ... large, in the middle
    assert abs((x1 + x2) / 2 - shown.shape[1] / 2) < 0.15 * shown.shape[1]
    assert dialog.joins.text() == f"Joins <b>{STAR}</b> (1 face so far)."
    dialog.name.setCurrentText("Jisoo")
    assert dialog.joins.text() == "Starts a new star: <b>Jisoo</b>."
    dialog.name.setCurrentText(STAR)
    dialog.accept()
    assert not window.playback.paused
    qtbot.waitUntil(lambda: f"Face added to {STAR}" in window.messages.text, timeout=20000)
    assert window.gallery.stars()[0].face_count == 2

    # a capture lands in the strip as her face with its time
    # (the strip and the face signal are two deliveries of one capture: wait for both)
    qtbot.waitUntil(lambda: window.strip.count() >= 1 and bool(faces), timeout=30000)
    capture, face = faces[0]
    assert len(detector.detect(rgb_of(face), color="rgb")) == 1
    item = window.strip.item(0)
    assert not item.icon().isNull() and item.text().count(":") == 2  # 21:04:05
    assert window.strip.isVisible()

    # clicking it opens the gallery's viewer on that capture
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    rect = window.strip.visualItemRect(item)
    qtbot.mouseClick(window.strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    viewer = window.gallery_panel.viewer
    assert viewer is not None and viewer.isVisible() and opened == []
    assert viewer.captures[viewer.index].id == capture.id
    viewer.close()

    # a new run has a strip of its own
    qtbot.waitUntil(lambda: not window.bridge.is_running, timeout=30000)
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.bridge.is_running and window.status_text.text()
                    .startswith("Watching"), timeout=10000)
    assert window.strip.count() == 0 and not window.strip.isVisible()
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.bridge.is_running, timeout=30000)
