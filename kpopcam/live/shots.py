"""Camera cuts: broadcast footage cuts every few seconds, and the person in the next shot must
never inherit a name, a hold or a moment from the last one.

A cut is a jump of the whole frame's colour distribution (HSV histogram, Bhattacharyya
distance) or of its coarse structure (mean grey difference of a 64x36 thumbnail). On the real
clips in ../shared/data/clips every hard cut measured 0.93-1.0 on the histogram and 76-145 on
the grey difference, while the largest change between two frames of one shot was 0.09 and 10:
the thresholds sit far from both.

Stage lights flash, though, and a flash moves the histogram (1.0) and the grey levels (96) as
far as a cut does. So a cut must also change the picture's layout: the thumbnails, each
standardised (mean 0, standard deviation 1) so that light and contrast drop out, differ on
average by 0.84-0.86 across the real cuts, and by at most 0.25 within a shot (0.38 with a
white or coloured flash every half second: training/perturb_clips.py --kind strobe).

The layout is compared where either frame is lit: black bars around a picture (a square or 4:3
video shown in 16:9, a letterboxed film) are the same in every shot, and they made a cut
between two people framed alike look like a light change (0.35 between two of the clips
letterboxed side by side in training/stage_mix.py; 0.69-0.70 over the lit part).
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

HIST_CUT = 0.4  # Bhattacharyya distance (0 same .. 1 disjoint) of two frames' HSV histograms
GREY_CUT = 40.0  # mean absolute grey difference (0-255) of their 64x36 thumbnails
LAYOUT_CUT = 0.55  # ... and the mean difference of the standardised thumbnails
MIN_CONTRAST = 4.0  # grey levels: a flat (black, white) frame is standardised no further
DARK = 24.0  # grey level under which a thumbnail pixel is unlit (bars, an unlit stage)
MIN_LIT = 0.1  # share of lit pixels under which the whole frame is compared (a fade to black)
# A frame whose mean colour (any channel) is this far from the shot's usual light (the median
# of its last LIGHT_FRAMES frames: a flash of a frame or two does not move it, a lasting change
# does within half of them) is lit by a flash: its faces are no look to judge a person by, nor
# a picture to keep. In the clips the mean moves from the usual by at most 8 in filmed shots
# and 14 in a cartoon's; a flash moves it by 78-113 (perturb_clips --kind strobe).
LIGHT_JUMP = 25.0
LIGHT_FRAMES = 9
THUMB = (64, 36)


class ShotChangeDetector:
    """Compares each analysed frame with the one before; owned by the analysis thread."""

    def __init__(self, hist_cut: float = HIST_CUT, grey_cut: float = GREY_CUT,
                 layout_cut: float = LAYOUT_CUT):
        self.hist_cut, self.grey_cut, self.layout_cut = hist_cut, grey_cut, layout_cut
        self._previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._recent_light: deque[np.ndarray] = deque(maxlen=LIGHT_FRAMES)
        self.light_steady = True  # the last frame is lit as its shot usually is

    def is_cut(self, image: np.ndarray) -> bool:
        """True when this BGR frame starts a new shot (never for the first frame); also sets
        light_steady for it."""
        current = _signature(image)
        cut = self._is_cut(current)
        light = current[2]
        if cut:
            self._recent_light.clear()
        self._recent_light.append(light)
        usual = np.median(np.stack(self._recent_light), axis=0)
        self.light_steady = float(np.abs(light - usual).max()) <= LIGHT_JUMP
        return cut

    def _is_cut(self, current: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
        previous, self._previous = self._previous, current
        if previous is None or previous[1].shape != current[1].shape:
            return False
        hist = cv2.compareHist(previous[0], current[0], cv2.HISTCMP_BHATTACHARYYA)
        grey = float(np.abs(previous[1] - current[1]).mean())
        if hist < self.hist_cut and grey < self.grey_cut:
            return False
        return _layout_change(previous[1], current[1]) >= self.layout_cut  # else: the light


def _signature(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(HSV histogram, grey thumbnail, mean colour)"""
    step = max(1, image.shape[1] // (8 * THUMB[0]))  # every pixel of a 1080p frame: 7 ms
    small = cv2.resize(np.ascontiguousarray(image[::step, ::step]), THUMB,
                       interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    hist = cv2.normalize(hist, None, 1, 0, cv2.NORM_L1).flatten()
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return hist, grey, small.reshape(-1, 3).mean(axis=0)


def _layout_change(before: np.ndarray, after: np.ndarray) -> float:
    """Mean difference of two grey thumbnails, each standardised, where either is lit."""
    lit = (before > DARK) | (after > DARK)
    if lit.mean() < MIN_LIT:
        lit = np.ones_like(lit)
    return float(np.abs(standardised(before[lit]) - standardised(after[lit])).mean())


def standardised(grey: np.ndarray) -> np.ndarray:
    """Grey levels with mean 0 and standard deviation 1 (light and contrast taken out), a flat
    picture stretched no further than MIN_CONTRAST allows."""
    centred = grey - grey.mean()
    return centred / max(float(centred.std()), MIN_CONTRAST)
