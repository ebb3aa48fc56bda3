"""Scores the live engine on real clips: stars named on every frame, captures, moments caught.

python -m training.eval_moments CLIPS_DIR [--truth-dir training/clip_truth] [--json]

CLIPS_DIR holds one folder per clip (../shared/data/README.md): `clip.*`, `enrol/<star>/`
photos and `truth.json`. A folder of --truth-dir with the same name overlays it: its
truth.json and enrol/ are used instead (the video always comes from CLIPS_DIR). Clips with no
truth are skipped with a line saying so.

Each clip's stars are enrolled into a fresh gallery with the app's own enrolment, then the live
engine runs over every frame of the clip (every-frame mode, inline detection on each frame, so
that a run is deterministic) with the shipped default settings, except: trigger.star is the
clip's star when it has one; captures go to a temporary folder, saved without the portrait
blur (which does not change which frame is saved). The rule catches one emotion at a time: a
clip whose moments show several emotions is run once per emotion; names are scored on the
first run, captures on all. The scoring rules are in training/moment_scoring.py.

With --json the last line is one JSON object of the totals.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from training.moment_scoring import (
    SavedCapture,
    Score,
    SeenFace,
    Truth,
    box_centre,
    capture_is_right,
    caught_moments,
    score_captures,
    score_frame,
)


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    truth: Truth
    enrol: Path | None  # enrol/<star>/ photo folders


@dataclass(frozen=True)
class ClipRun:
    """What the engine made of one clip: the faces of each analysed frame, and its captures."""

    fps: float
    frames: dict[int, tuple[SeenFace, ...]]
    captures: tuple[SavedCapture, ...]


def find_clips(clips_dir: Path, truth_dir: Path | None = None) -> tuple[list[Clip], list[str]]:
    """The clips that can be scored, and a line for each folder that cannot."""
    clips, skipped = [], []
    for folder in sorted(p for p in Path(clips_dir).iterdir() if p.is_dir()):
        overlay = Path(truth_dir) / folder.name if truth_dir else None
        videos = sorted(folder.glob("clip.*"))
        truth = first_existing(overlay, folder, "truth.json")
        if not videos:
            skipped.append(f"{folder.name}: skipped, no clip.* video")
        elif truth is None:
            skipped.append(f"{folder.name}: skipped, no truth.json")
        else:
            clips.append(Clip(folder.name, videos[0], Truth.load(truth),
                              first_existing(overlay, folder, "enrol")))
    return clips, skipped


def first_existing(overlay: Path | None, folder: Path, name: str) -> Path | None:
    """The clip's `name` (truth.json, enrol): the --truth-dir overlay's when it has one."""
    for base in (overlay, folder):
        if base is not None and (base / name).exists():
            return base / name
    return None


OVERRIDES: list[str] = []  # --set SECTION.KEY=VALUE: measure something other than the defaults


def base_settings():
    """The shipped defaults, with the --set overrides of this run."""
    from kpopcam.settings import Settings

    return Settings().with_overrides(OVERRIDES)


def clip_settings(clip: Clip, emotion: str, capture_folder: Path):
    stars = sorted(p.name for p in clip.enrol.iterdir() if p.is_dir()) if clip.enrol else []
    trigger = {"emotion": emotion, "star": stars[0] if len(stars) == 1 else ""}
    return base_settings().updated({"trigger": trigger,
                               "capture": {"folder": str(capture_folder)}})


def enrol_stars(clip: Clip, settings, detector, embedder, path: Path):
    """A fresh gallery with each enrol/<star>/ folder enrolled as the app enrols."""
    from kpopcam.enrollment import enroll
    from kpopcam.images import photos_in
    from kpopcam.stars import StarGallery

    gallery = StarGallery(path, embedder=settings.identity.weights,
                          threshold=settings.identity.match_threshold,
                          margin=settings.identity.match_margin)
    for folder in sorted(p for p in clip.enrol.iterdir() if p.is_dir()) if clip.enrol else []:
        report = enroll(folder.name, photos_in([folder]), detector, embedder, gallery,
                        flip=settings.identity.flip)
        for photo, reason in report.skipped:
            print(f"{clip.name}: enrol photo {photo.name} of {folder.name} skipped: {reason}",
                  file=sys.stderr)
    return gallery


def run_clip(clip: Clip, settings, models) -> ClipRun:
    """The live engine over every frame of the clip."""
    from kpopcam.live.loading import build_engine
    from kpopcam.live.sources import VideoFileSource

    source = VideoFileSource(clip.video, realtime=False)
    frames: dict[int, tuple[SeenFace, ...]] = {}
    bar = tqdm(total=source.frame_count or None, desc=clip.name, unit="frame", leave=False,
               file=sys.stderr)

    def seen(analysis) -> None:
        frames[analysis.frame_number] = tuple(
            SeenFace(box_centre(f.box), f.star) for f in analysis.faces)
        bar.update()

    engine = build_engine(settings, source, models, portraits=None, every_frame=True,
                          on_analysis=seen)
    try:
        engine.start()
        engine.wait()
    finally:
        bar.close()
        captures = tuple(SavedCapture(c.star, c.emotion, c.frame, c.face_box)
                         for c in sorted(engine.store.list(), key=lambda c: c.frame))
        engine.store.close()
    if engine.error is not None:
        raise RuntimeError(f"{clip.name}: the engine stopped on an error") from engine.error
    return ClipRun(source.fps, frames, captures)


def slack_frames(fps: float) -> int:
    """How long after a moment's end its capture may fall: the default hold time."""
    return math.ceil(base_settings().trigger.hold_s * fps)


