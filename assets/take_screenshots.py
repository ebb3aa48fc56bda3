"""Screenshots of the real app for the README: the main window during a run and the gallery;
with `live`, the live view with this run's strip of captures and the screen region picker.

Run under a virtual X server (Debian: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1):

    xvfb-run -s "-screen 0 1280x800x24" python assets/take_screenshots.py [live]
    xvfb-run -s "-screen 0 1920x1080x24" python assets/take_screenshots.py --gallery

live: the live view with a run's session strip, and the region picker.
--gallery takes only the gallery and the viewer, at the screen's size, from real captures
(the astronaut and the cameraman on a stage, found by MTCNN, portraits by the U-Net).

It uses throw-away folders, enrols the astronaut (public domain, NASA) from scikit-image,
plays a short video made from her photo, and grabs the window into assets/screenshots/.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "screenshots"
TMP = Path(tempfile.mkdtemp(prefix="kpopcam-shots-"))
for name in ("CONFIG", "DATA", "CACHE"):
    os.environ.setdefault(f"KPOPCAM_{name}", str(TMP / name.lower()))
os.environ["KPOPCAM_CONFIG"] = str(TMP / "config" / "settings.toml")


def concert_video(path: Path, rgb: np.ndarray, other: np.ndarray, seconds: float = 12.0,
                  fps: float = 15.0) -> Path:
    """The star (left) and another person (right) on a dark stage, drifting a little."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (960, 540))
    star = cv2.cvtColor(cv2.resize(rgb, (360, 360)), cv2.COLOR_RGB2BGR)
    extra = cv2.cvtColor(cv2.resize(other, (300, 300)), cv2.COLOR_RGB2BGR)
    for i in range(round(seconds * fps)):
        frame = np.full((540, 960, 3), (60, 30, 45), np.uint8)
        dx = int(20 * np.sin(i / 20))
        frame[120:480, 80 + dx:440 + dx] = star
        frame[160:460, 580 - dx:880 - dx] = extra
        writer.write(frame)
    writer.release()
    return path


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from skimage import data

    from kpopcam.captures import CaptureStore
    from kpopcam.gui.main_window import GALLERY, MainWindow
    from kpopcam.settings import Settings, data_dir
    from kpopcam.stars import StarGallery

    OUT.mkdir(exist_ok=True)
    astronaut, cameraman = data.astronaut(), np.stack([data.camera()] * 3, -1)
    photo = TMP / "eileen.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    video = concert_video(TMP / "concert.mp4", astronaut, cameraman)
    settings = Settings().updated({
        "capture": {"folder": str(TMP / "captures")},
        "trigger": {"star": "Eileen", "emotion": "happy", "min_score": 0.5, "hold_s": 1.5,
                    "cooldown_s": 2.0},
    })
    settings.save()
    app = QApplication(sys.argv[:1])
    gallery = StarGallery(data_dir() / "stars.sqlite")
    window = MainWindow(settings, gallery)
    window.resize(1280, 760)
    window.move(0, 0)
    window.show()
    window.start_background_work()
    state = {"step": "load"}

    def shot(name: str) -> None:
        path = OUT / name
        window.grab().save(str(path))
        print("saved", path)

    def tick() -> None:
        step = state["step"]
        if step == "load" and window.bridge.is_ready:
            state["step"] = "enrol"
            window.stars.enrol("Eileen", [str(photo)])
        elif step == "enrol" and window.stars.list.count():
            window.messages.dismiss()
            window.controls.set_source(str(video))
            window.controls.star.setCurrentIndex(window.controls.star.findData("Eileen"))
            window.toggle_running()
            state["step"] = "run"
        elif step == "run" and window.live.analysis is not None and any(
                f.hold is not None for f in window.live.analysis.faces):
            shot("main_window.png")
            state["step"] = "captured"
        elif step == "captured" and window.live.toast_text:
            shot("capture_toast.png")
            state["step"] = "wait_end"
        elif step == "wait_end" and not window.bridge.is_running:
            # a few more captures from other "days" so the grid looks lived in
            store = CaptureStore(TMP / "captures")
            for c in store.list()[:1]:
                import time as _time

                from PIL import Image
                original = np.asarray(Image.open(c.original).convert("RGB"))
                portrait = np.asarray(Image.open(c.portrait).convert("RGB"))
                for k, emotion in enumerate(("happy", "surprise", "happy", "neutral")):
                    store.save(original, portrait, "Eileen", emotion, 0.8, "concert.mp4",
                               k, taken=_time.time() - 3600 * (k + 1))
            window.gallery_panel.refresh()
            window.show_tab(GALLERY)
            state["step"] = "gallery"
            QTimer.singleShot(1500, lambda: (shot("gallery.png"), window.close(), app.quit()))
            return
        QTimer.singleShot(100, tick)

    QTimer.singleShot(100, tick)
    QTimer.singleShot(240_000, app.quit)  # never hang
    return app.exec()


