"""Errors and notices reach the fan as a short line in the window; the details (a traceback,
a list of skipped photos) are one click away."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

STYLE = {
    "error": "background:#5a1d2a; color:#ffe6ea; border-radius:6px;",
    "info": "background:#1d3a5a; color:#e6f2ff; border-radius:6px;",
}


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
        self.kind, self.details = kind, details
        self.label.setText(text)
        self.setStyleSheet(f"#messageBar {{{STYLE[kind]}}} QLabel {{color: inherit;}}")
        self.details_button.setVisible(bool(details))
        self.show()

    def show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning if self.kind == "error"
                          else QMessageBox.Icon.Information, "kpopcam", self.label.text(),
                          QMessageBox.StandardButton.Close, self)
        box.setDetailedText(self.details)
        box.open()
        self._box = box

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()
