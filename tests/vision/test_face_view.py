"""The face a fan is shown (add-face dialog, session strip): around the box, never padded."""

from __future__ import annotations

import numpy as np

from kpopcam.vision.gallery_crop import face_view


def test_a_face_in_the_middle_gets_its_margin_and_one_at_the_edge_is_not_padded():
    rgb = np.zeros((360, 640, 3), np.uint8)
    rgb[:, :, 0] = np.arange(640) % 256  # each column says where it came from
    middle = face_view(rgb, (270, 130, 370, 230), margin=0.3)
    assert middle.shape == (160, 160, 3)
    assert middle[0, 0, 0] == 240  # 320 - 80
    edge = face_view(rgb, (560, 280, 640, 360), margin=0.3)
    assert edge.shape == (104, 104, 3)  # 128 px wanted: cut at the edge, no invented border
    assert (edge[0, 0, 0], edge[0, -1, 0]) == (536 % 256, 639 % 256)
