"""The enrolment's progress dialog is modal, so drawing progress runs the event loop, and the
enrolment may end (and close the dialog) right then. The window must not crash."""

from __future__ import annotations

from kpopcam.gui.main_window import STARS
from tests.test_enrol_screen import looks


def test_an_enrolment_that_ends_while_its_progress_is_drawn_leaves_no_dialog(
        qtbot, make_window, tmp_path, astronaut):
    window = make_window()
    window.show_tab(STARS)
    stars = window.stars
    stars.enrol("Lisa", [str(p) for p in looks(astronaut, tmp_path, "lisa")])
    # the enrolment ends before the GUI thread draws any of its progress: its progress
    # reports and `enrolled` all wait in the queue
    assert window.bridge.workers.wait(30000)
    stars._on_progress(1, 3, "lisa-crop.jpg")  # shown from here on (minimum duration 0)
    dialog = stars._progress
    assert dialog is not None and dialog.isVisible()

    stars._on_progress(2, 3, "lisa-light.jpg")  # draws, and `enrolled` closes the dialog
    qtbot.waitUntil(lambda: "Lisa:" in window.messages.text, timeout=30000)
    assert window.messages.text == "Lisa: 3 photos added."
    assert stars._progress is None and not dialog.isVisible()
