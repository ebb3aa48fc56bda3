"""The windows open on an X11 desktop, for a fan to pick one as the source (as OBS's "Window
Capture" does): their titles and where they lie on the screen.

It talks to libX11 through ctypes (every X11 desktop has it; no new dependency). Where there is
no X11 (Wayland without XWayland, Windows, macOS) `list_windows` returns None and the app offers
the screen region picker instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import POINTER, byref, c_char_p, c_int, c_long, c_uint, c_ulong, c_void_p
from dataclasses import dataclass

IS_VIEWABLE = 2  # XWindowAttributes.map_state
XA_WINDOW, XA_CARDINAL = 33, 6
_lock = threading.Lock()  # the error handler is process-wide: one query at a time


@dataclass(frozen=True)
class WindowInfo:
    id: int
    title: str
    left: int
    top: int
    width: int
    height: int

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.width, self.height


class _Attributes(ctypes.Structure):
    _fields_ = [("x", c_int), ("y", c_int), ("width", c_int), ("height", c_int),
                ("border_width", c_int), ("depth", c_int), ("visual", c_void_p),
                ("root", c_ulong), ("class_", c_int), ("bit_gravity", c_int),
                ("win_gravity", c_int), ("backing_store", c_int), ("backing_planes", c_ulong),
                ("backing_pixel", c_ulong), ("save_under", c_int), ("colormap", c_ulong),
                ("map_installed", c_int), ("map_state", c_int), ("all_event_masks", c_long),
                ("your_event_mask", c_long), ("do_not_propagate_mask", c_long),
                ("override_redirect", c_int), ("screen", c_void_p)]


_ERROR_HANDLER = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p)
_ignore_errors = _ERROR_HANDLER(lambda _display, _event: 0)  # a window gone mid-query: skip it
_xlib = None


def _library():
    global _xlib
    if _xlib is None:
        name = ctypes.util.find_library("X11")
        if not name:
            raise OSError("libX11 not found")
        lib = ctypes.CDLL(name)
        lib.XOpenDisplay.argtypes, lib.XOpenDisplay.restype = [c_char_p], c_void_p
        lib.XCloseDisplay.argtypes = [c_void_p]
        lib.XDefaultRootWindow.argtypes, lib.XDefaultRootWindow.restype = [c_void_p], c_ulong
        lib.XInternAtom.argtypes, lib.XInternAtom.restype = [c_void_p, c_char_p, c_int], c_ulong
        lib.XGetWindowProperty.argtypes = [
            c_void_p, c_ulong, c_ulong, c_long, c_long, c_int, c_ulong, POINTER(c_ulong),
            POINTER(c_int), POINTER(c_ulong), POINTER(c_ulong), POINTER(c_void_p)]
        lib.XQueryTree.argtypes = [c_void_p, c_ulong, POINTER(c_ulong), POINTER(c_ulong),
                                   POINTER(c_void_p), POINTER(c_uint)]
        lib.XGetWindowAttributes.argtypes = [c_void_p, c_ulong, POINTER(_Attributes)]
        lib.XTranslateCoordinates.argtypes = [c_void_p, c_ulong, c_ulong, c_int, c_int,
                                              POINTER(c_int), POINTER(c_int), POINTER(c_ulong)]
        lib.XFetchName.argtypes = [c_void_p, c_ulong, POINTER(c_char_p)]
        lib.XFree.argtypes = [c_void_p]
        lib.XSync.argtypes = [c_void_p, c_int]
        lib.XSetErrorHandler.argtypes, lib.XSetErrorHandler.restype = [c_void_p], c_void_p
        _xlib = lib
    return _xlib


class _Connection:
    """One short-lived connection to the X server; X errors (a window closed meanwhile) are
    ignored for its lifetime, and the previous handler restored after."""

    def __init__(self, display: str | None):
        self.x = _library()
        self.display = self.x.XOpenDisplay(display.encode() if display else None)
        if not self.display:
            raise OSError(f"cannot open X display {display or os.environ.get('DISPLAY', '')!r}")
        self.root = self.x.XDefaultRootWindow(self.display)

    def __enter__(self):
        _lock.acquire()
        self._old = self.x.XSetErrorHandler(ctypes.cast(_ignore_errors, c_void_p))
        return self

    def __exit__(self, *exc) -> None:
        self.x.XSync(self.display, 0)
        self.x.XSetErrorHandler(self._old)
        self.x.XCloseDisplay(self.display)
        _lock.release()

    def atom(self, name: str) -> int:
        return self.x.XInternAtom(self.display, name.encode(), 0)

    def property(self, window: int, name: str, kind: int) -> bytes | list[int] | None:
        actual, fmt, count, after, data = c_ulong(), c_int(), c_ulong(), c_ulong(), c_void_p()
        status = self.x.XGetWindowProperty(self.display, window, self.atom(name), 0, 1 << 16, 0,
                                           kind, byref(actual), byref(fmt), byref(count),
                                           byref(after), byref(data))
        if status != 0 or not data.value:
            return None
        try:
            if fmt.value == 32:  # Xlib hands 32-bit items as C longs
                return list((c_ulong * count.value).from_address(data.value))
            return ctypes.string_at(data.value, count.value * fmt.value // 8)
        finally:
            self.x.XFree(data)

    def top_levels(self) -> list[int]:
        """The windows a window manager lists for a task bar, else the root's children."""
        listed = self.property(self.root, "_NET_CLIENT_LIST", XA_WINDOW)
        if isinstance(listed, list) and listed:
            return listed
        root, parent, children, count = c_ulong(), c_ulong(), c_void_p(), c_uint()
        if not self.x.XQueryTree(self.display, self.root, byref(root), byref(parent),
                                 byref(children), byref(count)) or not children.value:
            return []
        try:
            return list((c_ulong * count.value).from_address(children.value))
        finally:
            self.x.XFree(children)

    def info(self, window: int) -> WindowInfo | None:
        attrs = _Attributes()
        if not self.x.XGetWindowAttributes(self.display, window, byref(attrs)):
            return None
        if attrs.map_state != IS_VIEWABLE or attrs.override_redirect:
            return None
        x, y, child = c_int(), c_int(), c_ulong()
        if not self.x.XTranslateCoordinates(self.display, window, self.root, 0, 0, byref(x),
                                            byref(y), byref(child)):
            return None
        return WindowInfo(window, self.title(window), x.value, y.value, attrs.width,
                          attrs.height)

    def title(self, window: int) -> str:
        utf8 = self.property(window, "_NET_WM_NAME", self.atom("UTF8_STRING"))
        if isinstance(utf8, bytes) and utf8:
            return utf8.decode("utf-8", "replace")
        name = c_char_p()
        if self.x.XFetchName(self.display, window, byref(name)) and name.value:
            text = _decoded(name.value)
            self.x.XFree(name)
            return text
        return ""

    def pid(self, window: int) -> int | None:
        value = self.property(window, "_NET_WM_PID", XA_CARDINAL)
        return value[0] if isinstance(value, list) and value else None


def _decoded(raw: bytes) -> str:
    try:  # WM_NAME is Latin-1 by the book, UTF-8 in practice
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def window_list_available() -> bool:
    return sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY"))


def list_windows(display: str | None = None, own: bool = False) -> list[WindowInfo] | None:
    """The named, visible top-level windows (not this app's own unless `own`), largest first;
    None where windows cannot be listed here (no X11)."""
    if display is None and not window_list_available():
        return None
    try:
        with _Connection(display) as x:
            found = []
            for window in x.top_levels():
                info = x.info(window)
                if info is None or not info.title or info.width < 32 or info.height < 32:
                    continue
                if not own and x.pid(window) == os.getpid():
                    continue
                found.append(info)
    except OSError:
        return None
    return sorted(found, key=lambda w: -w.width * w.height)


def find_window(window_id: int, display: str | None = None) -> WindowInfo | None:
    """Where the window is now; None once it is closed or hidden (minimised)."""
    try:
        with _Connection(display) as x:
            return x.info(window_id)
    except OSError:
        return None
