"""Real captures for the gallery's tests, screenshots and benchmark, and the benchmark itself.

real_captures() makes captures the way a run does: a stage frame with the star and another
person, the star's face found by MTCNN, the portrait rendered by the U-Net, saved by
CaptureStore with the face box and the session. The benchmark copies a few of them (hard links
where the disk allows) into an index of 20,000, opens the real gallery, times the fill and
scrolls from top to bottom while a 5 ms timer measures how long the event loop stalls.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.captures import CaptureStore, capture_facts, file_stem

STAGE = (960, 540)


@dataclass(frozen=True)
class Shot:
    """One capture to make: who, how, when, in which run."""

    star: str
    emotion: str
    score: float
    taken: float
    session: str | None
    source: str = "concert.mp4"
    frame: int = 0
    shift: int = 0  # where the star stands on the stage (pixels right of the left spot)


def demo_people() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut (public domain, NASA) and the cameraman, as scikit-image ships them."""
    from skimage import data

    return data.astronaut(), np.stack([data.camera()] * 3, -1)


def stage_frame(star: np.ndarray, other: np.ndarray, shift: int = 0) -> np.ndarray:
    """The star (left) and another person (right) on a dark stage, RGB."""
    width, height = STAGE
    frame = np.full((height, width, 3), (45, 30, 60), np.uint8)
    frame[120:480, 80 + shift:440 + shift] = cv2.resize(star, (360, 360))
    frame[160:460, 600 - shift // 2:900 - shift // 2] = cv2.resize(other, (300, 300))
    return frame


def real_captures(folder: Path, shots: list[Shot], detector, portraits,
                  people: tuple[np.ndarray, np.ndarray] | None = None) -> list:
    """Each shot saved as a real capture; the star's face is the leftmost face MTCNN finds."""
    star, other = people or demo_people()
    made = []
    with CaptureStore(folder) as store:
        for shot in shots:
            rgb = stage_frame(star, other, shot.shift)
            faces = sorted(detector.detect(rgb, color="rgb"), key=lambda f: f.box[0])
            if not faces:
                raise RuntimeError("MTCNN found no face on the stage frame")
            face = faces[0]
            portrait = portraits.render(rgb, face) if portraits is not None else rgb
            made.append(store.save(rgb, portrait, shot.star, shot.emotion, shot.score,
                                   shot.source, shot.frame, taken=shot.taken,
                                   face_box=face.box, session=shot.session))
    return made


def fill_index(folder: Path, seeds: list, count: int, start: float, step_s: float = 20.0,
               per_session: int = 60) -> None:
    """`count` captures in the index of `folder`, their files links (or copies) of the seed
    captures' files; a new session every `per_session` captures, newest at `start`."""
    stars = ("Eileen", "Lisa", "Jennie", "Rosé", "Jisoo")
    emotions = ("happy", "surprise", "neutral", "happy")
    with CaptureStore(folder) as store:
        store._db.execute("BEGIN")
        for i in range(count):
            seed = seeds[i % len(seeds)]
            taken = start - i * step_s
            session = f"bench-{i // per_session:05d}"
            facts = capture_facts(stars[i % len(stars)], emotions[i % len(emotions)],
                                  0.6 + (i % 40) / 100, taken, f"stage{i // per_session % 7}.mp4",
                                  i, seed.face_box, session)
            stem = f"{file_stem(taken, facts['star'], facts['emotion'])}-{i}"
            original, portrait = folder / f"{stem}.jpg", folder / f"{stem}_portrait.jpg"
            _link(seed.original, original)
            _link(seed.portrait, portrait)
            store._insert(facts, original, portrait)
        store._db.execute("COMMIT")


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def measure_gallery(folder: Path, size=(1280, 800), step_ms: int = 30,
                    say=lambda text: None) -> dict:
    """Open the real gallery on `folder` in the running QApplication; time the fill and the
    first screen of faces; scroll top to bottom half a page each `step_ms` while a 5 ms timer
    records the gaps of the event loop."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from kpopcam.gui.gallery_panel import GalleryPanel

    app = QApplication.instance()
    started = time.perf_counter()
    panel = GalleryPanel(folder)
    panel.resize(*size)
    panel.show()
    app.processEvents()
    fill_s = time.perf_counter() - started
    grid = panel.grid
    count = len(grid.captures)
    say(f"filled {count} captures in {fill_s:.2f} s")

    def first_screen_loaded() -> bool:
        return all(grid.has_thumbnail(grid.captures[i].id) for i in grid.visible_range())

    deadline = time.perf_counter() + 30
    while not first_screen_loaded() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    faces_s = time.perf_counter() - started
    say(f"first screen of faces after {faces_s:.2f} s")

    gaps: list[float] = []
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(lambda: gaps.append(clock.restart()))
    bar = grid.verticalScrollBar()
    loop = QEventLoop()

    def step() -> None:
        if bar.value() >= bar.maximum():
            loop.quit()
            return
        bar.setValue(bar.value() + max(1, bar.pageStep() // 2))

    scroller = QTimer()
    scroller.setInterval(step_ms)
    scroller.timeout.connect(step)
    clock.start()
    ticker.start()
    scroller.start()
    scroll_started = time.perf_counter()
    loop.exec()  # the real event loop, as the app runs it
    scroll_s = time.perf_counter() - scroll_started
    scroller.stop()
    ticker.stop()
    last_loaded = time.perf_counter()
    while not first_screen_loaded() and time.perf_counter() - last_loaded < 10:
        app.processEvents()
        time.sleep(0.002)
    figures = {
        "captures": count, "fill_s": round(fill_s, 3), "first_faces_s": round(faces_s, 3),
        "scroll_s": round(scroll_s, 2), "scroll_steps": round(bar.maximum() / max(
            1, bar.pageStep() // 2)), "ticks": len(gaps),
        "longest_stall_ms": max(gaps) if gaps else None,
        "median_tick_ms": statistics.median(gaps) if gaps else None,
        "p99_tick_ms": sorted(gaps)[int(len(gaps) * 0.99)] if gaps else None,
        "last_screen_faces": first_screen_loaded(),
    }
    panel.grid.loader.stop()
    panel.close()
    panel.deleteLater()
    return figures


def run_gallery_bench(count: int = 20_000, say=print, folder: Path | None = None) -> dict:
    """Make 6 real captures (MTCNN + U-Net), fill an index of `count` from them in a
    temporary folder (or `folder`), and measure the gallery on it."""
    import tempfile

    from PySide6.QtWidgets import QApplication

    from kpopcam.vision.detector import MtcnnDetector
    from kpopcam.vision.portrait import PortraitMaker

    _app = QApplication.instance() or QApplication([])  # noqa: F841 (kept alive)
    with tempfile.TemporaryDirectory(prefix="kpopcam-gallery-bench-") as tmp:
        root = Path(folder or tmp)
        seeds_folder, index_folder = root / "seeds", root / "captures"
        say("making 6 real captures (MTCNN, U-Net portrait)...")
        now = time.time()
        shots = [Shot("Eileen", "happy", 0.9, now - k, "seed", frame=k, shift=k * 20)
                 for k in range(6)]
        seeds = real_captures(seeds_folder, shots, MtcnnDetector(min_face_px=20),
                              PortraitMaker())
        say(f"filling an index of {count} captures...")
        t = time.perf_counter()
        fill_index(index_folder, seeds, count, now)
        say(f"index written in {time.perf_counter() - t:.1f} s")
        figures = measure_gallery(index_folder, say=say)
    return figures


def summary(figures: dict) -> str:
    return (f"gallery of {figures['captures']} captures: filled in {figures['fill_s']} s, "
            f"first screen of faces after {figures['first_faces_s']} s\n"
            f"scrolled top to bottom in {figures['scroll_s']} s ({figures['scroll_steps']} "
            f"steps of half a page): longest event-loop stall {figures['longest_stall_ms']} ms,"
            f" median tick {figures['median_tick_ms']} ms (5 ms timer), p99 "
            f"{figures['p99_tick_ms']} ms")
