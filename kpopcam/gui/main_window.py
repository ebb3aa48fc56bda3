"""The main window: live view and controls, stars, gallery; status bar; remembered choices."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kpopcam.gui.add_face import AddFaceDialog, face_crop
from kpopcam.gui.bridge import EngineBridge, load_models
from kpopcam.gui.controls import ControlPanel
from kpopcam.gui.gallery_panel import GalleryPanel
from kpopcam.gui.live_view import LiveView
from kpopcam.gui.messages import MessageBar
from kpopcam.gui.migration import (
    WAIT_REASON,
    MigrationBanner,
    done_message,
    failed_message,
    migrate_in_pool,
)
from kpopcam.gui.playback import PlaybackBar
from kpopcam.gui.session_strip import SessionStrip
from kpopcam.gui.stars_panel import StarsPanel
from kpopcam.gui.workers import Workers
from kpopcam.live.sources import Pause, Seek
from kpopcam.settings import Settings, SettingsError, default_path
from kpopcam.stars import GalleryError, GalleryNeedsMigration, StarGallery

LIVE, STARS, GALLERY = range(3)
NO_CAMERA = "No camera found: pick a video file, a window or a screen region as the source."
IDLE_TEXT = "Press Start (space) to watch."


def window_state(config_path: Path | None = None) -> QSettings:
    """Window geometry and the last source, beside the settings file (not in settings.toml:
    the source is not a setting the engine reads)."""
    path = (config_path or default_path()).with_name("window.ini")
    return QSettings(str(path), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, gallery: StarGallery,
                 config_path: Path | None = None, loader=load_models,
                 migration: GalleryNeedsMigration | None = None):
        """migration: the fan's gallery must be embedded again first; `gallery` is an empty
        stand-in until it is, and the parts that need the gallery wait."""
        super().__init__()
        self.settings, self.gallery, self.config_path = settings, gallery, config_path
        self.migration = migration  # GUI thread only; None once settled
        self._cancel_migration = threading.Event()
        self.setWindowTitle("kpopcam")
        self.state = window_state(config_path)
        self.workers = Workers(self)
        self.bridge = EngineBridge(settings, gallery, self.workers, loader, self)

        self.messages = MessageBar()
        self.banner = MigrationBanner()
        self.live = LiveView()
        self.playback = PlaybackBar()
        self.playback.hide()
        self.strip = SessionStrip()
        self._session: dict[int, object] = {}  # capture id -> Capture, this run's
        self.controls = ControlPanel(settings)
        self.stars = StarsPanel(gallery, self.bridge)
        self.gallery_panel = GalleryPanel(settings.capture.path, gallery)
        live_page = QWidget()
        live_layout = QHBoxLayout(live_page)
        live_layout.setContentsMargins(0, 0, 0, 0)
        picture = QVBoxLayout()
        picture.setSpacing(2)
        picture.addWidget(self.live, 1)
        picture.addWidget(self.playback)
        picture.addWidget(self.strip)
        live_layout.addLayout(picture, 1)
        live_layout.addWidget(self.controls)
        self.tabs = QTabWidget()
        self.tabs.addTab(live_page, "&Live")
        self.tabs.addTab(self.stars, "&Stars")
        self.tabs.addTab(self.gallery_panel, "&Gallery")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.messages)
        layout.addWidget(self.banner)
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
        b.frame_ready.connect(self._on_frame)
        b.previewed.connect(self._on_preview)
        b.captured_face.connect(self._on_captured_face)
        b.analysed.connect(self.live.set_analysis)
        b.captured.connect(self._on_captured)
        b.stats_changed.connect(self._on_stats)
        b.started.connect(self._on_started)
        b.stopped.connect(self._on_stopped)
        b.failed.connect(self.show_error)
        b.cameras_found.connect(self._on_cameras)
        b.stars_changed.connect(lambda: c.set_stars(self.stars.names()))
        b.stars_changed.connect(self.gallery_panel.refresh_stars)
        b.face_added.connect(lambda name: self.show_info(f"Face added to {name}."))
        c.start_stop.connect(self.toggle_running)
        c.rule_changed.connect(self._on_rule_changed)
        c.source_changed.connect(self._on_source_changed)
        self.playback.seek_requested.connect(self._on_seek)
        self.playback.pause_toggled.connect(self._on_pause)
        self.strip.open_requested.connect(self.open_capture)
        self.live.face_clicked.connect(self._on_face_clicked)
        self.stars.message.connect(self._show)
        self.gallery_panel.message.connect(self._show)
        self.gallery_panel.go_to_tab.connect(self.show_tab)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.toggle_running)
        for i, key in enumerate(("Ctrl+1", "Ctrl+2", "Ctrl+3")):
            QShortcut(QKeySequence(key), self, lambda i=i: self.show_tab(i))
        c.set_stars(self.stars.names())

    def start_background_work(self) -> None:
        """Model loading and camera probing, in pool threads: call once the window is up. A
        gallery to migrate is migrated first; the models load with the migrated one."""
        if self.migration is not None:
            self._start_migration()
        else:
            self.bridge.load()
        self.bridge.find_cameras()

    def show_tab(self, index: int) -> None:
        self.tabs.setCurrentIndex(index)
        page = self.tabs.currentWidget()
        (self.gallery_panel.view if page is self.gallery_panel else page).setFocus()

    # -- running -------------------------------------------------------------------------------

    def toggle_running(self) -> None:
        if self.migration is not None:
            self.show_info(WAIT_REASON)
            return
        if not self.bridge.is_ready:
            self.show_info("The face models are still loading; Start works once they are in.")
            return
        if self.bridge.is_running:
            self.bridge.stop()
            self.status_text.setText("Stopping…")
            return
        spec = self.controls.source_spec()
        if not spec:
            self.show_error("Pick a source first: a camera, a video file, a window or the "
                            "screen.")
            return
        self.save_choices()
        self.messages.dismiss()
        video = not self.playback.isHidden()
        if not video:
            self.live.clear(f"Opening {spec}…")
        self.controls.set_running(True)
        self.bridge.start(spec, self.settings, start_at=self.playback.start_position()
                          if video else 0)

    def _on_started(self, name: str) -> None:
        self.captures_this_session = 0
        self._session.clear()
        self.strip.new_run()
        self.playback.set_running(True)
        source = self.bridge.engine.source if self.bridge.engine is not None else None
        if getattr(source, "frame_count", 0):  # a Start before the preview came back
            self.playback.set_video(source.frame_count, source.fps)
        target = self.settings.trigger.star or "any star"
        self.status_text.setText(f"Watching {name} for {target} looking "
                                 f"{self.settings.trigger.emotion}")

    def _on_stopped(self, why: str) -> None:
        """The reason of a failure is in the message bar only: one place for errors."""
        self.controls.set_running(False)
        self.playback.set_running(False)
        self.live.set_paused(False)
        failed = self.messages.kind == "error" and bool(self.messages.text)
        ended = "" if failed else f" ({why})"
        self.live.set_message(IDLE_TEXT)
        self.status_text.setText(f"Stopped{ended} · {self.captures_this_session} capture(s) "
                                 "this session")

    def _on_stats(self, s: dict) -> None:
        self._last_stats = s
        faces = s["faces"]
        self.status_text.setText(
            f"Analysed {s['fps']:.1f} fps · latency {s['latency_ms']:.0f} ms · "
            f"{faces} face{'s' if faces != 1 else ''} · "
            f"{self.captures_this_session} capture(s) this session")

    def _on_frame(self) -> None:
        self.live.set_frame(self.bridge.latest_image())
        if not self.playback.isHidden():
            frame = self.bridge.latest_frame()
            self.playback.set_position(frame.position if frame is not None else None)

    def _on_captured_face(self, capture, face) -> None:
        self._session[capture.id] = capture
        self.strip.add(capture, face)

    def open_capture(self, capture_id: int) -> None:
        """Show a capture of this run in the gallery's viewer (next and previous page through
        the gallery); one the gallery's filters hide opens in the system's image viewer."""
        if self.gallery_panel.open_capture_id(capture_id):
            return
        capture = self._session.get(capture_id)
        if capture is None:
            from kpopcam.captures import CaptureStore

            with CaptureStore(self.settings.capture.path) as store:
                capture = store.get(capture_id)
        if capture is None or not capture.portrait.exists():
            self.show_error("That capture is no longer in the capture folder.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(capture.portrait)))

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
        """Show the face and the star it will join; add it from the frame that was clicked.
        A playing video holds still while the fan decides (a live source cannot)."""
        frame = self.bridge.frame_of(self.live.analysis)
        if frame is None or self.migration is not None:
            return
        stars = {star.name: star.face_count for star in self.gallery.stars()}
        dialog = self.add_face_dialog = AddFaceDialog(face_crop(frame.image, face.box), stars,
                                                      face.star or "", self)
        dialog.accepted.connect(lambda: self.bridge.add_live_face(
            dialog.star_name(), face.box, frame, face.album) if dialog.star_name() else None)
        if not self.playback.paused and self.playback.pause_button.isEnabled():
            self._on_pause(True)
            dialog.finished.connect(lambda _result: self._on_pause(False)
                                    if self.playback.paused else None)
        dialog.open()

    # -- video files ---------------------------------------------------------------------------

    def _on_source_changed(self, spec: str) -> None:
        self.state.setValue("source", spec)
        self.messages.dismiss_if(NO_CAMERA)
        self._show_source(spec)

    def _show_source(self, spec: str) -> None:
        """A video file shows its first frame and the seek bar; other sources a line."""
        if self.bridge.is_running:
            return
        if self.controls.is_video_file():
            self.playback.show()
            self.bridge.preview(spec, 0)
            return
        self.playback.hide()
        self.live.clear(IDLE_TEXT)
        still = getattr(self, "region_still", None)  # set by the region picker
        if still is not None and still[0] == spec:
            self.live.set_frame(still[1])

    def _on_preview(self, preview) -> None:
        if self.bridge.is_running or preview.spec != self.controls.source_spec():
            return
        self.playback.set_video(preview.frame_count, preview.fps)
        self.playback.set_position(preview.position)
        self.live.analysis = None
        self.live.set_frame(preview.image)

    def _on_seek(self, position: int) -> None:
        if self.bridge.is_running:
            self.bridge.post_playback(Seek(position))
        elif spec := self.controls.source_spec():
            self.bridge.preview(spec, position)

    def _on_pause(self, paused: bool) -> None:
        if self.bridge.post_playback(Pause(paused)):
            self.playback.set_paused(paused)
            self.live.set_paused(paused)

    # -- a gallery made with another face recogniser -------------------------------------------

    def _start_migration(self) -> None:
        self.banner.begin()
        self.stars.set_waiting(WAIT_REASON)
        self.controls.star.setEnabled(False)
        self.controls.star.setToolTip(WAIT_REASON)
        self.controls.start_button.setText("Updating your stars…")
        self.controls.start_button.setToolTip(WAIT_REASON)
        self.progress.hide()
        self.status_text.setText("Updating your star gallery…")
        self.workers.submit(migrate_in_pool, self.settings, self.migration.path,
                            self._cancel_migration, done=self._on_migrated,
                            failed=self._on_migration_failed, progress=self.banner.set_progress)

    def _on_migrated(self, result) -> None:
        if self._cancel_migration.is_set():
            return
        from kpopcam.commands.common import open_gallery

        try:
            gallery = open_gallery(SimpleNamespace(gallery=result.path, settings=self.settings),
                                   migrate_now=False)
        except GalleryError as exc:
            import traceback

            self._on_migration_failed(str(exc), "".join(traceback.format_exception(exc)))
            return
        self.use_gallery(gallery)
        self._migration_settled()
        self.show_info(*done_message(result))

    def _on_migration_failed(self, message: str, details: str) -> None:
        if self._cancel_migration.is_set():  # closed: nobody to tell
            return
        self._migration_settled()
        self.show_error(failed_message(message), details)

    def _migration_settled(self) -> None:
        """Whatever the migration's end, the window goes on: models load, stars are usable."""
        self.migration = None
        self.banner.hide()
        self.stars.set_waiting(None)
        self.controls.star.setEnabled(True)
        self.controls.star.setToolTip("")
        self.controls.start_button.setToolTip("Start or stop watching (space)")
        self.controls.set_running(None)
        self.progress.show()
        self.bridge.load()

    def use_gallery(self, gallery: StarGallery) -> None:
        """The whole window uses `gallery` from now on (before the models load: they hold
        it); the stand-in it replaces is closed."""
        stand_in, self.gallery = self.gallery, gallery
        self.bridge.gallery = self.stars.gallery = self.gallery_panel.star_gallery = gallery
        self.bridge.stars_changed.emit()
        stand_in.close()

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
            self.show_info(NO_CAMERA)
        self._show_source(self.controls.source_spec())

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
        if (remembered := self.state.value("source", "")) and self.controls.set_source(
                str(remembered)):
            self._show_source(str(remembered))

    def closeEvent(self, event) -> None:  # noqa: N802
        self._cancel_migration.set()  # all or nothing: the fan's file stays as it was
        self.save_choices()
        self.gallery_panel.finish_pending()
        self.hide()  # gone for the fan at once, while models still loading are waited for
        self.bridge.shutdown()
        self.bridge.wait_for_tasks()
        super().closeEvent(event)
