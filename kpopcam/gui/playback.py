"""Under the live view while a video file is the source: pause, a seek bar and the time.
It only says what the fan asked for (seek_requested, pause_toggled); the main window hands that
to the bridge, whose source thread carries it out."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QStyle, QWidget


class PlaybackBar(QWidget):
    seek_requested = Signal(int)  # frame of the video
    pause_toggled = Signal(bool)  # True: pause

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.pause_button = QPushButton()
        self.pause_button.setFixedWidth(40)
        self.pause_button.setAccessibleName("Pause")
        self.pause_button.setToolTip("Pause or play the video (P)")
        self.pause_button.setShortcut("P")
        self.pause_button.clicked.connect(lambda: self.pause_toggled.emit(not self.paused))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Position in the video")
        self.slider.setToolTip("Drag to seek; before Start it picks where the run begins")
        self.slider.valueChanged.connect(self._moved)
        self.time = QLabel("0:00 / 0:00")
        self.time.setMinimumWidth(self.time.fontMetrics().horizontalAdvance("00:00 / 00:00") + 8)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.time)
        self.paused = False
        self.fps = 30.0
        self._quiet = False  # set_position moving the slider is not a fan's seek
        self.set_running(False)

    @property
    def position(self) -> int:
        return self.slider.value()

    def start_position(self) -> int:
        """Where a run starts: here, or from the beginning once the video has ended."""
        return 0 if self.position >= self.slider.maximum() else self.position

    def set_video(self, frame_count: int, fps: float) -> None:
        self.fps = fps or 30.0
        self._quiet = True
        self.slider.setRange(0, max(0, frame_count - 1))
        self._quiet = False
        self._show_time()

    def set_position(self, position: int | None) -> None:
        """Where the video is; ignored while the fan holds the slider."""
        if position is None or self.slider.isSliderDown():
            return
        self._quiet = True
        self.slider.setValue(position)
        self._quiet = False
        self._show_time()

    def set_paused(self, paused: bool) -> None:
        """The button shows what a click does (icons: not every font has ⏸)."""
        self.paused = paused
        icon = (QStyle.StandardPixmap.SP_MediaPlay if paused
                else QStyle.StandardPixmap.SP_MediaPause)
        self.pause_button.setIcon(self.style().standardIcon(icon))
        self.pause_button.setAccessibleName("Play" if paused else "Pause")

    def set_running(self, running: bool) -> None:
        """Pause works during a run; before it the bar picks where the run starts."""
        self.pause_button.setEnabled(running)
        if not running:
            self.set_paused(False)

    def _moved(self, value: int) -> None:
        self._show_time()
        if not self._quiet:
            self.seek_requested.emit(value)

    def _show_time(self) -> None:
        self.time.setText(f"{_clock(self.slider.value() / self.fps)} / "
                          f"{_clock(self.slider.maximum() / self.fps)}")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
