"""A real X server (Xvfb) for tests of screen grabs and window lists, and real X windows on it,
made through libX11 the way any app makes them. Skips where Xvfb is not installed."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from ctypes import c_char_p, c_int, c_uint, c_ulong, c_void_p

import pytest

RED, BLUE = 0xE02050, 0x3060F0  # X pixel values (0xRRGGBB on a 24-bit TrueColor screen)


def start_xvfb(size: str = "1280x800") -> tuple[subprocess.Popen, str]:
    """Xvfb on a display number it picks itself (never one in use)."""
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    return server, f":{number}"


class XWindow:
    """A plain top-level X window with a title and a solid colour."""

    def __init__(self, display: str, title: str, x: int, y: int, w: int, h: int, pixel: int):
        lib = self.x = ctypes.CDLL(ctypes.util.find_library("X11"))
        lib.XOpenDisplay.restype, lib.XOpenDisplay.argtypes = c_void_p, [c_char_p]
        lib.XDefaultRootWindow.restype, lib.XDefaultRootWindow.argtypes = c_ulong, [c_void_p]
        lib.XCreateSimpleWindow.restype = c_ulong
        lib.XCreateSimpleWindow.argtypes = [c_void_p, c_ulong, c_int, c_int, c_uint, c_uint,
                                            c_uint, c_ulong, c_ulong]
        for name in ("XStoreName", "XMapWindow", "XDestroyWindow", "XSync", "XCloseDisplay"):
            getattr(lib, name).argtypes = {"XStoreName": [c_void_p, c_ulong, c_char_p],
                                           "XSync": [c_void_p, c_int],
                                           "XCloseDisplay": [c_void_p]}.get(
                name, [c_void_p, c_ulong])
        self.display = lib.XOpenDisplay(display.encode())
        root = lib.XDefaultRootWindow(self.display)
        self.id = lib.XCreateSimpleWindow(self.display, root, x, y, w, h, 0, 0, pixel)
        lib.XStoreName(self.display, self.id, title.encode())
        lib.XMapWindow(self.display, self.id)
        lib.XSync(self.display, 0)

    def move(self, x: int, y: int) -> None:
        self.x.XMoveWindow.argtypes = [c_void_p, c_ulong, c_int, c_int]
        self.x.XMoveWindow(self.display, self.id, x, y)
        self.x.XSync(self.display, 0)

    def close(self) -> None:
        self.x.XDestroyWindow(self.display, self.id)
        self.x.XSync(self.display, 0)
        self.x.XCloseDisplay(self.display)


@pytest.fixture(scope="session")
def x_display():
    """A real X server of 1280x800 for the session (its number chosen by Xvfb)."""
    server, display = start_xvfb()
    yield display
    server.terminate()
    server.wait(5)


@pytest.fixture
def on_x(x_display, monkeypatch):
    """The code under test talks to the Xvfb server, as an app on that desktop would."""
    monkeypatch.setenv("DISPLAY", x_display)
    return x_display


@pytest.fixture
def desktop(on_x):
    """The fan's desktop: a browser playing the stream and a chat window beside it (a test
    that closes one itself takes it out of the list)."""
    made = [XWindow(on_x, "Concert stream — Browser", 100, 60, 640, 360, RED),
            XWindow(on_x, "Chat", 820, 100, 300, 500, BLUE)]
    time.sleep(0.2)
    yield made
    for window in made:
        window.close()
