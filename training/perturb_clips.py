"""Copies of the real clips as harder footage would look: stage light, flashing lights, a dim
room, a laptop camera aimed at a screen, half the size, a mirror image, heavy stream
compression. Measures how the live engine's figures hold up on footage it was not tuned on.

python -m training.perturb_clips CLIPS_DIR OUT_DIR --kind stage-light [--truth-dir DIR]
python -m training.eval_moments OUT_DIR/stage-light --json

Each scored clip folder (one with a truth.json, in CLIPS_DIR or its --truth-dir overlay) is
written to OUT_DIR/KIND/<clip>/: `clip.avi` (MJPG at quality 95, the source's frame rate), its
truth.json with regions moved as the picture moved, and its enrol/ photos unchanged (fans enrol
from clean photos). The changes are fixed, not random, so that every run scores the same video.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from training.eval_moments import first_existing

Frame = np.ndarray  # BGR uint8


def stage_light(image: Frame) -> Frame:
    """A magenta stage wash: red and blue up, green down, the whole picture darker."""
    gain = np.array([1.15, 0.55, 1.1], np.float32) * 0.8
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def dim(image: Frame, number: int) -> Frame:
    """A dim room seen by a laptop camera: under half the light, and sensor noise."""
    noise = np.random.default_rng(number).normal(0, 6, image.shape).astype(np.float32)
    return np.clip(image.astype(np.float32) * 0.45 + noise, 0, 255).astype(np.uint8)


def screen_camera(image: Frame, number: int) -> Frame:
    """A laptop camera aimed at a screen: washed-out contrast (the screen's glow), a little out
    of focus, and the camera's sensor noise."""
    soft = cv2.GaussianBlur(image, (0, 0), 1.2).astype(np.float32) * 0.65 + 40
    noise = np.random.default_rng(number).normal(0, 5, image.shape).astype(np.float32)
    return np.clip(soft + noise, 0, 255).astype(np.uint8)


def strobe(image: Frame, number: int) -> Frame:
    """Stage lights flashing: two frames in every 15 washed in white or magenta light."""
    if number % 15 >= 2:
        return image
    gain = (np.float32([1.7, 1.7, 1.7]) if number % 30 < 15
            else np.float32([1.8, 0.9, 1.8]))  # BGR: white, then magenta
    return np.clip(image.astype(np.float32) * gain + 40, 0, 255).astype(np.uint8)


def jpeg(image: Frame) -> Frame:
    """A starved stream: every frame through JPEG at quality 20."""
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 20])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def half(image: Frame) -> Frame:
    height, width = image.shape[:2]
    return cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def mirror(image: Frame) -> Frame:
    return image[:, ::-1].copy()


# kind: (frame change, region change given the source's width)
KINDS: dict[str, tuple[Callable[[Frame, int], Frame], Callable[[list, int], list]]] = {
    "stage-light": (lambda image, n: stage_light(image), lambda r, w: r),
    "dim": (dim, lambda r, w: r),
    "screen-camera": (screen_camera, lambda r, w: r),
    "strobe": (strobe, lambda r, w: r),
    "jpeg": (lambda image, n: jpeg(image), lambda r, w: r),
    "half-size": (lambda image, n: half(image), lambda r, w: [v / 2 for v in r]),
    "mirror": (lambda image, n: mirror(image), lambda r, w: [w - r[2], r[1], w - r[0], r[3]]),
}


def truth_with_regions(truth: dict, change: Callable[[list, int], list], width: int) -> dict:
    moved = dict(truth)
    moved["people"] = [dict(p, region=change(p["region"], width)) for p in truth["people"]]
    return moved


def write_video(video: Path, out: Path, change: Callable[[Frame, int], Frame]) -> int:
    """The clip with every frame changed; returns the source's width."""
    from kpopcam.live.sources import VideoFileSource

    source = VideoFileSource(video, realtime=False)
    writer, width = None, 0
    for frame in source.frames():
        image = change(frame.image, frame.number)
        if writer is None:
            width = frame.image.shape[1]
            height, out_width = image.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), source.fps,
                                     (out_width, height))
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        writer.write(image)
    if writer is None:
        raise RuntimeError(f"{video}: no frames")
    writer.release()
    return width


def perturb_clip(folder: Path, overlay: Path | None, out: Path, kind: str) -> bool:
    truth_file = first_existing(overlay, folder, "truth.json")
    videos = sorted(folder.glob("clip.*"))
    if truth_file is None or not videos:
        return False
    frame_change, region_change = KINDS[kind]
    out.mkdir(parents=True, exist_ok=True)
    width = write_video(videos[0], out / "clip.avi", frame_change)
    truth = truth_with_regions(json.loads(truth_file.read_text(encoding="utf-8")),
                               region_change, width)
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    enrol = first_existing(overlay, folder, "enrol")
    if enrol is not None:
        shutil.copytree(enrol, out / "enrol", dirs_exist_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="folder of clip folders")
    parser.add_argument("out", type=Path, help="where OUT/KIND/<clip>/ are written")
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--truth-dir", type=Path, default=Path("training/clip_truth"))
    args = parser.parse_args(argv)
    written = 0
    for folder in sorted(p for p in args.clips.iterdir() if p.is_dir()):
        overlay = args.truth_dir / folder.name if args.truth_dir else None
        if perturb_clip(folder, overlay, args.out / args.kind / folder.name, args.kind):
            written += 1
            print(f"{args.kind}/{folder.name}", file=sys.stderr)
    print(f"{written} clips written to {args.out / args.kind}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
