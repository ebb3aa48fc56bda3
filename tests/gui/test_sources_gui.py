"""Choosing what to watch, and the live view around it, driven as a fan would: the region
picker over a real screen grab, the window list of a real X server, a real video file
previewed, sought and paused under the real engine, errors in one place."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QInputDialog

from kpopcam.gui.bridge import bgr_qimage
from kpopcam.gui.controls import NO_WINDOW_LIST, PICK_REGION, PICK_WINDOW
from kpopcam.gui.main_window import IDLE_TEXT
from kpopcam.gui.region_picker import RegionPicker
from kpopcam.live.sources import grab_screen
from tests.gui.test_app import pick_video
from tests.live.test_playback import coded_video, shown_number
from tests.x_server import BLUE, RED


def rgb_of(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * h).reshape(
        h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def bgr_to_rgb(pixel: int) -> np.ndarray:
    return np.array([pixel >> 16, pixel >> 8 & 255, pixel & 255])


def drag(qtbot, widget, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    steps = 6
    for i in range(1, steps + 1):  # QTest.mouseMove sends no button state: a real event
        from PySide6.QtCore import QPointF
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        at = QPointF(start + (end - start) * i / steps)
        QApplication.sendEvent(widget, QMouseEvent(
            QMouseEvent.Type.MouseMove, at, widget.mapToGlobal(at), Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    return None


def test_dragging_over_the_dimmed_screen_picks_the_region_in_screen_pixels(qtbot, desktop):
    grab = grab_screen()  # the real X screen, 1280x800
    picker = RegionPicker(bgr_qimage(grab.image), (grab.left, grab.top), QRect(0, 0, 640, 400))
    qtbot.addWidget(picker)
    picker.show()
    before = rgb_of(picker.grab().toImage())
    # dimmed: the red stream window is there, but darker than on the screen
    assert (before[100, 200] < bgr_to_rgb(RED) - 40).any()
    picked = []
    picker.picked.connect(picked.append)

    drag(qtbot, picker, QPoint(50, 30), QPoint(370, 210))  # half scale: 100,60 to 740,420
    assert picker.region() == (100, 60, 640, 360)
    during = rgb_of(picker.grab().toImage())
    assert np.abs(during[100, 200].astype(int) - bgr_to_rgb(RED)).max() <= 3  # bright inside
    assert (during[150, 450] < bgr_to_rgb(BLUE) - 40).any()  # the chat stays dimmed
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(370, 210))
    assert picked == [(100, 60, 640, 360)]
    assert not picker.isVisible()


def test_a_click_without_a_drag_picks_nothing_and_escape_cancels(qtbot, desktop):
    grab = grab_screen()
    picker = RegionPicker(bgr_qimage(grab.image), (0, 0), QRect(0, 0, 640, 400))
    qtbot.addWidget(picker)
    picker.show()
    picked, cancelled = [], []
    picker.picked.connect(picked.append)
    picker.cancelled.connect(lambda: cancelled.append(True))
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert picked == [] and picker.isVisible()
    qtbot.keyClick(picker, Qt.Key.Key_Escape)
    assert cancelled == [True] and not picker.isVisible()


def choose(window, data) -> None:
    combo = window.controls.source
    index = combo.findData(data)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_fan_picks_a_screen_region_and_a_window_from_the_app(qtbot, make_window, desktop):
    window = make_window()
    choose(window, PICK_REGION)
    qtbot.waitUntil(lambda: getattr(window, "region_picker", None) is not None, timeout=5000)
    picker = window.region_picker
    assert not window.isVisible()  # out of the way of the screen it grabs
    scale = picker.grab_image.width() / picker.width()
    drag(qtbot, picker, QPoint(round(100 / scale), round(60 / scale)),
         QPoint(round(740 / scale), round(420 / scale)))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton,
                       pos=QPoint(round(740 / scale), round(420 / scale)))
    assert window.isVisible()
    spec = window.controls.source_spec()
    left, top, width, height = (int(v) for v in spec.removeprefix("screen:").split(","))
    assert abs(left - 100) <= scale and abs(width - 640) <= 2 * scale  # offscreen Qt: its scale
    assert window.controls.source.currentText().startswith(f"Screen {width}×{height}")
    still = rgb_of(window.live.image)  # the live view shows what the region held
    assert abs(still.shape[1] - width) <= 1
    assert np.abs(still[still.shape[0] // 2, still.shape[1] // 2].astype(int)
                  - bgr_to_rgb(RED)).max() <= 3

    choose(window, PICK_WINDOW)
    chooser = window.controls.window_chooser
    titles = [chooser.list.item(i).text() for i in range(chooser.list.count())]
    assert titles == ["Concert stream — Browser  (640×360)", "Chat  (300×500)"]
    chooser.list.setCurrentRow(0)
    chooser.accept()
    assert window.controls.source_spec() == f"window:{desktop[0].id:#x}"
    assert window.controls.source.currentText() == "Window: Concert stream — Browser"

    # watching it: the live view shows that window, and only it
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.live.frames_shown >= 5, timeout=15000)
    seen = rgb_of(window.live.image)
    assert seen.shape == (360, 640, 3)
    assert np.abs(seen.astype(int) - bgr_to_rgb(RED)).max() <= 3
    assert window.status_text.text().startswith("Watching Concert stream — Browser")
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.bridge.is_running, timeout=15000)


def test_without_x11_the_window_choice_says_so_and_offers_the_region(qtbot, make_window,
                                                                     monkeypatch):
    window = make_window()
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("10,20,320,240", True))
    choose(window, PICK_WINDOW)
    assert window.controls.camera_note.text() == NO_WINDOW_LIST
    assert window.controls.camera_note.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.controls.source_spec() == "screen:10,20,320,240",
                    timeout=5000)  # no screen to grab either: typed, the advanced fallback


def test_the_no_camera_hint_goes_once_a_video_is_chosen(qtbot, make_window, monkeypatch,
                                                        tmp_path):
    window = make_window()
    qtbot.waitUntil(lambda: "Looking" not in window.controls.camera_note.text(), timeout=10000)
    if window.controls.source.findData("camera:0") >= 0:
        pytest.skip("this machine has a camera")
    assert "No camera found" in window.messages.text
    pick_video(qtbot, window, monkeypatch, coded_video(tmp_path / "clip.mp4"))
    assert window.messages.text == ""
    assert not window.controls.camera_note.isVisibleTo(window)


def test_a_video_is_previewed_sought_started_there_paused_and_sought_while_paused(
        qtbot, make_window, monkeypatch, tmp_path):
    window = make_window()
    video = coded_video(tmp_path / "numbers.mp4", frames=150, fps=15.0)  # 10 s
    pick_video(qtbot, window, monkeypatch, video)
    bar, live = window.playback, window.live

    # before Start: the first frame, the bar and the length
    qtbot.waitUntil(lambda: live.image is not None, timeout=5000)
    assert bar.isVisible() and shown_number(rgb_of(live.image)) == 0
    assert bar.time.text() == "0:00 / 0:09" and not bar.pause_button.isEnabled()
    bar.slider.setValue(60)  # the fan drags the bar: the preview follows
    qtbot.waitUntil(lambda: shown_number(rgb_of(live.image)) == 60, timeout=5000)
    assert bar.time.text() == "0:04 / 0:09"

    # Start plays from there
    positions = []
    window.bridge.frame_ready.connect(
        lambda: positions.append(window.bridge.latest_frame().position))
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(positions) >= 5, timeout=15000)
    assert positions[0] == 60 and positions == sorted(positions)
    assert bar.slider.value() >= 60

    # the fan scrubs the bar during the run: every frame shown is the one it says it is
    frames = []
    window.bridge.frame_ready.connect(lambda: frames.append(window.bridge.latest_frame()))
    rng = np.random.default_rng(0)
    scrubs = 0
    while scrubs < 150 or (len(frames) <= 10 and scrubs < 3000):  # a busy CI shows fewer
        bar.slider.setValue(int(rng.integers(0, 140)))
        qtbot.wait(int(rng.integers(0, 4)))
        scrubs += 1
    bar.slider.setValue(20)
    qtbot.waitUntil(lambda: frames[-1].position in range(20, 30), timeout=5000)
    assert len(frames) > 10
    assert [f.position for f in frames if shown_number(f.image) != f.position] == []

    # pause: the picture holds
    qtbot.mouseClick(bar.pause_button, Qt.MouseButton.LeftButton)
    assert bar.pause_button.accessibleName() == "Play"
    qtbot.wait(300)
    held = live.frames_shown
    qtbot.wait(600)  # nine frames' time
    assert live.frames_shown == held

    # a seek while paused shows that frame and stays paused
    bar.slider.setValue(120)
    qtbot.waitUntil(lambda: shown_number(rgb_of(live.image)) == 120, timeout=5000)
    assert bar.slider.value() == 120
    qtbot.wait(500)
    assert shown_number(rgb_of(live.image)) == 120

    # play on, then stop
    qtbot.mouseClick(bar.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown_number(rgb_of(live.image)) >= 125, timeout=5000)
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.bridge.is_running, timeout=15000)
    assert not bar.pause_button.isEnabled() and bar.pause_button.accessibleName() == "Pause"


def test_an_error_is_told_once_in_the_bar_with_details_a_click_away(qtbot, make_window,
                                                                   monkeypatch, tmp_path):
    window = make_window()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    pick_video(qtbot, window, monkeypatch, broken)
    qtbot.waitUntil(lambda: "cannot be opened" in window.messages.text, timeout=5000)
    window.messages.dismiss()
    qtbot.mouseClick(window.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot be opened" in window.messages.text, timeout=10000)
    qtbot.waitUntil(lambda: window.controls.start_button.text().endswith("Start"),
                    timeout=5000)
    assert "cannot be opened" not in window.status_text.text()
    assert window.live.message == IDLE_TEXT or window.live.image is not None
    assert window.messages.details  # the traceback, one click away

    window.show_error("The run stopped: the disk is full. Free some space and start again.",
                      "Traceback …")
    assert window.messages.text == "The run stopped: the disk is full."
    assert window.messages.details.startswith("Free some space and start again.")
    window.messages.show_details()
    assert "Traceback" in window.messages._box.detailedText()
    window.messages._box.close()
