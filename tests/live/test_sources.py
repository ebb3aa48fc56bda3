"""Frame sources: real files, a camera that is not there, the screen, folders of photos."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from kpopcam.live.sources import (
    ImageFolderSource,
    SourceError,
    VideoFileSource,
    open_source,
)
from tests.conftest import save_jpeg
from tests.live.conftest import write_video


def test_video_plays_at_its_own_frame_rate(tmp_path):
    video = write_video(tmp_path / "v.mp4", [(1.0, None, 1)], fps=20)
    start = time.monotonic()
    with VideoFileSource(video) as source:
        frames = list(source.frames())
    elapsed = time.monotonic() - start
    assert len(frames) == 20 and source.fps == pytest.approx(20)
    assert [f.number for f in frames] == list(range(20))
    assert frames[-1].timestamp == pytest.approx(19 / 20)
    assert elapsed >= 0.9  # real time, as a live stream arrives
    assert frames[0].image.shape == (480, 640, 3) and frames[0].image.dtype == np.uint8


def test_video_read_fast_for_batch_work(tmp_path):
    video = write_video(tmp_path / "v.mp4", [(2.0, None, 1)], fps=30)
    start = time.monotonic()
    with VideoFileSource(video, realtime=False) as source:
        assert len(list(source.frames())) == 60
    assert time.monotonic() - start < 1.5
    assert source.end_reason == "end of video"


def test_closing_stops_a_playing_video(tmp_path):
    video = write_video(tmp_path / "v.mp4", [(5.0, None, 1)], fps=10)
    source = VideoFileSource(video)
    frames = source.frames()
    next(frames)
    source.close()
    assert len(list(frames)) <= 1
    assert source.end_reason == "stopped"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("camera:7", "no camera at index 7"),
        ("camera:front", "camera index must be a number"),
        ("screen:1,2,3", "LEFT,TOP,WIDTH,HEIGHT"),
        ("/no/such/video.mp4", "is not a camera"),
    ],
)
def test_sources_that_cannot_start_say_why(spec, message):
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    fake = tmp_path / "song.mp4"
    fake.write_text("not a video", "utf-8")
    with pytest.raises(SourceError, match="cannot be opened"):
        open_source(str(fake))


@pytest.mark.skipif(bool(os.environ.get("DISPLAY")), reason="a screen is available here")
def test_no_screen_to_grab_is_a_clear_error():
    with pytest.raises(SourceError, match="screen"):
        source = open_source("screen")
        next(source.frames())


def test_folder_of_images_skips_what_it_cannot_read(tmp_path, astronaut):
    save_jpeg(astronaut, tmp_path / "a.jpg")
    (tmp_path / "b.jpg").write_bytes(b"broken")
    save_jpeg(astronaut[:, ::-1].copy(), tmp_path / "c.jpg")
    source = open_source(str(tmp_path), realtime=False)
    assert isinstance(source, ImageFolderSource)
    frames = list(source.frames())
    assert len(frames) == 2 * 10  # each readable image held for a second at 10 frames a second
    assert [f.number for f in frames] == list(range(20))
    assert frames[0].image.shape == (512, 512, 3)
    assert frames[10].timestamp == 1.0  # one image a second by default
    assert [p.name for p, _ in source.skipped] == ["b.jpg"]


def test_folder_shows_every_image_for_its_second_in_real_time(tmp_path, astronaut, cameraman):
    """A slide show: no image is skipped, each is on screen for a second (repeated, so that
    an emotion can hold), and the show runs at that pace."""
    for i in range(3):
        save_jpeg(astronaut if i != 1 else cameraman, tmp_path / f"{i}.jpg")
    start = time.monotonic()
    frames = list(open_source(str(tmp_path)).frames())
    elapsed = time.monotonic() - start
    grey = [bool(np.all(f.image[..., 0] == f.image[..., 2])) for f in frames]
    assert grey == [False] * 10 + [True] * 10 + [False] * 10
    assert [f.timestamp for f in frames[::10]] == [0.0, 1.0, 2.0]
    assert elapsed >= 2.7  # the third image appears two seconds in and stays its second
    assert frames[0].image is not frames[1].image  # each frame owns its pixels


def test_a_folder_that_cannot_be_listed_says_so(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x", "utf-8")
    with pytest.raises(SourceError, match="cannot be read"):
        ImageFolderSource(blocker)


def test_a_screen_region_off_the_screen_is_refused_before_grabbing():
    from kpopcam.live.sources import _region_on_screen

    screen = {"left": 0, "top": 0, "width": 1280, "height": 720}
    assert _region_on_screen((0, 0, 1280, 720), screen)["width"] == 1280
    for region in ((1000, 600, 800, 800), (-10, 0, 100, 100), (0, 700, 100, 30)):
        with pytest.raises(SourceError, match="not all on the screen, which is 1280x720"):
            _region_on_screen(region, screen)


def test_a_screen_region_off_the_real_screen_is_one_plain_error(on_x):
    with pytest.raises(SourceError, match="not all on the screen"):
        open_source("screen:100000,100000,640,480")
