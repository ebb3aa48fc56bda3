"""Measures the live engine the way a fan runs it: a source at its own frame rate, the real
models, captures saved to disk. Reports medians and 95th percentiles, not single timings."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.captures import CaptureStore
from kpopcam.live.analysis import FrameAnalyzer
from kpopcam.live.engine import Engine
from kpopcam.live.sources import VideoFileSource
from kpopcam.live.trigger import CaptureRule

SIZES = {"640x480": (640, 480), "1280x720": (1280, 720)}
BENCH_STAR = "Bench Star"


@dataclass(frozen=True)
class Scenario:
    size: str
    faces: int
    source_fps: float = 30.0
    seconds: float = 10.0
    shots: int = 1  # camera cuts split the video into this many shots: each is a new moment


def demo_faces() -> list[np.ndarray]:
    """Real, redistributable face photos shipped in kpopcam/assets (public domain and CC0,
    cropped from scikit-image's samples): the astronaut (the star, smiling), the cameraman and
    her mirror image (strangers to the gallery)."""
    from kpopcam.images import read_rgb

    assets = Path(__file__).resolve().parents[1] / "assets"
    astronaut = read_rgb(assets / "astronaut.jpg")
    cameraman = read_rgb(assets / "cameraman.jpg")
    return [astronaut, cameraman, np.ascontiguousarray(astronaut[:, ::-1])]


def make_video(path: Path, scenario: Scenario, faces: list[np.ndarray]) -> Path:
    """Faces drifting slowly over a textured background, as filmed from a screen; the
    background turns from dark to light and back at each camera cut (scenario.shots)."""
    width, height = SIZES[scenario.size]
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(40, 200, (height, width, 3), np.uint8), (0, 0), 8)
    looks = (texture, texture // 3, 255 - texture // 3)  # one shot, or dark and light shots
    frames = round(scenario.seconds * scenario.source_fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), scenario.source_fps,
                             (width, height))
    face_h = height // 3
    tiles = [cv2.cvtColor(cv2.resize(f, (face_h * f.shape[1] // f.shape[0], face_h)),
                          cv2.COLOR_RGB2BGR) for f in faces[: scenario.faces]]
    for i in range(frames):
        shot = i * scenario.shots // frames
        frame = (looks[0] if scenario.shots == 1 else looks[1 + shot % 2]).copy()
        for k, tile in enumerate(tiles):
            x = int(k * width / 3 + 30 + 20 * np.sin(i / 25 + k))  # never off the left edge
            y = int(height / 3 + 15 * np.cos(i / 30 + k))
            frame[y : y + tile.shape[0], x : x + tile.shape[1]] = tile[:, : width - x]
        writer.write(frame)
    writer.release()
    return path


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1)}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_rule() -> CaptureRule:
    return CaptureRule(star=BENCH_STAR, emotion="happy", min_score=0.5, hold_s=0.3,
                       cooldown_s=2.0, max_per_minute=60)


AnalyzerFactory = Callable[[CaptureRule], FrameAnalyzer]


def run_scenario(scenario: Scenario, analyzer: AnalyzerFactory, portraits, folder: Path,
                 loops: int = 1) -> dict:
    video = make_video(folder / f"{scenario.size}_{scenario.faces}.mp4", scenario, demo_faces())
    result = measure(video, analyzer(bench_rule()), portraits, folder, loops)
    return {"size": scenario.size, "faces": scenario.faces, **result}


def measure(video: Path, analyzer: FrameAnalyzer, portraits, folder: Path,
            loops: int = 1) -> dict:
    """Plays the video at its own rate through a full engine; returns its figures."""
    source = VideoFileSource(video, loops=loops)
    engine = Engine(source, analyzer, portraits, CaptureStore(folder / "captures"))
    cpu_start, wall_start = time.process_time(), time.monotonic()
    engine.start()
    engine.wait()
    wall = time.monotonic() - wall_start
    s = engine.stats
    return {
        "source_fps": round(source.fps, 2),
        "analysed_fps": round(s.stream_fps, 1),
        "frames": s.frames_in, "dropped_frames": s.frames_dropped,
        "stage_ms": {name: percentiles(v) for name, v in s.stage_ms.items()},
        "analysis_ms": percentiles(s.analysis_ms),
        "captures": s.captures, "trigger_to_disk_ms": percentiles(s.trigger_to_disk_ms),
        "cpu_percent": round(100 * (time.process_time() - cpu_start) / wall),
    }


def run_bench(analyzer: AnalyzerFactory, portraits, scenarios: list[Scenario],
              soak_minutes: float = 0.0, progress: Callable[[str], None] = print,
              video: Path | None = None, rule: CaptureRule | None = None) -> dict:
    """The generated scenarios, or the given video with the given rule."""
    with tempfile.TemporaryDirectory(prefix="kpopcam-bench-") as tmp:
        folder = Path(tmp)
        results = []
        if video is not None:
            progress(f"{video.name}...")
            results.append({"video": video.name,
                            **measure(video, analyzer(rule), portraits, folder)})
            progress(_describe(results[-1]))
        for scenario in scenarios:
            progress(f"{scenario.size}, {scenario.faces} face(s), {scenario.seconds:.0f} s...")
            results.append(run_scenario(scenario, analyzer, portraits, folder))
            progress(_describe(results[-1]))
        report = {"scenarios": results}
        delays = [r["trigger_to_disk_ms"]["p50"] for r in results if r["captures"]]
        report["trigger_to_disk_ms"] = round(float(np.median(delays)), 1) if delays else None
        if soak_minutes > 0:
            progress(f"soak: 640x480, 3 faces, {soak_minutes:g} min...")
            start_rss = rss_mb()
            loops = max(1, round(soak_minutes * 60 / 10))
            run_scenario(Scenario("640x480", 3), analyzer, portraits, folder, loops)
            report["rss_growth_mb"] = round(rss_mb() - start_rss, 1)
        report["peak_rss_mb"] = round(peak_rss_mb(), 1)
        return report


def _describe(r: dict) -> str:
    return (f"  {r['analysed_fps']} fps analysed of {r['source_fps']:g}, "
            f"{r['dropped_frames']} of {r['frames']} frames dropped, analysis "
            f"p50 {r['analysis_ms']['p50']} ms / p95 {r['analysis_ms']['p95']} ms, "
            f"{r['captures']} capture(s), trigger to disk p50 {r['trigger_to_disk_ms']['p50']} "
            f"ms, CPU {r['cpu_percent']} %")
