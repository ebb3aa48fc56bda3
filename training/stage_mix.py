"""A stage mix of the real clips: one video that cuts between them every 1.5-3 s, as a music
show's edit cuts between cameras and members, with every clip's star enrolled at once.

python -m training.stage_mix CLIPS_DIR OUT_DIR [--truth-dir training/clip_truth] [--seed 0]
python -m training.eval_moments OUT_DIR --json

Each scored clip (a truth.json in CLIPS_DIR or its --truth-dir overlay, and enrolment photos)
is a camera that keeps its own time: a shot shows it from where its last shot left off, so every
frame of every clip is shown once, in order. Consecutive shots come from different clips, and
most clips frame their person in the middle: the next person is where the last one was, which
is what a name must not survive. Frames are letterboxed onto a 640x360 canvas at 25 fps.

With --dissolve S, each shot fades in over the last picture of the one before for S seconds
(music shows often dissolve from one member to the next); the people of both are in the truth
meanwhile, and only the new shot's after it.

OUT_DIR/stage-mix/ (or stage-mix-dissolve-Ss/) holds `clip.avi` (MJPG at quality 95),
`truth.json` (the clips' truths moved onto the mix: shots, dissolves, people and moments;
stars renamed `<clip>-<star>`, so that the two clips' "man" are two stars) and
`enrol/<clip>-<star>/` (the clips' enrolment photos). A moment cut by a shot is kept once: its
longest part in one shot, if that is the whole moment or at least MIN_MOMENT_S.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.eval_moments import first_existing

CANVAS = (640, 360)  # width, height
FPS = 25.0
SHOT_S = (1.5, 3.0)
MIN_MOMENT_S = 1.0
# the same man as webcam-then-cartoon, in the same video reversed: two names for one face
SAME_PERSON_AS_ANOTHER = ("cartoon-then-webcam",)


@dataclass(frozen=True)
class Placement:
    """Where a source's frame lands on the canvas: scaled by `scale`, then moved by dx, dy."""

    scale: float
    dx: float
    dy: float

    @classmethod
    def letterbox(cls, width: int, height: int) -> Placement:
        scale = min(CANVAS[0] / width, CANVAS[1] / height)
        return cls(scale, (CANVAS[0] - width * scale) / 2, (CANVAS[1] - height * scale) / 2)

    def image(self, frame: np.ndarray) -> np.ndarray:
        matrix = np.float32([[self.scale, 0, self.dx], [0, self.scale, self.dy]])
        interpolation = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        return cv2.warpAffine(frame, matrix, CANVAS, flags=interpolation)

    def region(self, box: list) -> list[float]:
        x1, y1, x2, y2 = box
        return [round(v, 1) for v in (x1 * self.scale + self.dx, y1 * self.scale + self.dy,
                                      x2 * self.scale + self.dx, y2 * self.scale + self.dy)]


class Camera:
    """One clip, read forwards only: the frame shown at a time of its own."""

    def __init__(self, name: str, video: Path, truth: dict, enrol: Path) -> None:
        from kpopcam.live.sources import VideoFileSource

        source = VideoFileSource(video, realtime=False)
        self.name, self.truth, self.enrol = name, truth, enrol
        self.fps = source.fps
        self.frame_count = int(truth["frames"])
        self.seconds = self.frame_count / self.fps
        self.position = 0.0  # seconds of it shown so far
        self._frames: Iterator = source.frames()
        self._current = next(self._frames)
        self.placement = Placement.letterbox(self._current.image.shape[1],
                                             self._current.image.shape[0])

    def frame_number(self, seconds: float) -> int:
        return min(int(seconds * self.fps + 1e-6), self.frame_count - 1)

    def image(self, number: int) -> np.ndarray:
        while self._current.number < number:
            following = next(self._frames, None)
            if following is None:
                break
            self._current = following
        return self.placement.image(self._current.image)

    def star(self, name: str | None) -> str | None:
        return f"{self.name}-{name}" if name else None


def cameras(clips: Path, truth_dir: Path | None) -> list[Camera]:
    found = []
    for folder in sorted(p for p in clips.iterdir() if p.is_dir()):
        if folder.name in SAME_PERSON_AS_ANOTHER:
            continue
        overlay = truth_dir / folder.name if truth_dir else None
        truth = first_existing(overlay, folder, "truth.json")
        enrol = first_existing(overlay, folder, "enrol")
        videos = sorted(folder.glob("clip.*"))
        if truth and enrol and videos:
            found.append(Camera(folder.name, videos[0],
                                json.loads(truth.read_text(encoding="utf-8")), enrol))
    return found


def edit(cams: list[Camera], rng: np.random.Generator) -> list[tuple[Camera, float, float]]:
    """The shots: (camera, its time at the shot's start, seconds), never one camera twice in a
    row; every camera's whole clip is used (the last one left goes on to its end)."""
    left = {id(c): c.seconds for c in cams}
    shots, last = [], None
    while any(v > 0 for v in left.values()):
        choices = [c for c in cams if left[id(c)] > 0 and c is not last] or \
                  [c for c in cams if left[id(c)] > 0]
        cam = choices[rng.integers(len(choices))]
        length = float(rng.uniform(*SHOT_S))
        if left[id(cam)] - length < SHOT_S[0] / 3:
            length = left[id(cam)]
        start = cam.seconds - left[id(cam)]
        if cam is last:  # the only camera left: its shot goes on, no cut
            shots[-1] = (cam, shots[-1][1], shots[-1][2] + length)
        else:
            shots.append((cam, start, length))
        left[id(cam)] -= length
        last = cam
    return shots


