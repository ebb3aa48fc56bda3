"""Enrolling a star in the window: a photo of another enrolled star is left out, the fan is
told why, and asked whether to add it all the same."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QPushButton, QTextEdit

from kpopcam.gui.main_window import STARS
from kpopcam.gui.messages import DETAILS_MIN_WIDTH
from tests.test_enrol_screen import looks


def test_a_photo_of_another_star_is_left_out_and_explained(qtbot, make_window, tmp_path,
                                                           astronaut, cameraman):
    window = make_window()
    window.show_tab(STARS)
    window.stars.enrol("Jisoo", looks(cameraman, tmp_path, "jisoo"))
    qtbot.waitUntil(lambda: window.stars.list.count() == 1, timeout=30000)

    lisa = looks(astronaut, tmp_path, "lisa") + looks(astronaut[8:, 8:], tmp_path, "lisa2")[:2]
    window.stars.enrol("Lisa", [str(p) for p in lisa] + [str(tmp_path / "jisoo-crop.jpg")])
    qtbot.waitUntil(lambda: "Lisa:" in window.messages.text, timeout=30000)
    assert window.messages.text == "Lisa: 5 photos added, 1 skipped."
    assert "jisoo-crop.jpg: looks more like Jisoo" in window.messages.details
    assert {s.name: s.face_count for s in window.stars.gallery.stars()} == {"Jisoo": 3,
                                                                            "Lisa": 5}

    # the reasons are read in the Details box, wide enough for a sentence a line
    window.messages.show_details()
    box = window.messages._box
    next(b for b in box.findChildren(QPushButton) if "Details" in b.text()).click()
    details = box.findChild(QTextEdit)
    qtbot.waitUntil(details.isVisible, timeout=5000)
    assert "looks more like Jisoo" in details.toPlainText()
    assert details.width() >= DETAILS_MIN_WIDTH
    box.close()

    # asked whether it is Lisa all the same: No keeps her as she is, Yes adds it
    keep = window.stars.keep_box
    assert keep.isVisible() and "jisoo-crop.jpg" in keep.text() and "Lisa" in keep.text()
    keep.button(QMessageBox.StandardButton.No).click()
    qtbot.wait(300)
    assert {s.name: s.face_count for s in window.stars.gallery.stars()}["Lisa"] == 5

    window.stars.enrol("Lisa", [str(tmp_path / "jisoo-crop.jpg")])
    qtbot.waitUntil(lambda: window.stars.keep_box is not keep, timeout=30000)
    window.stars.keep_box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.messages.text == "Lisa: 1 photo added.", timeout=30000)
    assert {s.name: s.face_count for s in window.stars.gallery.stars()}["Lisa"] == 6
