"""Screenshots of the real app for the README: the main window during a run and the gallery.

Run under a virtual X server (Debian: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1):

    xvfb-run -s "-screen 0 1280x800x24" python assets/take_screenshots.py

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


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    sys.exit(main())
