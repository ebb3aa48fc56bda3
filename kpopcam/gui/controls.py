"""The fan's choices beside the live view: source, target star and emotion, sensitivity,
portrait blur, capture folder, and Start/Stop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from kpopcam.gui.region_picker import WindowChooser, pick_region
from kpopcam.settings import Settings
from kpopcam.types import EMOTIONS

ANY_STAR = ""
PICK_FILE, PICK_REGION, PICK_WINDOW = "pick:file", "pick:region", "pick:window"
NO_WINDOW_LIST = ("Windows cannot be listed on this system (only under X11): drag a screen "
                  "region instead.")
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v *.mpg *.mpeg);;All files (*)"


class ControlPanel(QWidget):
    start_stop = Signal()
    rule_changed = Signal()  # star, emotion or sensitivity
    source_changed = Signal(str)

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumWidth(250)
        self.setMaximumWidth(330)
        layout = QVBoxLayout(self)

        source_box = QGroupBox("Source")
        source_layout = QVBoxLayout(source_box)
        self.source = QComboBox()
        self.source.setAccessibleName("Source")
        self.source.setMinimumContentsLength(14)
        self.source.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.camera_note = QLabel("Looking for cameras…")
        self.camera_note.setWordWrap(True)
        source_layout.addWidget(self.source)
        source_layout.addWidget(self.camera_note)
        self._fill_sources([])
        self._last_source = ""
        self.source.activated.connect(self._source_activated)

        target_box = QGroupBox("Catch")
        form = QFormLayout(target_box)
        self.star = QComboBox()
        self.star.setAccessibleName("Target star")
        self.emotion = QComboBox()
        self.emotion.setAccessibleName("Target emotion")
        for emotion in EMOTIONS:
            self.emotion.addItem(emotion, emotion)
        self.min_score = QSlider(Qt.Orientation.Horizontal)
        self.min_score.setAccessibleName("Minimum score")
        self.min_score.setRange(5, 100)
        self.min_score_label = QLabel()
        score_row = QHBoxLayout()
        score_row.addWidget(self.min_score, 1)
        score_row.addWidget(self.min_score_label)
        self.hold = QDoubleSpinBox()
        self.hold.setRange(0.0, 10.0)
        self.hold.setSingleStep(0.1)
        self.hold.setSuffix(" s")
        form.addRow("Star", self.star)
        form.addRow("Emotion", self.emotion)
        form.addRow("Min score", score_row)
        form.addRow("Hold for", self.hold)

        portrait_box = QGroupBox("Portrait")
        pform = QFormLayout(portrait_box)
        self.blur = QDoubleSpinBox()
        self.blur.setRange(0.0, 25.0)
        self.blur.setSingleStep(0.5)
        self.blur.setSuffix(" %")
        self.blur.setToolTip("Background blur radius, percent of the picture's shorter side")
        self.folder = QPushButton()
        self.folder.setToolTip("Folder where portraits are saved")
        self.folder.clicked.connect(self._pick_folder)
        pform.addRow("Blur", self.blur)
        pform.addRow("Save to", self.folder)

        self.start_button = QPushButton("Loading models…")
        self.start_button.setEnabled(False)
        self.start_button.setMinimumHeight(40)
        self.start_button.setToolTip("Start or stop watching (space)")
        self.start_button.clicked.connect(self.start_stop)

        layout.addWidget(source_box)
        layout.addWidget(target_box)
        layout.addWidget(portrait_box)
        layout.addStretch(1)
        layout.addWidget(self.start_button)

        self.set_settings(settings)
        self.star.currentIndexChanged.connect(self.rule_changed)
        self.emotion.currentIndexChanged.connect(self.rule_changed)
        self.min_score.valueChanged.connect(self._score_moved)
        self.hold.valueChanged.connect(self.rule_changed)

    # -- settings in and out -------------------------------------------------------------------

    def set_settings(self, settings: Settings) -> None:
        t = settings.trigger
        self._wanted_star = t.star
        self.set_stars([self.star.itemData(i) for i in range(1, self.star.count())])
        self.emotion.setCurrentIndex(EMOTIONS.index(t.emotion))
        self.min_score.setValue(round(t.min_score * 100))
        self._score_moved(self.min_score.value(), emit=False)
        self.hold.setValue(t.hold_s)
        self.blur.setValue(settings.portrait.strength)
        self._folder = settings.capture.path
        self._folder_setting = settings.capture.folder
        self.folder.setText(_short(self._folder))

    def choices(self) -> dict:
        """The fan's choices as a settings update."""
        return {
            "trigger": {"star": self.star.currentData() or "",
                        "emotion": self.emotion.currentData(),
                        "min_score": self.min_score.value() / 100,
                        "hold_s": round(self.hold.value(), 2)},
            "portrait": {"strength": round(self.blur.value(), 2)},
            "capture": {"folder": self._folder_setting},
        }

    def set_stars(self, names: list[str]) -> None:
        current = self.star.currentData() if self.star.count() else self._wanted_star
        wanted = current if current is not None else self._wanted_star
        self.star.blockSignals(True)
        self.star.clear()
        self.star.addItem("Any enrolled star", ANY_STAR)
        for name in names:
            self.star.addItem(name, name)
        if wanted and wanted not in names:
            self.star.addItem(f"{wanted} (not enrolled)", wanted)
        self.star.setCurrentIndex(max(0, self.star.findData(wanted)))
        self.star.blockSignals(False)

    def set_running(self, running: bool | None) -> None:
        """True: running; False: ready to start; None: models still loading."""
        self.start_button.setEnabled(running is not None)
        self.start_button.setText({None: "Loading models…", True: "■  Stop",
                                   False: "▶  Start"}[running])
        for widget in (self.source, self.blur, self.folder):
            widget.setEnabled(not running)

    # -- sources -------------------------------------------------------------------------------

    def set_cameras(self, cameras: list[int]) -> None:
        spec = self.source_spec()
        self._fill_sources(cameras)
        if cameras:
            self.camera_note.setText(f"{len(cameras)} camera(s) found.")
        else:
            self.camera_note.setText("No camera found: pick a video file or the screen.")
        if spec:
            self.set_source(spec)

    def _fill_sources(self, cameras: list[int]) -> None:
        extra = [(self.source.itemText(i), self.source.itemData(i))
                 for i in range(self.source.count())
                 if not str(self.source.itemData(i)).startswith(("camera:", "pick:", "screen"))]
        self.source.blockSignals(True)
        self.source.clear()
        for index in cameras:
            self.source.addItem(f"Camera {index}", f"camera:{index}")
        for text, data in extra:
            self.source.addItem(text, data)
        self.source.addItem("Whole screen", "screen")
        self.source.addItem("A window…", PICK_WINDOW)
        self.source.addItem("Screen region…", PICK_REGION)
        self.source.addItem("Video file…", PICK_FILE)
        self.source.blockSignals(False)

    def is_video_file(self) -> bool:
        spec = self.source_spec()
        return bool(spec) and not spec.startswith(("camera:", "screen", "window:")) and Path(
            spec).is_file()

    def source_spec(self) -> str:
        data = self.source.currentData()
        return "" if data is None or str(data).startswith("pick:") else str(data)

    def set_source(self, spec: str) -> bool:
        """Select a source by its spec, adding a file or region if needed; False if it is a
        camera that is not there."""
        index = self.source.findData(spec)
        if index < 0:
            if spec.startswith("camera:"):
                return False
            text = _source_text(spec)
            if not text:
                return False
            index = self.source.findData("screen")
            self.source.insertItem(index, text, spec)
            self.source.setItemData(index, spec, Qt.ItemDataRole.ToolTipRole)
        self.source.setCurrentIndex(index)
        self._last_source = spec
        if not spec.startswith("camera:"):
            self.camera_note.hide()  # the "no camera" hint has done its job
        return True

    def _source_activated(self, _index: int) -> None:
        data = self.source.currentData()
        if data == PICK_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Pick a video", "", VIDEO_FILTER)
            self._picked(path or "")
        elif data == PICK_REGION:
            pick_region(self.window(), self._picked)
        elif data == PICK_WINDOW:
            self._pick_window()
        else:
            self._picked(str(data))

    def _pick_window(self) -> None:
        from kpopcam.live.windows import list_windows

        windows = list_windows()
        if windows is None or not windows:
            self.camera_note.setText(NO_WINDOW_LIST if windows is None
                                     else "No other window is open: drag a screen region.")
            self.camera_note.show()
            pick_region(self.window(), self._picked)
            return
        chooser = self.window_chooser = WindowChooser(windows, self)
        chooser.accepted.connect(lambda: self._picked(chooser.spec()))
        chooser.rejected.connect(lambda: self._picked(""))
        chooser.open()

    def _picked(self, spec: str) -> None:
        if spec and self.set_source(spec):
            self.source_changed.emit(spec)
        elif self._last_source:
            self.set_source(self._last_source)

    # -- small slots ---------------------------------------------------------------------------

    def _score_moved(self, value: int, emit: bool = True) -> None:
        self.min_score_label.setText(f"{value / 100:.2f}")
        if emit:
            self.rule_changed.emit()

    def _pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save portraits to", str(self._folder))
        if folder:
            self._folder, self._folder_setting = Path(folder), folder
            self.folder.setText(_short(self._folder))
            self.rule_changed.emit()

    @property
    def capture_folder(self) -> Path:
        return self._folder


def _source_text(spec: str) -> str:
    """How a file, region or window source reads in the list ("" for a window now gone)."""
    kind, _, rest = spec.partition(":")
    if kind == "screen":
        left, top, width, height = (rest.split(",") + ["?"] * 4)[:4]
        return f"Screen {width}×{height} at {left},{top}"
    if kind == "window":
        from kpopcam.live.windows import find_window

        try:
            window = find_window(int(rest, 0))
        except ValueError:
            return ""
        return f"Window: {window.title}" if window else ""
    return Path(spec).name


def _short(path: Path, keep: int = 28) -> str:
    text = str(path).replace(str(Path.home()), "~", 1)
    return text if len(text) <= keep else "…" + text[-keep + 1:]
