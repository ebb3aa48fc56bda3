"""The message bar is read on its dark background: its words are drawn light."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from kpopcam.gui.messages import MessageBar


@pytest.mark.parametrize("kind", ["info", "error"])
def test_message_words_are_light_on_the_dark_bar(qtbot, kind):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.resize(600, 40)
    bar.show()
    bar.show_message("Star gallery updated for the new face recogniser (60 faces).", kind=kind)
    picture, words = bar.grab().toImage(), bar.label.geometry()
    lightness = [QColor(picture.pixel(x, y)).lightness()
                 for x in range(words.left(), words.right())
                 for y in range(words.top(), words.bottom())]
    background = QColor(picture.pixel(3, bar.height() // 2)).lightness()
    assert background < 100
    assert max(lightness) > 180 and min(lightness) >= background - 10  # light, none darker
