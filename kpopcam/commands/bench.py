"""kpopcam bench: how fast the live engine keeps up, on generated or given video."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from kpopcam.commands.common import fail, open_gallery


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "bench", help="measure the live engine: fps, latency, CPU, memory",
        description="Plays videos at 30 fps through the real engine (detection, identity, "
        "emotion, portraits saved to a temporary folder) and reports analysed fps, dropped "
        "frames, per-stage latency (median and p95), trigger-to-disk latency, CPU use and "
        "peak memory. The videos are made from public-domain face photos at 640x480 and "
        "1280x720 with 1 and 3 faces, unless --video is given. The [live] settings (--set "
        "live.detect_scale=0.5 etc.) apply.",
    )
    p.add_argument("--video", type=Path, help="measure on this video instead "
                   "(the settings' star and emotion; captures go to a temporary folder)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each generated video")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="also run a soak of this many minutes and report memory growth "
                   "(with --window: how long the window plays; default 10)")
    p.add_argument("--window", action="store_true",
                   help="play the video (made, or --video) again and again in the real window "
                   "and report frames shown, event-loop stalls over 100 ms, memory growth and "
                   "whether the window survived; the exit status is 1 if it did not")
    p.add_argument("--gallery", action="store_true",
                   help="measure the gallery instead: make 6 real captures (MTCNN, U-Net), fill "
                   "an index of --captures from their files, open the real gallery, time the "
                   "fill and scroll it top to bottom, reporting the longest event-loop stall")
    p.add_argument("--captures", type=int, default=20_000,
                   help="how many captures the --gallery index holds")
    p.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.window:
        return run_window(args)
    if args.gallery:
        return run_gallery(args)
    from kpopcam.live.bench import BENCH_STAR, Scenario, demo_faces, run_bench
    from kpopcam.live.loading import load_face_models, load_portrait_maker, make_analyzer
    from kpopcam.live.trigger import CaptureRule
    from kpopcam.stars import GalleryError, StarGallery
    from kpopcam.vision.weights import WeightsError

    settings = args.settings
    if args.video and not args.video.is_file():
        return fail(f"video {args.video} does not exist")
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="kpopcam-bench-gallery-") as tmp:
        try:
            # a given video is watched for the fan's own stars; generated ones for the astronaut
            gallery = open_gallery(args) if args.video else StarGallery(
                Path(tmp) / "stars.sqlite", settings.identity.weights,
                settings.identity.match_threshold, settings.identity.match_margin)
            say("loading models...")
            models = load_face_models(settings, gallery)
            portraits = load_portrait_maker(settings)
        except (WeightsError, GalleryError) as exc:
            return fail(str(exc))
        if args.video:
            scenarios, rule = [], CaptureRule.from_settings(settings.trigger)
        else:
            gallery.add_faces(BENCH_STAR, _enrolled(demo_faces()[0], models))
            # a cut every 3-4 s: each shot is a moment of its own, captured (several
            # captures a scenario, so that the p95 of trigger to disk is of something)
            shots = max(1, round(args.seconds / 3.3))
            scenarios, rule = [Scenario(size, faces, seconds=args.seconds, shots=shots)
                               for size in ("640x480", "1280x720") for faces in (1, 3)], None
        report = run_bench(lambda r: make_analyzer(settings, models, r), portraits, scenarios,
                           soak_minutes=args.minutes, progress=say, video=args.video, rule=rule)
        gallery.close()
    print(_summary(report))
    if args.json:
        print(json.dumps(report))
    return 0


def run_window(args) -> int:
    from kpopcam.gui.window_soak import run_window_soak, summary

    if args.video and not args.video.is_file():
        return fail(f"video {args.video} does not exist")
    minutes = args.minutes or 10.0
    figures = run_window_soak(args.settings, minutes, args.video,
                              say=lambda text: print(text, file=sys.stderr))
    print(summary(figures))
    if args.json:
        print(json.dumps(figures))
    return 0 if figures["survived"] else 1


def run_gallery(args) -> int:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from kpopcam.gui.gallery_bench import run_gallery_bench, summary

    figures = run_gallery_bench(args.captures, say=lambda text: print(text, file=sys.stderr))
    print(summary(figures))
    if args.json:
        print(json.dumps(figures))
    return 0


def _enrolled(rgb, models):
    from kpopcam.stars import EnrolledFace
    from kpopcam.vision.detector import detect_in_photo

    faces = detect_in_photo(models.detector, rgb)
    return [EnrolledFace(models.embedder.embed_faces(rgb, faces[:1])[0], "astronaut")]


def _summary(report: dict) -> str:
    lines = ["size      faces  analysed fps  dropped  analysis p50/p95 ms  CPU %"]
    for r in report["scenarios"]:
        name, faces = r.get("size", r.get("video")), r.get("faces", "?")
        ms = r["analysis_ms"]
        lines.append(f"{name:9} {faces:5}  {r['analysed_fps']:12}  {r['dropped_frames']:7}  "
                     f"{ms['p50']:>8}/{ms['p95']:<10} {r['cpu_percent']:5}")
    lines.append(f"trigger to portrait on disk: {report['trigger_to_disk_ms']} ms (median)")
    lines.append(f"peak memory: {report['peak_rss_mb']} MB")
    if "rss_growth_mb" in report:
        lines.append(f"memory growth over the soak: {report['rss_growth_mb']} MB")
    return "\n".join(lines)
