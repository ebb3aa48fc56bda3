"""kpopcam enroll NAME PHOTO_OR_FOLDER... | NAME VIDEO: add a star's face from photos, or her
best distinct faces from a video."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tqdm import tqdm

from kpopcam.commands.common import (
    fail,
    gallery_path,
    gallery_write_failed,
    make_embedder,
    open_gallery,
)
from kpopcam.enrol_screen import lookalike_advice
from kpopcam.images import ImageReadError, photos_in
from kpopcam.stars import GalleryError, clean_name


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "enroll", help="enrol a star from photos, folders of photos, or a video",
        description="Adds the largest face of each photo to the star NAME (made if new). "
        "Photos with no face, several faces of similar size, or that cannot be read are "
        "listed and skipped, and so are a face NAME already has and, once NAME has four other "
        "faces, a face that looks more like another enrolled star (--keep-lookalikes adds "
        "those). Given a video instead, the faces in it are followed through "
        "its shots and grouped by person; the person who looks like NAME's enrolled faces "
        "(for a new star: the person seen most) gives her best distinct faces, and a sheet "
        "of them is saved to check.",
    )
    p.add_argument("name", help="the star's name, in any script (e.g. Lisa, 리사)")
    p.add_argument("photos", nargs="+", metavar="PHOTO_OR_VIDEO",
                   help="photos or folders of photos, or one video")
    p.add_argument("--person", type=int, metavar="N", help="video, new star: take the N-th "
                   "most seen person instead of the most seen (the list says who is who)")
    p.add_argument("--keep-lookalikes", action="store_true", help="photos: also add faces "
                   "that look more like another enrolled star than like NAME's other faces "
                   "(left out by default: a photo of the wrong member)")
    p.add_argument("--sheet", type=Path, help="video: where to save the sheet of the faces "
                   "taken (default: beside the gallery, enrolled/NAME-VIDEO.jpg)")
    p.set_defaults(run=run)


def run(args) -> int:
    from kpopcam.footage import is_video

    try:
        clean_name(args.name)
    except GalleryError as exc:
        return fail(str(exc), 2)
    videos = [Path(p) for p in args.photos if is_video(Path(p))]
    if videos:
        if len(args.photos) > 1:
            return fail("give either photos or one video, not both or several videos", 2)
        if args.keep_lookalikes:
            return fail("--keep-lookalikes is for enrolling from photos", 2)
        return _run_video(args, videos[0])
    if args.person is not None or args.sheet is not None:
        return fail("--person and --sheet are for enrolling from a video", 2)
    return _run_photos(args)


def _run_photos(args) -> int:
    from kpopcam.vision.weights import WeightsError

    try:
        photos = photos_in(args.photos)
    except ImageReadError as exc:
        return fail(str(exc), 2)
    if not photos:
        return fail("no photos found in " + ", ".join(args.photos))
    try:
        gallery = open_gallery(args)
        from kpopcam.vision.detector import photo_detector

        detector, embedder = photo_detector(args.settings), make_embedder(args.settings)
        with tqdm(total=len(photos), desc=f"enrolling {args.name}", unit="photo") as bar:
            report = _enroll(args, photos, detector, embedder, gallery, bar)
    except (GalleryError, WeightsError) as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(gallery_write_failed(gallery_path(args), exc))
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}")
    print(f"{args.name}: {len(report.added)} face(s) added, {len(report.skipped)} photo(s) "
          f"skipped")
    advice = lookalike_advice(args.name, [why for _, why in report.skipped])
    if advice:
        print(advice)
    return 0 if report.added else 1


def _enroll(args, photos, detector, embedder, gallery, bar):
    from kpopcam.enrollment import enroll

    with gallery:
        return enroll(args.name, photos, detector, embedder, gallery,
                      flip=args.settings.identity.flip, on_photo=lambda _: bar.update(),
                      lookalikes=args.keep_lookalikes)


def _run_video(args, video: Path) -> int:
    from kpopcam.footage import FootageError
    from kpopcam.vision.weights import WeightsError

    try:
        gallery = open_gallery(args)
        with gallery:
            return _enroll_video(args, video, gallery)
    except (FootageError, GalleryError, WeightsError) as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(gallery_write_failed(gallery_path(args), exc))


def _enroll_video(args, video: Path, gallery) -> int:
    from kpopcam.files import write_bytes_atomic
    from kpopcam.footage import FootageError, choose, contact_sheet, enrolled_faces, people_in
    from kpopcam.vision.detector import photo_detector

    settings = args.settings
    if args.person is not None and gallery.find(args.name) is not None:
        return fail(f"{args.name} is enrolled: the person who looks like her is taken "
                    "(--person is for a new star)", 2)
    detector, embedder = photo_detector(settings), make_embedder(settings)
    with tqdm(desc=f"finding faces in {video.name}", unit="frame") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total or None
            bar.update(done - bar.n)

        people = people_in(video, detector, embedder, gallery.threshold,
                           flip=settings.live.flip, on_frame=progress)
    choice = choose(people, gallery, args.name)
    person = choice.person
    if args.person is not None:
        if not 1 <= args.person <= len(people):
            raise FootageError(f"--person {args.person}: the video shows {len(people)} "
                               "people (1 is the most seen)")
        person = people[args.person - 1]
    faces = enrolled_faces(person, video, embedder, flip=settings.identity.flip)
    sheet = args.sheet or (gallery.path.parent / "enrolled" /
                           f"{_safe(args.name)}-{_safe(video.stem)}.jpg")
    sheet.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(sheet, contact_sheet(faces))
    gallery.add_faces(args.name, faces)
    _say_who(args.name, video, people, person, choice)
    print(f"{args.name}: {len(faces)} face(s) added from {video.name}; the faces taken: {sheet}")
    return 0


def _say_who(name, video, people, person, choice) -> None:
    if choice.matched is not None:
        print(f"{name}: the person in {video.name} most like her enrolled faces "
              f"(similarity {choice.matched:.2f})")
        return
    if choice.others or person is not people[0]:
        print(f"{video.name} shows {len(people)} people; several are seen often:")
        for i, p in enumerate(people, 1):
            if p is person or p is people[0] or p in choice.others:
                taken = "  <- taken" if p is person else ""
                print(f"  person {i}: seen on {p.looks} sampled frames, first at frame "
                      f"{p.first_frame}{taken}")
        print(f"if the sheet shows someone else: kpopcam stars remove {name}, then enrol "
              "again with --person N")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:60] or "star"
