"""Whether a track's face still looks as it did at its last look, from its pixels alone.

A named track is embedded again only every couple of seconds. When a cut is not seen as one (a
dissolve from one member to the next, a cut under a flash), the next person in the same box
would carry the last one's name until then. A face's print costs a tiny resize; when it has
moved far from the print taken at the track's last look, the track is looked at again at once,
and the embedding decides (analysis.py), so a print that moves for another reason (a turn, a
laugh, the light) costs one look, never a name.

The print: the face box shrunk to 4x4 in Lab, of which the colour (a, b) is compared, and to
16x16 grey, standardised, for the structure. Measured on every face the live detector finds in
the real clips cut together (training/stage_mix.py, every 2nd frame, faces of 40 px and more):
the same person up to 2 s apart moves by 1.0 in colour and 0.35 in structure at the median, by
3.2 and 0.91 at the 99th percentile (a turn, a zoom); two different people differ by 9.7 and
0.96 at the median, and by 3.3 in colour at their 5th percentile. With the lines below, the
names carried past a dissolve from one member to the next in the stage mix fell to 31 frames
(86 with 4.5 and 1.05, the same person's 99.9th percentiles; 313 when a named track was
looked at only every 2 s).
"""

from __future__ import annotations

import cv2
import numpy as np

from kpopcam.live.shots import standardised

COLOUR_CHANGE = 3.0  # mean |a| and |b| difference (0-255 Lab) of the 4x4 prints
SHAPE_CHANGE = 0.9  # mean difference of the standardised 16x16 grey prints


def face_print(image: np.ndarray, box) -> tuple[np.ndarray, np.ndarray] | None:
    """(colour 4x4x2, grey 16x16) of the face at `box` on a BGR frame; None off the frame."""
    height, width = image.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    crop = image[y1:y2, x1:x2]
    colour = cv2.resize(crop, (4, 4), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(colour, cv2.COLOR_BGR2LAB)[..., 1:].astype(np.float32)
    grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), (16, 16),
                      interpolation=cv2.INTER_AREA).astype(np.float32)
    return lab, standardised(grey)


def looks_changed(before, after) -> bool:
    """Whether the face moved far from its earlier print (False when either is missing)."""
    if before is None or after is None:
        return False
    colour = float(np.abs(before[0] - after[0]).mean())
    shape = float(np.abs(before[1] - after[1]).mean())
    return colour > COLOUR_CHANGE or shape > SHAPE_CHANGE
