"""With one star enrolled, the Stars tab tells the fan that her look-alikes (her group's other
members) may be taken for her, and how to prevent it; the hint goes once a second star is in."""

from __future__ import annotations

from kpopcam.gui.main_window import STARS
from tests.conftest import save_jpeg


def test_one_star_alone_is_warned_about_look_alikes(qtbot, make_window, tmp_path, astronaut,
                                                     cameraman):
    window = make_window()
    window.show_tab(STARS)
    hint = window.stars.one_star
    assert hint.isHidden()  # no star yet: the empty text says what to do

    window.stars.enrol("Lisa", [save_jpeg(astronaut, tmp_path / "lisa.jpg")])
    qtbot.waitUntil(lambda: window.stars.list.count() == 1, timeout=20000)
    assert not hint.isHidden()
    assert "Only Lisa is enrolled" in hint.text() and "Enrol the others" in hint.text()

    window.stars.enrol("Jisoo", [save_jpeg(cameraman, tmp_path / "jisoo.jpg")])
    qtbot.waitUntil(lambda: window.stars.list.count() == 2, timeout=20000)
    assert hint.isHidden()