def stage_video(path: Path, rgb: np.ndarray, other: np.ndarray, fps: float = 15.0) -> Path:
    """The star under changing stage lights (each light a moment of its own, as a concert's
    cuts are) beside another person: one capture per light."""
    tints = ((1.0, 1.0, 1.0), (1.15, 0.85, 1.2), (0.8, 0.95, 1.25), (1.2, 1.1, 0.8))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (960, 540))
    star = cv2.cvtColor(cv2.resize(rgb, (340, 340)), cv2.COLOR_RGB2BGR).astype(np.float32)
    extra = cv2.cvtColor(cv2.resize(other, (260, 260)), cv2.COLOR_RGB2BGR)
    for k, tint in enumerate(tints):
        lit = np.clip(star * np.array(tint[::-1], np.float32), 0, 255).astype(np.uint8)
        for i in range(round(3.5 * fps)):
            frame = np.full((540, 960, 3), (70 - 12 * k, 30 + 8 * k, 50), np.uint8)
            dx = int(15 * np.sin(i / 12))
            frame[110:450, 90 + dx:430 + dx] = lit
            frame[170:430, 600 - dx:860 - dx] = extra
            writer.write(frame)
    writer.release()
    return path


def live_shots() -> int:
    """live_session.png: a run with a few captures in the strip under the live view;
    region_picker.png: a region being dragged over the dimmed screen (a stream window on it)."""
    from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
    from PySide6.QtGui import QGuiApplication, QMouseEvent, QPixmap
    from PySide6.QtWidgets import QApplication, QLabel
    from skimage import data

    from kpopcam.gui.controls import PICK_REGION
    from kpopcam.gui.main_window import MainWindow
    from kpopcam.settings import Settings
    from kpopcam.stars import StarGallery

    OUT.mkdir(exist_ok=True)
    astronaut, cameraman = data.astronaut(), np.stack([data.camera()] * 3, -1)
    photo = TMP / "eileen.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    video = stage_video(TMP / "stage.mp4", astronaut, cameraman)
    config = TMP / "live" / "settings.toml"
    Settings().updated({
        "capture": {"folder": str(TMP / "live_captures")},
        "trigger": {"star": "Eileen", "emotion": "happy", "min_score": 0.5, "hold_s": 0.6,
                    "cooldown_s": 1.0},
    }).save(config)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    gallery = StarGallery(TMP / "live_stars.sqlite")
    window = MainWindow(Settings.load(config), gallery, config)
    window.setGeometry(QGuiApplication.primaryScreen().availableGeometry())
    window.show()
    window.start_background_work()
    state = {"step": "load"}

    def shot(widget, name: str) -> None:
        widget.grab().save(str(OUT / name))
        print("saved", OUT / name)

    def drag(picker, start: QPoint, end: QPoint) -> None:
        for kind, at, buttons in ((QMouseEvent.Type.MouseButtonPress, start, Qt.LeftButton),
                                  (QMouseEvent.Type.MouseMove, end, Qt.LeftButton)):
            QApplication.sendEvent(picker, QMouseEvent(
                kind, QPointF(at), QPointF(picker.mapToGlobal(at)), Qt.LeftButton, buttons,
                Qt.KeyboardModifier.NoModifier))

    def tick() -> None:
        step = state["step"]
        if step == "load" and window.bridge.is_ready:
            state["step"] = "enrol"
            window.stars.enrol("Eileen", [str(photo)])
        elif step == "enrol" and window.stars.list.count():
            window.messages.dismiss()
            window.controls.set_source(str(video))
            window._show_source(str(video))
            window.toggle_running()
            state["step"] = "run"
        elif step == "run" and window.strip.count() >= 3 and window.live.analysis and any(
                f.star for f in window.live.analysis.faces):
            shot(window, "live_session.png")
            window.toggle_running()
            state["step"] = "stopping"
        elif step == "stopping" and not window.bridge.is_running:
            stream = state["stream"] = QLabel()
            stream.setWindowTitle("Concert stream — Browser")
            stream.setPixmap(QPixmap.fromImage(window.bridge.latest_image()))
            stream.move(60, 40)
            stream.show()
            combo = window.controls.source
            combo.setCurrentIndex(combo.findData(PICK_REGION))
            QTimer.singleShot(300, lambda: combo.activated.emit(combo.currentIndex()))
            state["step"] = "picker"
        elif step == "picker" and getattr(window, "region_picker", None) is not None:
            picker = window.region_picker
            scale = picker.grab_image.width() / picker.width()
            drag(picker, QPoint(round(120 / scale), round(100 / scale)),
                 QPoint(round(860 / scale), round(520 / scale)))
            state["step"] = "dragged"
            QTimer.singleShot(500, lambda: (shot(picker, "region_picker.png"), picker.close(),
                                            state["stream"].close(), window.close(),
                                            app.quit()))
            return
        QTimer.singleShot(100, tick)

    QTimer.singleShot(100, tick)
    QTimer.singleShot(240_000, app.quit)  # never hang
    return app.exec()


