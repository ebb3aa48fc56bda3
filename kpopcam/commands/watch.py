"""kpopcam watch: run the live engine without a window, with a progress line and a summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kpopcam.commands.common import fail, open_gallery
from kpopcam.types import EMOTIONS

STATUS_EVERY_S = 0.5


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "watch", help="watch a source and save portraits of your star's moments",
        description="Watches a camera, a video file, the screen or a folder of images and "
        "saves a portrait whenever the chosen star shows the chosen emotion. Stops at the end "
        "of the stream or on Ctrl-C.",
    )
    p.add_argument("--source", required=True,
                   help="camera:0, screen, screen:LEFT,TOP,WIDTH,HEIGHT, a video file or a folder")
    p.add_argument("--star", help="the enrolled star to watch (default: the settings', else any)")
    p.add_argument("--emotion", choices=EMOTIONS, help="the emotion to catch (default: happy)")
    p.add_argument("--out", type=Path, help="capture folder (default: the settings')")
    p.add_argument("--fast", action="store_true",
                   help="batch work: analyse every frame of a video file or folder as fast as "
                   "the machine allows, instead of playing it at its own pace")
    p.set_defaults(run=run)


def run(args) -> int:
    from kpopcam.captures import CaptureError, CaptureStore
    from kpopcam.live.loading import build_engine, load_face_models, load_portrait_maker
    from kpopcam.live.sources import SourceError, open_source
    from kpopcam.stars import GalleryError
    from kpopcam.vision.weights import WeightsError

    overrides = {k: v for k, v in (("star", args.star), ("emotion", args.emotion)) if v}
    settings = args.settings.updated({"trigger": overrides}) if overrides else args.settings
    folder = args.out or settings.capture.path
    try:
        CaptureStore(folder).close()  # a folder that cannot be used fails before the models load
        gallery = open_gallery(args)
        if settings.trigger.star:  # --star lisa means the enrolled 'Lisa'
            star = gallery.find(settings.trigger.star)
            if star is None:
                return fail(f"no star called {settings.trigger.star!r} is enrolled: "
                            "kpopcam enroll NAME PHOTOS... first (kpopcam stars lists them)")
            settings = settings.updated({"trigger": {"star": star}})
        # --fast: every frame of a file is analysed, as fast as the machine allows
        source = open_source(args.source, realtime=not args.fast)
        print("loading models...", file=sys.stderr)
        engine = build_engine(settings, source, load_face_models(settings, gallery),
                              load_portrait_maker(settings), capture_folder=folder,
                              every_frame=args.fast)
    except (SourceError, GalleryError, WeightsError, CaptureError) as exc:
        return fail(str(exc))
    target = f"{settings.trigger.star or 'any star'} looking {settings.trigger.emotion}"
    engine.on_capture = lambda c: print(f"\nsaved {c.portrait}", file=sys.stderr)
    try:
        engine.start()
        print(f"watching {source.name} for {target}; Ctrl-C stops", file=sys.stderr)
        while engine.running:
            _status_line(engine)
            time.sleep(STATUS_EVERY_S)
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
    finally:
        engine.stop()  # a no-op when the stream has already ended
        engine.wait()
    _summary(engine, engine.store.folder)
    return 1 if engine.error else 0


def _status_line(engine) -> None:
    s = engine.stats
    print(f"\r{s.analysed_fps:5.1f} fps analysed | frames {s.frames_in} "
          f"(dropped {s.frames_dropped}) | captures {s.captures}   ",
          end="", file=sys.stderr, flush=True)


def _summary(engine, folder: Path) -> None:
    s = engine.stats
    print(f"\n{s.end_reason or 'stopped'}: {s.frames_in} frames, {s.frames_analysed} analysed "
          f"({s.analysed_fps:.1f} fps), {s.captures} portrait(s) saved in {folder}")
    for error in s.capture_errors:
        print(f"capture failed: {error}")
    if engine.error:
        print(f"kpopcam: the engine stopped on an error: {engine.error}", file=sys.stderr)
