"""'Add this face' from the live view: the star gets the best distinct looks her track had
(a real video file played by the real engine through the bridge), not one frame."""

from __future__ import annotations

import cv2
import numpy as np

from kpopcam.gui.bridge import EngineBridge
from kpopcam.gui.workers import Workers
from kpopcam.settings import Settings
from kpopcam.stars import StarGallery

FPS = 10
SIZE = (640, 480)
ASTRONAUT_FACE = (181, 62, 268, 172)  # where MTCNN finds her face on the full photo


def zoom_in(path, photo, seconds: float, start_px: float, end_px: float) -> str:
    """One shot: the camera slowly zooms in on her face (from start_px to end_px wide); only
    her head and shoulders are pasted, so the picture around her stays the same (a busy
    machine analyses frames a second apart, and a whole picture zooming then looks like a
    cut)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    side = x2 - x1
    cut = cv2.cvtColor(photo[max(0, y1 - side // 2): y2 + side // 2,
                             max(0, x1 - side // 2): x2 + side // 2], cv2.COLOR_RGB2BGR)
    n = round(seconds * FPS)
    for i in range(n):
        scale = (start_px + (end_px - start_px) * i / (n - 1)) / side
        head = cv2.resize(cut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frame = np.full((SIZE[1], SIZE[0], 3), 70, np.uint8)
        h, w = head.shape[:2]
        top, left = (SIZE[1] - h) // 2, (SIZE[0] - w) // 2
        frame[top:top + h, left:left + w] = head
        writer.write(frame)
    writer.release()
    return str(path)


def test_adding_a_live_face_adds_its_distinct_looks(qtbot, tmp_path, gui_loader, astronaut,
                                                    cameraman, detector, embedder):
    video = zoom_in(tmp_path / "zoom.mp4", astronaut, 16.0, 50, 200)
    settings = Settings().updated({"capture": {"folder": str(tmp_path / "captures")}})
    gallery = StarGallery(tmp_path / "stars.sqlite")
    bridge = EngineBridge(settings, gallery, Workers(), gui_loader)
    with qtbot.waitSignal(bridge.ready, timeout=10000):
        bridge.load()
    seen = []
    bridge.analysed.connect(lambda a: seen.extend(f for f in a.faces if len(f.album) >= 2))
    bridge.start(video, settings)
    qtbot.waitUntil(lambda: bool(seen), timeout=40000)  # her track has two distinct looks
    with qtbot.waitSignal(bridge.faces_added, timeout=20000) as added:
        bridge.add_live_face("Eileen", seen[-1].box)  # the box clicked, as the view passes it
    if bridge.is_running:  # the video may have ended meanwhile (state changes on this thread)
        with qtbot.waitSignal(bridge.stopped, timeout=20000):
            bridge.stop()
    name, count = added.args
    assert name == "Eileen" and count >= 2
    (star,) = gallery.stars()
    assert star.face_count == count
    frames = sorted(int(p.rsplit(" ", 1)[1]) for p in _photos(gallery))
    assert len(set(frames)) == count  # from different frames of the zoom
    for photo, expected in ((astronaut, "Eileen"), (cameraman, None)):
        face = detector.detect(photo, color="rgb")[0]
        assert gallery.match(embedder.embed_faces(photo, [face])[0]).name == expected
    gallery.close()


def _photos(gallery) -> list[str]:
    return [row[0] for row in gallery._db.execute("SELECT photo FROM faces")]
