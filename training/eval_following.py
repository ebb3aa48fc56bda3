"""How well the live boxes stay on the faces of real footage, at the source's own pace.

    python -m training.eval_following CLIPS_DIR [--json] [--set section.key=value ...]

Each clip (CLIPS_DIR/<name>/clip.*) plays through the live engine as a stream arrives: background
detection, faces followed between detections, no gallery. Afterwards the photo detector
(MTCNN at full reach) finds the faces on every third frame, and each face at least
live.min_face_px wide is compared with the boxes the live view drew on that very frame: the
best overlap (IoU). Reported per clip and over all: faces, their median overlap, the share
overlapped by half or more, the share with no box at all, and how many tracks were started
(one a person is right; a new track loses the face's name and emotion history).

Timing matters (a slow detection is what the following has to bridge), so run it on a quiet
machine and compare runs side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from kpopcam.types import iou
from training.video_frames import sampled_frames

EVERY = 3  # frames compared with the photo detector's faces


def clip_paths(root: Path) -> list[Path]:
    return sorted(p for d in sorted(root.iterdir()) if d.is_dir()
                  for p in d.glob("clip.*"))


def drawn_boxes(video: Path, settings) -> tuple[dict[int, list], dict]:
    """{frame number: boxes the live view drew on it} and the run's figures; tracks: the
    distinct track ids drawn."""
    from kpopcam.live.engine import Engine
    from kpopcam.live.loading import load_face_models, make_analyzer
    from kpopcam.live.sources import VideoFileSource
    from kpopcam.live.trigger import CaptureRule
    from kpopcam.stars import StarGallery

    drawn: dict[int, list] = {}
    tracks: set[int] = set()

    def seen(analysis) -> None:
        drawn[analysis.frame_number] = [f.box for f in analysis.faces]
        tracks.update(f.track_id for f in analysis.faces)
    with tempfile.TemporaryDirectory() as tmp:
        gallery = StarGallery(Path(tmp) / "stars.sqlite", settings.identity.weights)
        analyzer = make_analyzer(settings, load_face_models(settings, gallery),
                                 CaptureRule.from_settings(settings.trigger))
        engine = Engine(VideoFileSource(video), analyzer, on_analysis=seen)
        engine.start()
        engine.wait()
        gallery.close()
    s = engine.stats
    detect = list(s.stage_ms.get("detect", [])) or [0.0]
    return drawn, {"analysed_fps": round(s.stream_fps, 1), "dropped": s.frames_dropped,
                   "frames": s.frames_in, "tracks": len(tracks),
                   "detect_ms_p50": round(float(np.median(detect)))}


def overlaps(video: Path, drawn: dict[int, list], settings) -> list[float]:
    """For each face the photo detector finds on the compared frames: its best overlap with a
    drawn box (0 where none was drawn)."""
    from kpopcam.vision.detector import detect_in_photo, photo_detector

    detector, found = photo_detector(settings), []
    for number, rgb in sampled_frames(video, EVERY):
        if number not in drawn:
            continue
        for face in detect_in_photo(detector, rgb):
            if face.box[2] - face.box[0] >= settings.live.min_face_px:
                found.append(max((iou(face.box, b) for b in drawn[number]), default=0.0))
    return found


def figures(found: list[float]) -> dict:
    a = np.array(found) if found else np.zeros(1)
    return {"faces": len(found), "median_iou": round(float(np.median(a)), 3),
            "half_overlapped": round(float((a >= 0.5).mean()), 3),
            "no_box": round(float((a == 0).mean()), 3)}


def main(argv: list[str] | None = None) -> int:
    from kpopcam.settings import Settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", type=Path)
    p.add_argument("--json", action="store_true", help="end with one JSON line of all figures")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE")
    args = p.parse_args(argv)
    settings = Settings().with_overrides(args.overrides)
    rows, every = {}, []
    for video in clip_paths(args.clips):
        drawn, run = drawn_boxes(video, settings)
        found = overlaps(video, drawn, settings)
        every += found
        rows[video.parent.name] = {**run, **figures(found)}
        r = rows[video.parent.name]
        print(f"{video.parent.name:24s} {r['faces']:5d} faces  median IoU {r['median_iou']:.3f}  "
              f"half-overlapped {r['half_overlapped']:.3f}  no box {r['no_box']:.3f}  "
              f"tracks {r['tracks']}  {r['analysed_fps']} fps ({r['dropped']} dropped), "
              f"detect p50 {r['detect_ms_p50']} ms", file=sys.stderr, flush=True)
    total = figures(every)
    print(f"{'all':24s} {total['faces']:5d} faces  median IoU {total['median_iou']:.3f}  "
          f"half-overlapped {total['half_overlapped']:.3f}  no box {total['no_box']:.3f}",
          file=sys.stderr)
    if args.json:
        print(json.dumps({"clips": rows, "all": total}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
