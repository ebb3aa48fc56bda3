"""Enrolment from footage, scored on the real clips: each clip's star is enrolled from the
clip's own video (`kpopcam enroll NAME VIDEO`'s steps), then the live engine is scored on the
clip as training/eval_moments.py scores it.

python -m training.eval_footage_enrol CLIPS_DIR [--truth-dir training/clip_truth] [--json]
                                      [--set SECTION.KEY=VALUE]

A clip with one star: she is enrolled as a new star, from the video alone (the person seen
most; no photo). A clip with several: each star's enrol/ photos only pick which person in the
video is she (the photos are not kept). Each star gets her best distinct looks (at most 8).
The faces enrolled come from the frames that are then scored, so the figures show what
footage enrolment gives on that footage, not on another video of the star.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import training.eval_moments as moments


def enrol_from_video(clip, settings, detector, embedder, path: Path):
    """A fresh gallery with each star of the clip enrolled from the clip's video."""
    from kpopcam.enrollment import enroll, looks_as_faces
    from kpopcam.footage import choose, people_in
    from kpopcam.images import photos_in
    from kpopcam.stars import StarGallery

    identity = settings.identity
    gallery = StarGallery(path, embedder=identity.weights, threshold=identity.match_threshold,
                          margin=identity.match_margin)
    stars = sorted(p for p in clip.enrol.iterdir() if p.is_dir()) if clip.enrol else []
    if not stars:
        return gallery
    people = people_in(clip.video, detector, embedder, gallery.threshold,
                       flip=settings.live.flip)
    for folder in stars:
        if len(stars) == 1:
            choice = choose(people, gallery, folder.name)
        else:
            with tempfile.TemporaryDirectory() as tmp, StarGallery(
                    Path(tmp) / "pick.sqlite", embedder=identity.weights,
                    threshold=identity.match_threshold) as pick:
                enroll(folder.name, photos_in([folder]), detector, embedder, pick,
                       flip=identity.flip)
                choice = choose(people, pick, folder.name)
        faces = looks_as_faces(choice.person.best_faces(), clip.video.name, embedder,
                               identity.flip)
        gallery.add_faces(folder.name, faces)
        frames = sorted(int(f.photo.rsplit(" ", 1)[1]) for f in faces)
        print(f"{clip.name}: {folder.name} enrolled from person "
              f"{people.index(choice.person) + 1} of {len(people)} ({choice.person.looks} "
              f"looks, {choice.person.shots} track(s)); {len(faces)} faces, frames {frames}",
              file=sys.stderr)
    return gallery


def main(argv: list[str] | None = None) -> int:
    moments.enrol_stars = enrol_from_video
    return moments.main(argv)


if __name__ == "__main__":
    sys.exit(main())
