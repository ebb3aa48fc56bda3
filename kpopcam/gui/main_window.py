"""The main window: live view and controls, stars, gallery; status bar; remembered choices."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kpopcam.gui.bridge import EngineBridge, load_models
from kpopcam.gui.controls import ControlPanel
from kpopcam.gui.gallery_panel import GalleryPanel
from kpopcam.gui.live_view import LiveView
from kpopcam.gui.messages import MessageBar
from kpopcam.gui.stars_panel import StarsPanel, ask_star_name
from kpopcam.gui.workers import Workers
from kpopcam.settings import Settings, SettingsError, default_path
from kpopcam.stars import StarGallery

LIVE, STARS, GALLERY = range(3)


def window_state(config_path: Path | None = None) -> QSettings:
    """Window geometry and the last source, beside the settings file (not in settings.toml:
    the source is not a setting the engine reads)."""
    path = (config_path or default_path()).with_name("window.ini")
    return QSettings(str(path), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, gallery: StarGallery,
                 config_path: Path | None = None, loader=load_models):
        super().__init__()
        self.settings, self.gallery, self.config_path = settings, gallery, config_path
        self.setWindowTitle("kpopcam")
        self.state = window_state(config_path)
        self.workers = Workers(self)
        self.bridge = EngineBridge(settings, gallery, self.workers, loader, self)

        self.messages = MessageBar()
        self.live = LiveView()
        self.controls = ControlPanel(settings)
        self.stars = StarsPanel(gallery, self.bridge)
        self.gallery_panel = GalleryPanel(settings.capture.path)
        live_page = QWidget()
        live_layout = QHBoxLayout(live_page)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(self.live, 1)
        live_layout.addWidget(self.controls)
        self.tabs = QTabWidget()
        self.tabs.addTab(live_page, "&Live")
        self.tabs.addTab(self.stars, "&Stars")
        self.tabs.addTab(self.gallery_panel, "&Gallery")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.messages)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.status_text = QLabel("Starting…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.captures_this_session = 0

        self._connect()
        self._restore()

    # -- wiring --------------------------------------------------------------------------------

    def _connect(self) -> None:
        b, c = self.bridge, self.controls
        b.loading.connect(self._on_loading)
        b.ready.connect(self._on_ready)
        b.frame_ready.connect(lambda: self.live.set_frame(b.latest_image()))
        b.analysed.connect(self.live.set_analysis)
        b.captured.connect(self._on_captured)
        b.stats_changed.connect(self._on_stats)
        b.started.connect(self._on_started)
        b.stopped.connect(self._on_stopped)
        b.failed.connect(self.show_error)
        b.cameras_found.connect(self._on_cameras)
        b.stars_changed.connect(lambda: c.set_stars(self.stars.names()))
        b.face_added.connect(lambda name: self.show_info(f"Face added to {name}."))
        c.start_stop.connect(self.toggle_running)
        c.rule_changed.connect(self._on_rule_changed)
        c.source_changed.connect(lambda spec: self.state.setValue("source", spec))
        self.live.face_clicked.connect(self._on_face_clicked)
        self.stars.message.connect(self._show)
        self.gallery_panel.message.connect(self._show)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.toggle_running)
        for i, key in enumerate(("Ctrl+1", "Ctrl+2", "Ctrl+3")):
            QShortcut(QKeySequence(key), self, lambda i=i: self.show_tab(i))
        c.set_stars(self.stars.names())

    def start_background_work(self) -> None:
        """Model loading and camera probing, in pool threads: call once the window is up."""
        self.bridge.load()
        self.bridge.find_cameras()

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)
        page = self.tabs.currentWidget()
        (self.gallery_panel.view if page is self.gallery_panel else page).setFocus()

    # -- running -------------------------------------------------------------------------------

    def toggle_running(self) -> None:
        if not self.bridge.is_ready:
            self.show_info("The face models are still loading; Start works once they are in.")
            return
        if self.bridge.is_running:
            self.bridge.stop()
            self.status_text.setText("Stopping…")
            return
        spec = self.controls.source_spec()
        if not spec:
            self.show_error("Pick a source first: a camera, a video file or the screen.")
            return
        self.save_choices()
        self.messages.dismiss()
        self.live.clear(f"Opening {spec}…")
        self.controls.set_running(True)
        self.bridge.start(spec, self.settings)

    def _on_started(self, name: str) -> None:
        self.captures_this_session = 0
        target = self.settings.trigger.star or "any star"
        self.status_text.setText(f"Watching {name} for {target} looking "
                                 f"{self.settings.trigger.emotion}")

    def _on_stopped(self, why: str) -> None:
        self.controls.set_running(False)
        self.live.set_message(f"Stopped: {why}. Press Start (space) to watch again.")
        self.status_text.setText(f"Stopped ({why}) · {self.captures_this_session} capture(s) "
                                 "this session")

    def _on_stats(self, s: dict) -> None:
        self._last_stats = s
        faces = s["faces"]
        self.status_text.setText(
            f"Analysed {s['fps']:.1f} fps · latency {s['latency_ms']:.0f} ms · "
            f"{faces} face{'s' if faces != 1 else ''} · "
            f"{self.captures_this_session} capture(s) this session")

    def _on_captured(self, capture, thumbnail) -> None:
        self.captures_this_session += 1
        if getattr(self, "_last_stats", None):
            self._on_stats(self._last_stats)
        self.live.flash(thumbnail, f"Saved: {capture.star} · {capture.emotion}")
        self.gallery_panel.add_capture(capture)

    def _on_rule_changed(self) -> None:
        try:
            self.settings = self.settings.updated(self.controls.choices(), source="window")
        except SettingsError as exc:
            self.show_error(str(exc))
            return
        self.bridge.update_rule(self.settings)
        self.gallery_panel.set_folder(self.settings.capture.path)

    def _on_face_clicked(self, face) -> None:
        names = self.stars.names()
        suggestion = face.star or ""
        if suggestion in names:
            names = [suggestion] + [n for n in names if n != suggestion]
        name = ask_star_name(self, names, "Add this face",
                             "Add this face to which star? (type a new name or pick one)",
                             suggestion)
        if name:
            self.bridge.add_live_face(name, face.box, face.album)

    # -- loading and sources -------------------------------------------------------------------

    def _on_loading(self, step: int, steps: int, text: str) -> None:
        self.progress.setRange(0, steps)
        self.progress.setValue(step)
        self.status_text.setText(text)

    def _on_ready(self) -> None:
        self.progress.hide()
        self.controls.set_running(False)
        self.status_text.setText("Ready. Pick a source and press Start (space).")

    def _on_cameras(self, cameras: list) -> None:
        self.controls.set_cameras(cameras)
        remembered = self.state.value("source", "") or ""
        if remembered and self.controls.set_source(remembered):
            return
        if cameras:
            self.controls.set_source(f"camera:{cameras[0]}")
        else:
            self.controls.set_source("screen")
            self.show_info("No camera found. Pick a video file or the screen as the source.")

    # -- messages ------------------------------------------------------------------------------

    def show_error(self, text: str, details: str = "") -> None:
        self.messages.show_message(text, details, "error")

    def show_info(self, text: str, details: str = "") -> None:
        self.messages.show_message(text, details, "info")

    def _show(self, text: str, details: str, kind: str) -> None:
        self.messages.show_message(text, details, kind)

    # -- remembered between runs ---------------------------------------------------------------

    def save_choices(self) -> None:
        """The fan's choices into settings.toml (the file's own values, not --set overrides,
        are the base), the window into window.ini."""
        choices = self.controls.choices()
        try:
            self.settings = self.settings.updated(choices, source="window")
            Settings.load(self.config_path).updated(choices, source="window").save(
                self.config_path)
        except (SettingsError, OSError) as exc:
            self.show_error(f"Your choices could not be saved: {exc}")
        self.state.setValue("geometry", self.saveGeometry())
        self.state.setValue("tab", self.tabs.currentIndex())
        if spec := self.controls.source_spec():
            self.state.setValue("source", spec)
        self.state.sync()

    def _restore(self) -> None:
        geometry = self.state.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 760)
        if remembered := self.state.value("source", ""):
            self.controls.set_source(str(remembered))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_choices()
        self.hide()  # gone for the fan at once, while models still loading are waited for
        self.bridge.shutdown()
        self.bridge.wait_for_tasks()
        super().closeEvent(event)
