"""Windows and the screen as sources, on a real X server (Xvfb) with real X windows."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kpopcam.live.sources import SourceError, grab_screen, open_source
from kpopcam.live.windows import find_window, list_windows
from tests.x_server import BLUE, RED


def bgr(pixel: int) -> np.ndarray:
    return np.array([pixel & 255, pixel >> 8 & 255, pixel >> 16], np.uint8)


def test_open_windows_are_listed_by_title_and_place(desktop):
    listed = list_windows()
    assert [(w.title, w.region) for w in listed] == [
        ("Concert stream — Browser", (100, 60, 640, 360)), ("Chat", (820, 100, 300, 500))]
    desktop[1].close()
    desktop.pop()
    assert [w.title for w in list_windows()] == ["Concert stream — Browser"]


def test_without_x11_there_is_no_window_list(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert list_windows() is None


def test_a_window_source_follows_its_window_and_ends_when_it_closes(desktop):
    stream = desktop[0]
    source = open_source(f"window:{stream.id:#x}")
    assert source.name == "Concert stream — Browser"
    frames = source.frames()
    first = next(frames)
    assert first.image.shape == (360, 640, 3)
    assert np.abs(first.image.astype(int) - bgr(RED)).max() <= 2  # the window, not the desktop
    stream.move(100, 420)
    time.sleep(source.FOLLOW_S + 0.1)
    moved = [next(frames) for _ in range(3)][-1]
    assert find_window(stream.id).region == (100, 420, 640, 360)
    assert moved.image.shape == (360, 640, 3)  # followed: still the whole window ...
    assert np.abs(moved.image.astype(int) - bgr(RED)).max() <= 2  # ... and only it
    stream.close()
    desktop.remove(stream)
    time.sleep(source.FOLLOW_S + 0.1)
    list(frames)  # the source ends by itself
    assert "was closed" in source.end_reason


def test_a_closed_window_cannot_be_opened_and_says_to_pick_again(desktop):
    gone = desktop.pop(1)
    gone.close()
    with pytest.raises(SourceError, match="pick it again"):
        open_source(f"window:{gone.id:#x}")


def test_the_screen_grab_for_the_region_picker_shows_the_windows(desktop):
    grab = grab_screen()
    assert grab.image.shape == (800, 1280, 3) and (grab.left, grab.top) == (0, 0)
    assert np.abs(grab.image[200, 400].astype(int) - bgr(RED)).max() <= 2
    assert np.abs(grab.image[300, 900].astype(int) - bgr(BLUE)).max() <= 2
    assert grab.image[700, 50].max() < 10  # the bare desktop
    region = open_source("screen:100,60,640,360")
    frame = next(region.frames())
    region.close()
    assert frame.image.shape == (360, 640, 3)
    assert np.abs(frame.image.astype(int) - bgr(RED)).max() <= 2
