"""The gallery a fan opens every day, on real captures: stage frames with the astronaut and
the cameraman, the star's face found by MTCNN, the portrait rendered by the U-Net, saved with
face box and session as a run saves them."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QThread
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from kpopcam.captures import TRASH_DIR, CaptureStore
from kpopcam.enrollment import enroll
from kpopcam.gui import gallery_panel, thumbnails
from kpopcam.gui.gallery_bench import Shot, real_captures
from kpopcam.gui.gallery_panel import GalleryPanel
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg


def _today_at(hour: int, minute: int, days_ago: int = 0) -> float:
    day = datetime.now() - timedelta(days=days_ago)
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory, detector):
    """Two runs today, one yesterday (Eileen and Lisa), and one capture of an older kpopcam
    (no face box, no session)."""
    from kpopcam.vision.portrait import PortraitMaker

    folder = tmp_path_factory.mktemp("real") / "captures"
    # both of today's runs must fall after midnight: run early in the day, the second run
    # is put halfway between midnight and now instead of an hour before
    midnight = _today_at(0, 0)
    now = max(min(time.time() - 60, _today_at(23, 0)), midnight + 600)
    gap = min(3600.0, (now - midnight) / 2)
    shots = [Shot("Eileen", "happy", 0.91, now - k * 30, "run-b", "stage.mp4", 100 + k, k * 15)
             for k in range(3)]
    shots += [Shot("Lisa", "surprise", 0.77, now - gap - k * 30, "run-a", "fancam.mp4", k,
                   40 - k * 10) for k in range(2)]
    shots += [Shot("Eileen", "happy", 0.85, now - 86400, "run-y", "stage.mp4", 7, 30)]
    real_captures(folder, shots, detector, PortraitMaker())
    with CaptureStore(folder) as store:
        c = store.list()[0]
        rgb = np.asarray(QImageToArray(c.original))
        store.save(rgb, rgb, "Eileen", "neutral", 0.7, "old.mp4", 3, taken=now - 2 * 86400)
    return folder


def QImageToArray(path):  # noqa: N802
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture
def folder(tmp_path, real_folder):
    copy = tmp_path / "captures"
    shutil.copytree(real_folder, copy)
    return copy


@pytest.fixture
def panel(qtbot, folder):
    p = GalleryPanel(folder)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    return p


def wait_for_faces(qtbot, panel):
    grid = panel.grid
    qtbot.waitUntil(lambda: all(grid.has_thumbnail(grid.captures[i].id)
                                for i in grid.visible_range()), timeout=20000)


def rgb_of(pixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(
        image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
        image.height(), image.width(), 3).copy()


def test_cards_show_the_stars_face_made_off_the_gui_thread_and_cached(qtbot, folder,
                                                                      detector, monkeypatch):
    threads, real = [], thumbnails.make_thumbnail
    gui = QApplication.instance().thread()

    def spy(capture, bucket):
        threads.append(QThread.currentThread() is not gui)
        return real(capture, bucket)

    monkeypatch.setattr(thumbnails, "make_thumbnail", spy)
    panel = GalleryPanel(folder)
    qtbot.addWidget(panel)
    panel.resize(1100, 760)
    panel.show()
    wait_for_faces(qtbot, panel)
    assert threads and all(threads)  # every thumbnail was made in a pool thread

    grid = panel.grid
    with_box = next(c for c in grid.captures if c.face_box is not None)
    card = rgb_of(grid.thumbnail(with_box.id))
    assert card.shape[0] == card.shape[1] >= 160
    faces = detector.detect(card, color="rgb")
    # the face fills the card (a whole 960x540 frame would show it at about a tenth)
    assert faces and (faces[0].box[2] - faces[0].box[0]) / card.shape[1] > 0.25
    bucket = thumbnails.bucket_for(grid.side)
    cached = thumbnails.cache_path(with_box, bucket)
    assert cached.exists() and not QImage(str(cached)).isNull()

    old = next(c for c in grid.captures if c.face_box is None)  # an older kpopcam's capture
    grid.scroll_to(grid.captures.index(old))
    qtbot.waitUntil(lambda: grid.has_thumbnail(old.id), timeout=10000)
    assert rgb_of(grid.thumbnail(old.id)).std() > 10  # a picture, not a grey placeholder

    # the next start reads the cache: a card made again comes from it, even with no portrait
    with_box.portrait.rename(with_box.portrait.with_suffix(".gone"))
    assert not thumbnails.make_thumbnail(with_box, bucket).isNull()


def test_size_slider_goes_from_small_cells_to_large_cards(qtbot, panel):
    wait_for_faces(qtbot, panel)
    grid = panel.grid
    panel.card_size.setValue(panel.card_size.minimum())
    small_cols, small_side = grid._cols, grid.side
    panel.card_size.setValue(panel.card_size.maximum())
    assert small_cols >= 8 and small_side < 130
    assert grid._cols <= 2 and grid.side >= 400
    first = grid.captures[0].id
    qtbot.waitUntil(lambda: grid._thumbs[first][0] == 320, timeout=10000)  # sharp, not blown up
    assert grid.thumbnail(first).width() > 160  # all the face's pixels (never blown up)

    from PySide6.QtGui import QWheelEvent

    centre = QPointF(grid.viewport().rect().center())
    wheel = QWheelEvent(centre, QPointF(grid.viewport().mapToGlobal(centre.toPoint())),
                        QPoint(0, 0), QPoint(0, -360), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(grid.viewport(), wheel)  # Ctrl+wheel down: smaller cards
    assert panel.card_size.value() < panel.card_size.maximum() and grid._cols > 2


def test_grid_is_grouped_by_day_and_watch_run_with_headers(qtbot, panel):
    sections = panel.grid.sections
    assert [s.day for s in sections] == ["Today", None, "Yesterday",
                                         f"{datetime.now() - timedelta(days=2):%A %-d %B}"
                                         if (datetime.now() - timedelta(days=2)).year ==
                                         datetime.now().year else sections[3].day]
    assert sections[0].title.endswith("stage.mp4 · 3 portraits")
    assert sections[1].title.endswith("fancam.mp4 · 2 portraits")
    assert sections[3].title.endswith("old.mp4 · 1 portrait")
    # a card below a header is found where it is painted; a header is no card
    grid = panel.grid
    rect = grid.card_rect(3).translated(0, -grid.verticalScrollBar().value())
    assert grid.index_at(rect.center()) == 3
    assert grid.index_at(QPoint(rect.left() + 5, rect.top() - 12)) == -1
    # Down from the first run's cards goes to the next run, not past it
    grid.setFocus()
    grid.select(0)
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert grid.current == 3
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert grid.current == 5 and len(grid.selected) == 2


def test_star_filter_is_a_row_of_face_chips(qtbot, folder, tmp_path, astronaut, detector,
                                            embedder):
    stars = StarGallery(tmp_path / "stars.sqlite")
    panel = GalleryPanel(folder, stars)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.chips.hint.isVisible() and "Stars tab" in panel.chips.hint.text()
    enroll("Eileen", [save_jpeg(astronaut, tmp_path / "e.jpg")], detector, embedder, stars)
    panel.refresh_stars()
    assert not panel.chips.hint.isVisible()
    eileen, lisa = panel.chips.buttons["Eileen"], panel.chips.buttons["Lisa"]
    assert not eileen.icon().isNull() and not lisa.icon().isNull()
    face = rgb_of(eileen.icon().pixmap(40, 40))
    letter = rgb_of(lisa.icon().pixmap(40, 40))
    assert face[20, 20].tolist() != letter[20, 20].tolist()  # her face, not a letter
    qtbot.mouseClick(lisa, Qt.MouseButton.LeftButton)
    assert {c.star for c in panel.grid.captures} == {"Lisa"}
    assert len(panel.grid.captures) == 2
    qtbot.mouseClick(panel.chips.buttons[None], Qt.MouseButton.LeftButton)
    assert len(panel.grid.captures) == 7
    stars.close()


def test_viewer_pages_zooms_pans_goes_full_screen_and_compares(qtbot, panel):
    wait_for_faces(qtbot, panel)
    grid = panel.grid
    grid.setFocus()
    grid.select(0)
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    viewer = panel.viewer
    qtbot.waitUntil(viewer.is_decoded, timeout=10000)
    c = viewer.capture
    facts = viewer.facts.text()
    for fact in (c.star, c.emotion, f"{c.score:.2f}", c.source, f"frame {c.frame}",
                 f"{datetime.fromtimestamp(c.taken):%H:%M:%S}"):
        assert fact in facts
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.index == 1
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.index == 0

    canvas = viewer.canvas
    qtbot.waitUntil(viewer.is_decoded, timeout=10000)
    fitted = canvas.image_rect()
    centre = canvas.rect().center()
    from PySide6.QtGui import QWheelEvent

    wheel = QWheelEvent(QPointF(centre), QPointF(canvas.mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert canvas.image_rect().width() > fitted.width() * 1.5
    before = canvas.image_rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(60, 30))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(60, 30))
    assert canvas.image_rect().center().x() > before.x() + 30
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
    assert canvas.image_rect() == fitted

    # before/after: the portrait blurs the stage, the original does not
    def sharpness():
        grab = rgb_of(canvas.grab()).astype(np.float32).mean(axis=2)
        return float(np.abs(np.diff(grab, axis=1)).mean())

    viewer.split.setValue(0)
    assert viewer.showing_portrait
    portrait = sharpness()
    viewer.split.setValue(100)
    assert not viewer.showing_portrait and sharpness() > portrait * 1.1
    qtbot.mouseClick(viewer.toggle, Qt.MouseButton.LeftButton)
    assert viewer.showing_portrait

    qtbot.keyClick(viewer, Qt.Key.Key_F)
    assert viewer.isFullScreen()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isFullScreen() and viewer.isVisible()
    qtbot.keyClick(viewer, Qt.Key.Key_F11)
    assert viewer.isFullScreen()
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)
    assert not viewer.isVisible()


def test_empty_gallery_and_empty_filters_say_what_to_do(qtbot, tmp_path, folder):
    empty = GalleryPanel(tmp_path / "none-yet")
    qtbot.addWidget(empty)
    empty.show()
    assert empty.pages.currentWidget() is empty.empty
    assert empty.empty.title.text() == "No portraits yet"
    assert "press Start" in empty.empty.text.text()
    with qtbot.waitSignal(empty.go_to_tab) as asked:
        qtbot.mouseClick(empty.empty.button, Qt.MouseButton.LeftButton)
    assert asked.args == [0]

    panel = GalleryPanel(folder)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_star("Lisa")
    panel.emotion.setCurrentIndex(panel.emotion.findData("sad"))
    assert panel.pages.currentWidget() is panel.empty
    assert "of Lisa looking sad" in panel.empty.text.text()
    qtbot.mouseClick(panel.empty.button, Qt.MouseButton.LeftButton)
    assert panel.pages.currentWidget() is panel.grid and len(panel.grid.captures) == 7
    panel.favourites.setChecked(True)
    assert "♡ Favourite" in panel.empty.text.text()


def test_favourites_stay_and_delete_can_be_undone(qtbot, panel, folder, monkeypatch):
    grid = panel.grid
    grid.select(1)
    qtbot.mouseClick(panel.favourite_button, Qt.MouseButton.LeftButton)
    liked = grid.captures[1]
    assert liked.favourite and panel.favourite_button.text().startswith("♥")
    panel.favourites.setChecked(True)
    assert [c.id for c in grid.captures] == [liked.id]
    panel.favourites.setChecked(False)
    with CaptureStore(folder) as again:
        assert [c.id for c in again.list(favourites=True)] == [liked.id]

    monkeypatch.setattr(gallery_panel, "UNDO_S", 0.5)
    grid.select(0)
    grid.select(2, extend=True)
    gone = grid.selected_captures()
    qtbot.keyClick(grid, Qt.Key.Key_Delete)  # no question: it can be undone
    assert len(grid.captures) == 4 and panel.notice.text == "Deleted 3 portraits."
    assert not any(c.portrait.exists() for c in gone)
    qtbot.mouseClick(panel.notice.action, Qt.MouseButton.LeftButton)
    assert len(grid.captures) == 7 and all(c.portrait.exists() for c in gone)
    assert not panel.notice.isVisible()

    wait_for_faces(qtbot, panel)
    grid.select(0)
    thumb = thumbnails.cache_path(grid.captures[0], thumbnails.bucket_for(grid.side))
    assert thumb.exists()
    panel.delete_selected()
    trashed = folder / TRASH_DIR / gone[0].portrait.name
    assert trashed.exists()
    qtbot.waitUntil(lambda: not trashed.exists(), timeout=3000)  # undo over: gone for good
    assert not thumb.exists()  # its cached thumbnail too
    assert not panel.notice.isVisible()
    panel.undo_delete()
    assert len(grid.captures) == 6


def test_export_says_where_it_wrote_and_opens_the_folder(qtbot, panel, tmp_path, monkeypatch):
    out = tmp_path / "export"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    opened = []
    monkeypatch.setattr(gallery_panel, "open_in_file_manager", opened.append)
    panel.grid.select(0)
    panel.grid.select(1, extend=True)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    assert len(list(out.glob("*.jpg"))) == 4
    assert panel.notice.isVisible() and str(out) in panel.notice.text
    assert panel.notice.text.startswith("Exported 2 portraits with their originals")
    qtbot.mouseClick(panel.notice.action, Qt.MouseButton.LeftButton)
    assert opened == [out]


def test_another_capture_folder_shows_its_own_faces(qtbot, panel, tmp_path, real_folder):
    """Capture ids start at 1 in every folder: a thumbnail kept by id must not show there."""
    wait_for_faces(qtbot, panel)
    grid = panel.grid
    first = grid.captures[0]
    other = tmp_path / "other"
    with CaptureStore(other) as store:
        grey = np.full((540, 960, 3), 128, np.uint8)
        store.save(grey, grey, "Lisa", "happy", 0.9, "x.mp4", 1, face_box=(400, 200, 500, 300))
    panel.set_folder(other)
    assert grid.captures[0].id == first.id  # the same id, another picture
    wait_for_faces(qtbot, panel)
    assert rgb_of(grid.thumbnail(first.id)).std() < 2  # the grey one, not the astronaut