def score_runs(clip: Clip, runs: list[ClipRun]) -> Score:
    """Names on the first run's frames (every run names alike), captures of all runs (a
    moment is caught only by a capture of its own emotion)."""
    score = Score(clips=1)
    for number, faces in sorted(runs[0].frames.items()):
        score += score_frame(clip.truth, number, faces)
    captures = [c for run in runs for c in run.captures]
    return score + score_captures(clip.truth, captures, slack_frames(runs[0].fps))


def score_clip(clip: Clip, models, detector, work: Path) -> tuple[Score, list[ClipRun]]:
    """Enrol, run once per emotion of the clip's moments, and score."""
    emotions = sorted({m.emotion for m in clip.truth.moments}) or ["happy"]
    runs = []
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        settings = clip_settings(clip, emotions[0], Path(tmp) / "captures")
        gallery = enrol_stars(clip, settings, detector, models.embedder,
                              Path(tmp) / "stars.sqlite")
        try:
            for emotion in emotions:
                settings = clip_settings(clip, emotion, Path(tmp) / f"captures-{emotion}")
                runs.append(run_clip(clip, settings,
                                     dataclasses.replace(models, gallery=gallery)))
        finally:
            gallery.close()
    if len(runs[0].frames) != clip.truth.frames:
        print(f"{clip.name}: {len(runs[0].frames)} frames analysed, truth.json says "
              f"{clip.truth.frames}", file=sys.stderr)
    return score_runs(clip, runs), runs


def details(clip: Clip, runs: list[ClipRun]) -> str:
    """Each capture (frame, emotion, wrong or not) and the moments missed."""
    captures = [c for run in runs for c in run.captures]
    right = [c for c in captures if capture_is_right(clip.truth, c)]
    caught = caught_moments(clip.truth, right, slack_frames(runs[0].fps))
    missed = [f"{m.star} {m.emotion} {m.first}-{m.last}" for m in clip.truth.moments
              if m not in caught]
    saved = [f"{c.star} {c.emotion} at {c.frame}" + ("" if c in right else " (WRONG)")
             for c in captures]
    return (f"  {clip.name}: captures: {', '.join(saved) or 'none'}; moments missed: "
            f"{', '.join(missed) or 'none'}")


def load_models():
    """The live models and the enrolment detector, as the app builds them from its defaults."""
    from kpopcam.live.loading import load_face_models
    from kpopcam.vision.detector import photo_detector

    settings = base_settings()
    return load_face_models(settings, gallery=None), photo_detector(settings)


COLUMNS = ("star_faces", "star_seen", "star_named_right", "star_named_wrong", "strangers",
           "strangers_named", "captures", "wrong_captures", "moments", "caught")
HEADERS = ("star faces", "seen", "right", "wrong", "strangers", "named", "captures",
           "wrong", "moments", "caught")


def table_row(name: str, score: Score) -> str:
    right = (f"{100 * score.star_named_right / score.star_faces:5.1f} %" if score.star_faces
             else "    -  ")
    return f"{name:<24}" + "".join(f"{getattr(score, c):>10}" for c in COLUMNS) + f"  {right}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips_dir", type=Path)
    parser.add_argument("--truth-dir", type=Path,
                        help="folders named as clips, with truth.json and enrol/ of your own")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of totals")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="measure with a setting changed, e.g. "
                        "--set identity.threshold=0.7 (repeatable)")
    args = parser.parse_args(argv)
    OVERRIDES[:] = args.overrides

    import torch

    torch.set_num_threads(1)
    clips, skipped = find_clips(args.clips_dir, args.truth_dir)
    for line in skipped:
        print(line)
    models, detector = load_models()
    total = Score()
    print(f"{'clip':<24}" + "".join(f"{h:>10}" for h in HEADERS) + "  named right")
    with tempfile.TemporaryDirectory(prefix="eval_moments-") as work:
        for clip in clips:
            start = time.monotonic()
            score, runs = score_clip(clip, models, detector, Path(work))
            total += score
            print(table_row(clip.name, score), f" ({time.monotonic() - start:.0f} s)")
            print(details(clip, runs), flush=True)
    print(table_row("total", total))
    if args.json:
        print(json.dumps(total.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
