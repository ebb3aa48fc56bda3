"""`kpopcam bench --window`: the real window plays a video for minutes while the event loop,
the memory and the process itself are watched.

The window runs in a child process (this module, run with -m) so that an abort inside Qt is
reported by the parent instead of ending the measurement silently. The child starts the real
MainWindow with the real models, plays the video again and again until the time is up, adds
the largest happy face it sees to a star as a fan clicking it would (so boxes, bars, the countdown
ring and the saved-portrait toast are all drawn), and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from kpopcam.live.bench import rss_mb

STAR = "Soak Star"
EMOTION = "happy"  # the emotion watched for
TICK_MS = 20  # the stall meter's timer
STALL_MS = 100  # a gap between its ticks longer than this is a stall
WARMUP_S = 60.0  # memory growth is counted from here (models, caches and fonts settle first)
# RSS is sampled this often, and growth compares the median of a minute after the warm-up with
# the median of the last minute: glibc's periodic trim makes single samples a sawtooth.
RSS_SAMPLE_S, RSS_SPAN_S = 5.0, 60.0
TARGET_STALL_MS = 250
TARGET_RSS_GROWTH_MB = 50
TARGET_READY_S = 3.0  # issue 14: the window usable (models loaded) within 3 s of launch


class WindowSoak(QObject):
    """Drives a shown MainWindow through `seconds` of `video` and measures it; `finished`
    once the last run has stopped. The window's models may still be loading."""

    finished = Signal()

    def __init__(self, window, video: Path, seconds: float, star_photos: list[Path] = ()):
        super().__init__(window)
        self.window, self.video, self.seconds = window, Path(video), seconds
        self.star_photos = list(star_photos)
        self.done = self.star_added = self._adding = False
        self.errors: list[str] = []
        self.stalls_ms: list[float] = []
        self.stalls_at: list[tuple[float, float]] = []  # (seconds into the soak, ms)
        self.runs_at: list[float] = []
        self.captures_at: list[float] = []
        self.runs = self.source_frames = self.captures = 0
        self.analyses = self.target_analyses = 0
        self.star_added_at: float | None = None
        self.ready_at: float | None = None
        self.launched = time.monotonic()
        self._run_frames = 0
        self._began = 0.0
        self._ending = False
        self._rss: dict[str, float] = {}
        self._rss_samples: list[tuple[float, float]] = []  # (seconds into the soak, MB)
        self._none_refs = 0
        self._last_tick = 0.0
        self._meter = QTimer(self)
        self._meter.setTimerType(Qt.TimerType.PreciseTimer)
        self._meter.setInterval(TICK_MS)
        self._meter.timeout.connect(self._tick)
        b = window.bridge
        b.failed.connect(self._on_failed)
        b.enrolled.connect(self._on_star_added)
        b.analysed.connect(self._on_analysed)
        b.face_added.connect(self._on_star_added)
        b.stats_changed.connect(lambda s: setattr(self, "_run_frames", s["frames_in"]))
        b.stopped.connect(self._on_stopped)
        b.captured.connect(self._on_captured)

    def start(self) -> None:
        if self.window.bridge.is_ready:
            self._prepare()
        else:
            self.window.bridge.ready.connect(self._prepare)

    def _prepare(self) -> None:
        self.ready_at = time.monotonic()
        self._enrol_or_begin()

    # -- the star: enrolled from the photos given, or else the largest face first seen looking
    # happy, added as a fan clicking it would. Being happy, it is caught again and again (the
    # countdown ring, the flash and the toast are drawn too).

    def _enrol_or_begin(self) -> None:
        if self.star_photos:
            self._adding = True
            self.window.bridge.enroll(STAR, self.star_photos)
        else:
            self._begin()

    def _on_failed(self, message: str, _details: str) -> None:
        self.errors.append(message)
        if not self._began:  # the enrolment failed: play all the same
            self._begin()

    def _on_analysed(self, analysis) -> None:
        self.analyses += 1
        self.target_analyses += any(f.is_target for f in analysis.faces)
        happy = [f for f in analysis.faces if f.emotion == EMOTION]
        if self.star_added or self._adding or not happy:
            return
        face = max(happy, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        self._adding = True
        self.window.bridge.add_live_face(STAR, face.box)

    def _on_star_added(self, *_name_and_report) -> None:
        self.star_added = True
        self.star_added_at = round(time.monotonic() - self._began, 1) if self._began else 0.0
        c = self.window.controls
        c.star.setCurrentIndex(max(0, c.star.findData(STAR)))
        self._begin()

    # -- playing -------------------------------------------------------------------------------

    def _begin(self) -> None:
        if self._began:
            return
        self.window.controls.emotion.setCurrentIndex(
            max(0, self.window.controls.emotion.findData(EMOTION)))
        self._began = time.monotonic()
        self._rss["start"] = rss_mb()
        self._none_refs = sys.getrefcount(None)
        self._last_tick = self._began
        self._meter.start()
        QTimer.singleShot(int(self.warmup_s * 1000), lambda: self._rss.setdefault(
            "after_warmup", rss_mb()))
        QTimer.singleShot(int(self.seconds * 1000), self._end)
        QTimer.singleShot(int(self.seconds * 1000) + 60_000, self._finish)  # a stop that hangs
        QTimer.singleShot(60_000, self._report_progress)
        self._play()

    @property
    def warmup_s(self) -> float:
        return min(WARMUP_S, self.seconds / 4)

    def _play(self) -> None:
        if self._ending:
            return
        self.runs += 1
        self.runs_at.append(time.monotonic() - self._began)
        self._run_frames = 0
        self.window.controls.set_source(str(self.video))
        self.window.toggle_running()

    def _on_stopped(self, _why: str) -> None:
        self.source_frames += self._run_frames
        self._run_frames = 0
        if self._ending:
            self._finish()
        elif self._began:
            QTimer.singleShot(300, self._play)  # the video ended: the fan presses Start again

    def _on_captured(self, *_capture) -> None:
        self.captures += 1
        self.captures_at.append(time.monotonic() - self._began)

    def _end(self) -> None:
        self._ending = True
        if self.window.bridge.is_running:
            self.window.bridge.stop()
        else:
            self._finish()

    def _tick(self) -> None:
        now = time.monotonic()
        gap_ms = (now - self._last_tick) * 1000
        if gap_ms > STALL_MS:
            self.stalls_ms.append(round(gap_ms, 1))
            self.stalls_at.append((round(now - self._began, 1), round(gap_ms)))
        self._last_tick = now
        at = now - self._began
        if not self._rss_samples or at - self._rss_samples[-1][0] >= RSS_SAMPLE_S:
            self._rss_samples.append((at, rss_mb()))

    def _report_progress(self) -> None:
        if self.done:
            return
        live = self.window.live
        print(f"  {(time.monotonic() - self._began) / 60:.0f} min: {live.frames_shown} frames "
              f"shown, {len(self.stalls_ms)} stalls over {STALL_MS} ms, RSS {rss_mb():.0f} MB",
              file=sys.stderr, flush=True)
        QTimer.singleShot(60_000, self._report_progress)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        self._meter.stop()
        self._rss["end"] = rss_mb()
        self.finished.emit()

    # -- figures -------------------------------------------------------------------------------

    def figures(self) -> dict:
        from PySide6 import __version__

        live, rss = self.window.live, self._rss
        base = rss.get("after_warmup", rss.get("start", 0.0))
        span = min(RSS_SPAN_S, self.seconds / 4)
        after_warmup = _median_rss(self._rss_samples, self.warmup_s, self.warmup_s + span)
        last = self._rss_samples[-1][0] if self._rss_samples else 0.0
        at_end = _median_rss(self._rss_samples, last - span, last)
        return {
            "survived": True, "video": self.video.name,
            # from the parent's launch of this process to the models loaded (CLOCK_MONOTONIC
            # is one clock for both processes)
            "ready_s": round(self.ready_at - self.launched, 2) if self.ready_at else None,
            "seconds": round(time.monotonic() - self._began, 1), "runs": self.runs,
            "source_frames": self.source_frames, "frames_shown": live.frames_shown,
            "faces_drawn": live.faces_drawn, "star_added": self.star_added,
            "star_added_at_s": self.star_added_at, "analyses": self.analyses,
            "analyses_with_target": self.target_analyses,
            "captures": self.captures,
            "stalls_over_100ms": len(self.stalls_ms),
            "stalls_over_250ms": sum(s > TARGET_STALL_MS for s in self.stalls_ms),
            "max_stall_ms": max(self.stalls_ms, default=0.0),
            # where the stalls fall: within 3 s after pressing Start again or a capture
            "stalls_near_a_start": _near(self.stalls_at, self.runs_at),
            "stalls_near_a_capture": _near(self.stalls_at, self.captures_at),
            "longest_stalls": sorted(self.stalls_at, key=lambda s: -s[1])[:10],
            "rss_start_mb": round(rss.get("start", 0.0), 1),
            "rss_after_warmup_mb": round(base, 1), "warmup_s": self.warmup_s,
            "rss_end_mb": round(rss.get("end", 0.0), 1),
            "rss_after_warmup_median_mb": after_warmup, "rss_last_minute_median_mb": at_end,
            "rss_growth_mb": round(at_end - after_warmup, 1)
            if after_warmup and at_end else round(rss.get("end", 0.0) - base, 1),
            "none_refs_drift": sys.getrefcount(None) - self._none_refs,
            "pyside6": __version__, "python": sys.version.split()[0],
            "errors": self.errors,
        }


def _median_rss(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    values = sorted(mb for at, mb in samples if start <= at <= end)
    return round(values[len(values) // 2], 1) if values else None


def _near(stalls: list[tuple[float, float]], events: list[float], within: float = 3.0) -> int:
    return sum(any(0 <= t - e < within for e in events) for t, _ in stalls)


# -- the child: the window ------------------------------------------------------------------------


def soak_window(video: Path, minutes: float, config: Path, star_photos: list[Path],
                launched: float | None = None) -> dict:
    from PySide6.QtWidgets import QApplication

    from kpopcam.gui.main_window import MainWindow
    from kpopcam.settings import Settings
    from kpopcam.stars import StarGallery

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings.load(config)
    gallery = StarGallery(config.with_name("stars.sqlite"), embedder=settings.identity.weights,
                          threshold=settings.identity.match_threshold,
                          margin=settings.identity.match_margin)
    window = MainWindow(settings, gallery, config)
    window.show()
    soak = WindowSoak(window, video, minutes * 60, star_photos)
    soak.launched = launched if launched is not None else time.monotonic()
    soak.finished.connect(app.quit)
    window.start_background_work()
    soak.start()
    app.exec()
    figures = soak.figures()
    window.close()
    gallery.close()
    return figures


def _child_main() -> int:
    from kpopcam.memory import give_back_big_blocks

    give_back_big_blocks()  # as `kpopcam` does: the child is the app as a fan runs it
    parser = argparse.ArgumentParser()
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--star-photo", type=Path, action="append", default=[])
    parser.add_argument("--launched", type=float, help="the parent's time.monotonic() at launch")
    args = parser.parse_args()
    figures = soak_window(args.video, args.minutes, args.config, args.star_photo, args.launched)
    print(json.dumps(figures), flush=True)
    return 0


# -- the parent: runs the child and reports ----------------------------------------------------


def run_window_soak(settings, minutes: float, video: Path | None = None, say=print) -> dict:
    """The figures of a soak of the real window; "survived" is False if it crashed or hung."""
    with tempfile.TemporaryDirectory(prefix="kpopcam-window-soak-") as tmp:
        folder = Path(tmp)
        star_photos = []
        if video is None:  # made of public-domain photos; the first face is the star
            video, star_photos = made_video(folder)
        config = folder / "config" / "settings.toml"
        settings.updated({
            "capture": {"folder": str(folder / "captures")},
            # few captures: each is a portrait in the gallery, which would grow the memory
            "trigger": {"star": STAR, "emotion": EMOTION, "min_score": 0.5, "hold_s": 0.3,
                        "cooldown_s": 30.0, "max_per_minute": 1},
        }, source="bench").save(config)
        say(f"playing {video.name} in the window for {minutes:g} min...")
        command = [sys.executable, "-m", "kpopcam.gui.window_soak", "--video", str(video),
                   "--minutes", str(minutes), "--config", str(config)]
        for photo in star_photos:
            command += ["--star-photo", str(photo)]
        started = time.monotonic()
        command += ["--launched", repr(started)]
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                                  timeout=minutes * 60 + 900)
        except subprocess.TimeoutExpired:
            return {"survived": False, "why": "the window hung (killed after the time was up)"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        code, after = done.returncode, time.monotonic() - started
        why = (f"the window crashed (signal {-code}, {signal.Signals(-code).name})" if code < 0
               else f"the window's process ended with status {code}")
        return {"survived": False, "why": f"{why} {after:.0f} s after it was started "
                "(model loading included)"}
    return json.loads(lines[-1])


def made_video(folder: Path) -> tuple[Path, list[Path]]:
    """A video of faces drifting over a background, and a photo of its star."""
    from kpopcam.live.bench import Scenario, demo_faces, make_video

    faces = demo_faces()
    photo = folder / "star.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(faces[0], cv2.COLOR_RGB2BGR))
    video = make_video(folder / "soak.mp4", Scenario("640x480", 3, seconds=30.0), faces)
    return video, [photo]


def summary(f: dict) -> str:
    if not f["survived"]:
        return f"survived: NO: {f['why']}"

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    shown = 100 * f["frames_shown"] / max(1, f["source_frames"])
    ready = f.get("ready_s")
    return "\n".join([
        f"window ready (models loaded) {ready} s after it was launched (target "
        f"{TARGET_READY_S} s) {verdict(ready is not None and ready <= TARGET_READY_S)}",
        f"survived: yes ({f['seconds'] / 60:.1f} min of {f['video']}, {f['runs']} run(s); "
        f"PySide6 {f['pyside6']}, Python {f['python']})",
        f"frames shown: {f['frames_shown']} of {f['source_frames']} source frames "
        f"({shown:.0f} %); faces drawn: {f['faces_drawn']}; captures: {f['captures']}",
        f"event-loop stalls over {STALL_MS} ms: {f['stalls_over_100ms']}, longest "
        f"{f['max_stall_ms']:.0f} ms; over {TARGET_STALL_MS} ms: {f['stalls_over_250ms']} "
        f"(target: none) {verdict(f['stalls_over_250ms'] == 0)}",
        f"memory (RSS): {f['rss_start_mb']:.0f} MB at the start, {f['rss_after_warmup_mb']:.0f} "
        f"after {f['warmup_s']:.0f} s of warm-up, {f['rss_end_mb']:.0f} at the end; median of "
        f"a minute after the warm-up {f['rss_after_warmup_median_mb']} MB, of the last minute "
        f"{f['rss_last_minute_median_mb']} MB: growth "
        f"{f['rss_growth_mb']:+.1f} MB (target under {TARGET_RSS_GROWTH_MB}) "
        f"{verdict(f['rss_growth_mb'] < TARGET_RSS_GROWTH_MB)}",
        f"references to None: {f['none_refs_drift']:+d} over the run"
        + (f"\nerrors shown in the window: {'; '.join(f['errors'])}" if f["errors"] else ""),
    ])


if __name__ == "__main__":
    sys.exit(_child_main())