def mix(cams: list[Camera], shots, out: Path, dissolve_s: float = 0.0) -> dict:
    """Writes the video; returns its truth. dissolve_s: each shot fades in over the last
    picture of the one before for this long (its people stay in the truth meanwhile) instead
    of a hard cut."""
    writer = cv2.VideoWriter(str(out / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), FPS, CANVAS)
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    people, moments, cuts, dissolves = _Spans(), _Spans(), [], []
    fade = round(dissolve_s * FPS)
    frame, last_image, last_people = 0, None, []
    for shot, (cam, start, length) in enumerate(shots):
        fading = fade if last_image is not None else 0
        outgoing, outgoing_people = last_image, last_people  # the last shot's last picture
        if fading:
            dissolves.append([frame, frame + fading - 1])
        cuts.append(frame + fading)
        previous_source = None
        for k in range(max(1, round(length * FPS))):
            number = cam.frame_number(start + k / FPS)
            if previous_source is not None and _cut_between(cam.truth, previous_source, number):
                cuts.append(frame)  # a cut inside the clip itself
            previous_source = number
            image = plain = cam.image(number)
            here = [(shot, cam.star(p["star"]), tuple(cam.placement.region(p["region"])))
                    for p in cam.truth.get("people", ())
                    if p["frames"][0] <= number <= p["frames"][1]]
            if k < fading:  # the last shot's picture fades out, its people still there
                alpha = (k + 1) / (fading + 1)
                image = cv2.addWeighted(image, alpha, outgoing, 1 - alpha, 0)
                for key in outgoing_people:
                    people.add(key, frame)
            writer.write(image)
            for key in here:
                people.add(key, frame)
            for i, m in enumerate(cam.truth.get("moments", ())):
                if m["frames"][0] <= number <= m["frames"][1]:
                    moments.add((shot, cam.star(m["star"]), m["emotion"], cam.name, i), frame)
            frame += 1
            last_image, last_people = plain, here
    writer.release()
    shots_out = [[a, b - 1] for a, b in zip(cuts, cuts[1:] + [frame], strict=True)]
    return {
        "source": "training/stage_mix.py: shots of the clips in " + ", ".join(
            c.name for c in cams) + "; each clip's own source and licence apply",
        "frames": frame,
        "shots": shots_out,
        "dissolves": dissolves,
        "people": [{"star": star, "frames": [a, b], "region": list(region)}
                   for (_, star, region), (a, b) in people.spans()],
        "moments": kept_moments(cams, moments.spans()),
        "edit": [{"clip": c.name, "from_s": round(s, 2), "seconds": round(n, 2)}
                 for c, s, n in shots],
    }


def kept_moments(cams: list[Camera], parts) -> list[dict]:
    """Each clip's moment once: its longest part in one shot, where that is the whole moment
    or at least MIN_MOMENT_S (one capture is asked for per moment, and the trigger's cooldown
    would refuse a second capture of the same laugh a shot later)."""
    by_name = {c.name: c for c in cams}
    longest: dict[tuple, tuple[int, int, str, str]] = {}
    for (_, star, emotion, clip, index), (a, b) in parts:
        best = longest.get((clip, index))
        if best is None or b - a > best[1] - best[0]:
            longest[clip, index] = (a, b, star, emotion)
    kept = []
    for (clip, index), (a, b, star, emotion) in longest.items():
        cam = by_name[clip]
        first, last = cam.truth["moments"][index]["frames"]
        whole = round((last - first + 1) / cam.fps * FPS)
        if b - a + 1 >= min(whole - 1, round(MIN_MOMENT_S * FPS)):
            kept.append({"star": star, "emotion": emotion, "frames": [a, b]})
    return sorted(kept, key=lambda m: m["frames"])


def _cut_between(truth: dict, before: int, after: int) -> bool:
    return any(before < first <= after for first, _ in truth.get("shots", ()))


class _Spans:
    """Runs of consecutive frames per key, in the order they started."""

    def __init__(self) -> None:
        self._runs: list[tuple[object, list[int]]] = []
        self._open: dict[object, list[int]] = {}

    def add(self, key, frame: int) -> None:
        run = self._open.get(key)
        if run is not None and run[1] == frame - 1:
            run[1] = frame
            return
        run = [frame, frame]
        self._open[key] = run
        self._runs.append((key, run))

    def spans(self) -> list[tuple[object, tuple[int, int]]]:
        return [(key, (a, b)) for key, (a, b) in self._runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="folder of clip folders")
    parser.add_argument("out", type=Path, help="OUT/stage-mix/ is written")
    parser.add_argument("--truth-dir", type=Path, default=Path("training/clip_truth"))
    parser.add_argument("--seed", type=int, default=0, help="which edit")
    parser.add_argument("--dissolve", type=float, default=0.0, metavar="S",
                        help="shots fade into each other over S seconds (default: hard cuts)")
    args = parser.parse_args(argv)
    cams = cameras(args.clips, args.truth_dir)
    if len(cams) < 2:
        print(f"{args.clips}: fewer than two clips with a truth and enrolment photos",
              file=sys.stderr)
        return 1
    out = args.out / (f"stage-mix-dissolve-{args.dissolve:g}s" if args.dissolve else "stage-mix")
    out.mkdir(parents=True, exist_ok=True)
    truth = mix(cams, edit(cams, np.random.default_rng(args.seed)), out, args.dissolve)
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    for cam in cams:
        for star in sorted(p for p in cam.enrol.iterdir() if p.is_dir()):
            shutil.copytree(star, out / "enrol" / cam.star(star.name), dirs_exist_ok=True)
    print(f"{out}: {truth['frames']} frames, {len(truth['shots'])} shots of {len(cams)} clips, "
          f"{len(truth['moments'])} moments")
    return 0


if __name__ == "__main__":
    sys.exit(main())
