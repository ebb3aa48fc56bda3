"""Errors and notices reach the fan in one place, a bar at the top of the window, as one
sentence; the rest (a traceback, a list of skipped photos) is one click away."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

HEADLINE_CHARS = 160
DETAILS_MIN_WIDTH = 560
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z(])")

STYLE = {"error": ("#5a1d2a", "#ffe6ea"), "info": ("#1d3a5a", "#e6f2ff")}  # background, text


class MessageBar(QFrame):
    """A one-line message with a Details… button and a close button; hidden when empty."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(self.show_details)
        close = QPushButton("✕")
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self.details = ""
        self.kind = ""
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, details: str = "", kind: str = "error") -> None:
        headline, rest = one_sentence(text)
        self.kind = kind
        self.details = "\n\n".join(part for part in (rest, details) if part)
        self.label.setText(headline)
        background, text_colour = STYLE[kind]
        # Qt has no `color: inherit`: the label names its colour (only the bar's own label,
        # not those of the Details box, a child of the bar too)
        self.setStyleSheet(f"#messageBar {{background:{background}; border-radius:6px;}} "
                           f"#messageBar > QLabel {{color:{text_colour};}}")
        self.details_button.setVisible(bool(details))
        self.show()

    def show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning if self.kind == "error"
                          else QMessageBox.Icon.Information, "kpopcam", self.label.text(),
                          QMessageBox.StandardButton.Close, self)
        box.setDetailedText(self.details)
        # QMessageBox sizes its details to the one-line headline: lists of skipped photos with
        # their reasons wrapped to four words a line
        box.setStyleSheet(f"QTextEdit {{min-width: {DETAILS_MIN_WIDTH}px; min-height: 180px;}}")
        box.open()
        self._box = box

    def dismiss_if(self, text: str) -> None:
        """Dismiss the message if it is still this one (a hint that has done its job)."""
        if self.text == one_sentence(text)[0]:
            self.dismiss()

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()


def one_sentence(text: str) -> tuple[str, str]:
    """The first sentence of a message (cut short if very long), and the rest of it."""
    text = " ".join(text.split())
    first, *rest = _SENTENCE_END.split(text, maxsplit=1)
    if len(first) > HEADLINE_CHARS:
        cut = first.rfind(" ", 0, HEADLINE_CHARS)
        return first[:cut if cut > 0 else HEADLINE_CHARS] + "…", text
    return first, rest[0] if rest else ""
