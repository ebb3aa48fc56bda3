"""Seeking and pausing a video file while its source thread plays it: requests are handed over
as frozen values and carried out by the thread that owns the capture."""

from __future__ import annotations

import random
import threading
import time

import cv2
import numpy as np
import pytest

from kpopcam.live.sources import Pause, Seek, VideoFileSource, open_source, read_video_frame

FRAMES = 90
BITS = 8
BAR = 20


def coded_video(path, frames: int = FRAMES, fps: float = 30.0) -> str:
    """Each frame shows its own number as black and white bars (survives mp4v compression)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (BITS * BAR, 96))
    assert writer.isOpened()
    for i in range(frames):
        image = np.zeros((96, BITS * BAR, 3), np.uint8)
        for bit in range(BITS):
            if i >> bit & 1:
                image[:, bit * BAR:(bit + 1) * BAR] = 255
        writer.write(image)
    writer.release()
    return str(path)


def shown_number(image: np.ndarray) -> int:
    return sum(1 << bit for bit in range(BITS)
               if image[:, bit * BAR + 5:(bit + 1) * BAR - 5].mean() > 128)


class Player(threading.Thread):
    """The engine's source loop, reduced to what this test watches: every frame kept."""

    def __init__(self, source: VideoFileSource):
        super().__init__(daemon=True)
        self.source, self.frames = source, []
        self.arrived = threading.Condition()

    def run(self) -> None:
        for frame in self.source.frames():
            with self.arrived:
                self.frames.append(frame)
                self.arrived.notify_all()

    def wait_for(self, test, timeout: float = 5.0):
        with self.arrived:
            assert self.arrived.wait_for(lambda: test(self.frames), timeout), self.frames[-3:]
            return self.frames[-1]


def test_seeks_and_pauses_from_another_thread_never_mix_up_frames(tmp_path, fast_switching):
    video = coded_video(tmp_path / "numbers.mp4")
    source = VideoFileSource(video, realtime=False, loops=1000)
    player = Player(source)
    player.start()
    rng = random.Random(0)
    for _ in range(400):  # the GUI hammering the seek bar and the pause button
        if rng.random() < 0.2:
            source.post(Pause(rng.random() < 0.5))
        else:
            source.post(Seek(rng.randrange(FRAMES)))
        time.sleep(rng.random() * 0.002)
    source.post(Pause(False))
    for target in rng.sample(range(FRAMES - 3), 20):  # each seek lands where it was asked
        seen = len(player.frames)
        source.post(Seek(target))
        player.wait_for(lambda frames, n=seen, t=target: any(
            f.position == t for f in frames[n:n + 4]))
    # enough frames to judge, however fast this machine decodes (a loaded one gave 339)
    player.wait_for(lambda frames: len(frames) > 400)
    source.close()
    player.join(5)

    frames = player.frames
    assert len(frames) > 400
    assert [f.number for f in frames] == list(range(len(frames)))
    assert all(b.timestamp > a.timestamp for a, b in zip(frames, frames[1:], strict=False))
    wrong = [(f.position, shown_number(f.image)) for f in frames
             if shown_number(f.image) != f.position]
    assert wrong == []  # each frame is the one its position says


def test_paused_video_sends_nothing_until_a_seek_shows_one_frame(tmp_path):
    video = coded_video(tmp_path / "numbers.mp4")
    source = VideoFileSource(video, realtime=True)
    player = Player(source)
    player.start()
    player.wait_for(lambda frames: len(frames) >= 5)
    source.post(Pause(True))
    time.sleep(0.1)
    held = len(player.frames)
    time.sleep(0.4)  # twelve frames' time at 30 fps
    assert len(player.frames) == held

    source.post(Seek(60))  # a seek while paused shows that frame, and stays paused
    frame = player.wait_for(lambda frames: len(frames) == held + 1)
    assert (frame.position, shown_number(frame.image)) == (60, 60)
    time.sleep(0.3)
    assert len(player.frames) == held + 1

    source.post(Pause(False))
    frame = player.wait_for(lambda frames: len(frames) >= held + 4)
    assert [f.position for f in player.frames[held:held + 4]] == [60, 61, 62, 63]
    source.close()
    player.join(5)
    assert source.end_reason == "stopped"


def test_a_video_starts_where_the_preview_was(tmp_path):
    video = coded_video(tmp_path / "numbers.mp4")
    still = read_video_frame(video, 45)
    assert (still.position, shown_number(still.image), still.frame_count) == (45, 45, FRAMES)
    assert read_video_frame(video, 10_000).position == FRAMES - 1  # clamped to the end
    source = open_source(video, realtime=False, start_at=45)
    frames = list(source.frames())
    assert (frames[0].number, frames[0].position, shown_number(frames[0].image)) == (0, 45, 45)
    assert [f.position for f in frames] == list(range(45, FRAMES))
    assert source.end_reason == "end of video"  # not "broke off": it began half-way


def test_stopping_a_paused_video_ends_it_at_once(tmp_path):
    source = VideoFileSource(coded_video(tmp_path / "numbers.mp4"), realtime=True)
    player = Player(source)
    player.start()
    player.wait_for(lambda frames: len(frames) >= 2)
    source.post(Pause(True))
    time.sleep(0.1)
    start = time.monotonic()
    source.close()
    player.join(2)
    assert not player.is_alive() and time.monotonic() - start < 0.5


@pytest.mark.parametrize("position", [-5, 0])
def test_a_seek_before_the_start_goes_to_the_first_frame(tmp_path, position):
    source = VideoFileSource(coded_video(tmp_path / "numbers.mp4"), realtime=False)
    frames = source.frames()
    next(frames)
    next(frames)
    source.post(Seek(position))
    frame = next(frames)
    assert (frame.position, shown_number(frame.image)) == (0, 0)
    source.close()