def gallery_captures(folder: Path, detector, portraits) -> None:
    """Real captures over three days and four watch runs: Eileen (the astronaut) and the
    cameraman, each the leftmost on the stage of their own captures."""
    import time as _time

    from kpopcam.gui.gallery_bench import Shot, demo_people, real_captures

    astronaut, cameraman = demo_people()
    now, day = _time.time(), 86400
    eileen = [Shot("Eileen", e, s, now - 60 - k * 40, "run-1", "concert.mp4", 300 + k * 90,
                   k * 25) for k, (e, s) in enumerate([("happy", 0.94), ("happy", 0.88),
                                                       ("surprise", 0.81), ("happy", 0.9),
                                                       ("happy", 0.86)])]
    eileen += [Shot("Eileen", "happy", 0.8 + k / 50, now - day - k * 60, "run-3", "fancam.mp4",
                    k * 120, 60 - k * 20) for k in range(3)]
    eileen += [Shot("Eileen", "neutral", 0.7, now - 3 * day, "run-4", "screen", 42, 10)]
    real_captures(folder, eileen, detector, portraits, (astronaut, cameraman))
    camera = [Shot("Cameraman", "neutral", 0.75 + k / 40, now - 3600 - k * 50, "run-2",
                   "interview.mp4", 40 + k * 30, k * 30) for k in range(4)]
    real_captures(folder, camera, detector, portraits, (cameraman, astronaut))


def gallery_main() -> int:
    """The gallery tab and the viewer, at the size of the screen."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from skimage import data

    from kpopcam.captures import CaptureStore
    from kpopcam.enrollment import enroll
    from kpopcam.gui.main_window import GALLERY, MainWindow
    from kpopcam.settings import Settings, data_dir
    from kpopcam.stars import StarGallery
    from kpopcam.vision.detector import MtcnnDetector
    from kpopcam.vision.identity import make_embedder
    from kpopcam.vision.portrait import PortraitMaker

    OUT.mkdir(exist_ok=True)
    app = QApplication(sys.argv[:1])
    screen = app.primaryScreen().size()
    tag = f"{screen.width()}x{screen.height()}"
    detector = MtcnnDetector(min_face_px=20)
    folder = TMP / "captures"
    gallery_captures(folder, detector, PortraitMaker())
    with CaptureStore(folder) as store:
        store.set_favourite(store.list()[1].id, True)
    stars = StarGallery(data_dir() / "stars.sqlite")
    embedder = make_embedder()
    for name, rgb in (("Eileen", data.astronaut()),
                      ("Cameraman", np.stack([data.camera()] * 3, -1))):
        photo = TMP / f"{name}.jpg"
        cv2.imwrite(str(photo), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        enroll(name, [str(photo)], detector, embedder, stars)
    settings = Settings().updated({"capture": {"folder": str(folder)}})
    settings.save()
    window = MainWindow(settings, stars, loader=lambda s, g, progress: None)
    window.progress.hide()
    window.status_text.setText("Ready. Pick a source and press Start (space).")
    window.move(0, 0)
    window.resize(screen.width(), screen.height() - 30)
    window.show()
    window.show_tab(GALLERY)
    panel = window.gallery_panel
    state = {"step": "faces", "waited": 0}

    def shot(widget, name: str) -> None:
        path = OUT / name
        widget.grab().save(str(path))
        print("saved", path)
        if "--root" in sys.argv:  # the whole X screen too, as a fan sees it
            import subprocess

            subprocess.run(["import", "-window", "root", str(TMP / f"root_{name}")], check=False)
            print("saved", TMP / f"root_{name}")

    def tick() -> None:
        grid = panel.grid
        state["waited"] += 1
        if state["step"] == "faces" and (all(grid.has_thumbnail(grid.captures[i].id)
                                             for i in grid.visible_range())
                                         or state["waited"] > 400):
            shot(window, f"gallery_{tag}.png")
            grid.select(0)
            panel.open_capture(0)
            panel.viewer.resize(min(1200, screen.width() - 80), min(820, screen.height() - 80))
            panel.viewer.move(40, 20)
            state["step"] = "viewer"
        elif state["step"] == "viewer" and panel.viewer.is_decoded():
            panel.viewer.split.setValue(45)
            QTimer.singleShot(500, lambda: (shot(panel.viewer, f"viewer_{tag}.png"),
                                            state.update(step="zoom")))
            state["step"] = "wait"
        elif state["step"] == "zoom":
            panel.viewer.canvas.zoom_by(2.0)
            QTimer.singleShot(800, lambda: (shot(panel.viewer, f"viewer_zoomed_{tag}.png"),
                                            app.quit()))
            state["step"] = "done"
        QTimer.singleShot(100, tick)

    QTimer.singleShot(300, tick)
    QTimer.singleShot(120_000, app.quit)  # never hang
    code = app.exec()
    stars.close()
    return code


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    if sys.argv[1:] == ["live"]:
        sys.exit(live_shots())
    sys.exit(gallery_main() if "--gallery" in sys.argv else main())
