"""The enrolled stars, each with a thumbnail: enrol from photos or a folder (with progress and
a report of the photos skipped), rename, remove."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kpopcam.enrol_screen import is_lookalike
from kpopcam.images import photos_in
from kpopcam.stars import GalleryError, StarGallery

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff);;All files (*)"
THUMB = 96
NO_STARS = ("No stars yet. Enrol one from a few photos of their face (five or more make "
            "recognition reliable), or click a face in the live view.")
# With one star there is no one else to match a face to, and a member of her group is often
# close enough to be taken for her (training/RESULTS.md: at the default line, 97 % of the photos
# of a BLACKPINK member who is not enrolled are taken for one of the three who are).
ONE_STAR = ("Only {name} is enrolled, so someone who looks like {name} (a member of the same "
            "group above all) may be taken for {name}. Enrol the others who appear with "
            "{name} too: then each face is matched to its own name.")


class StarsPanel(QWidget):
    message = Signal(str, str, str)  # text, details, kind

    def __init__(self, gallery: StarGallery, bridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.gallery, self.bridge = gallery, bridge
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 60, THUMB + 48))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setAccessibleName("Enrolled stars")
        self.list.itemDoubleClicked.connect(lambda _item: self.rename_selected())
        self.empty = QLabel(NO_STARS)
        self.waiting: str | None = None
        self.empty.setWordWrap(True)
        self.one_star = QLabel()
        self.one_star.setWordWrap(True)

        self.add_photos = QPushButton("Enrol from &photos…")
        self.add_folder = QPushButton("Enrol from f&older…")
        self.rename_button = QPushButton("&Rename…")
        self.remove_button = QPushButton("Remo&ve…")
        self.add_photos.clicked.connect(self.enrol_photos_clicked)
        self.add_folder.clicked.connect(self.enrol_folder_clicked)
        self.rename_button.clicked.connect(self.rename_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for b in (self.add_photos, self.add_folder, self.rename_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.empty)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.one_star)
        self._progress: QProgressDialog | None = None
        bridge.stars_changed.connect(self.refresh)
        bridge.enrol_progress.connect(self._on_progress)
        bridge.enrolled.connect(self._on_enrolled)
        bridge.failed.connect(lambda *_: self._close_progress())
        self.refresh()

    def names(self) -> list[str]:
        return [s.name for s in self.gallery.stars()]

    def refresh(self) -> None:
        selected = self.selected_name()
        self.list.clear()
        stars = self.gallery.stars()
        for star in stars:
            item = QListWidgetItem(f"{star.name}\n{star.face_count} face"
                                   f"{'s' if star.face_count != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, star.name)
            item.setIcon(_pixmap(star.thumbnail))
            item.setToolTip(star.name)
            self.list.addItem(item)
            if star.name == selected:
                self.list.setCurrentItem(item)
        self.empty.setVisible(not stars or self.waiting is not None)
        self.empty.setText(self.waiting or NO_STARS)
        alone = len(stars) == 1 and self.waiting is None
        self.one_star.setText(ONE_STAR.format(name=stars[0].name) if alone else "")
        self.one_star.setVisible(alone)
        has = bool(stars) and self.waiting is None
        self.rename_button.setEnabled(has)
        self.remove_button.setEnabled(has)
        self.add_photos.setEnabled(self.waiting is None)
        self.add_folder.setEnabled(self.waiting is None)
        self.list.setEnabled(self.waiting is None)

    def set_waiting(self, reason: str | None) -> None:
        """reason: why the stars cannot be shown or changed now (the gallery is being
        updated), shown instead of them; None: the gallery is usable again."""
        self.waiting = reason
        self.refresh()

    def selected_name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    # -- enrolment -----------------------------------------------------------------------------

    def enrol_photos_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Photos of the star", "", PHOTO_FILTER)
        if paths:
            self._ask_name_and_enrol(paths)

    def enrol_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of photos of the star")
        if folder:
            self._ask_name_and_enrol([folder], Path(folder).name)

    def _ask_name_and_enrol(self, paths: list[str], suggestion: str = "") -> None:
        name = ask_star_name(self, self.names(), "Enrol a star",
                             "Whose photos are these? (a new name, or a star to add to)",
                             suggestion)
        if name:
            self.enrol(name, paths)

    def enrol(self, name: str, paths: list[str], lookalikes: bool = False) -> None:
        photos = photos_in(paths)
        if not photos:
            self.message.emit("No photos found there.", "\n".join(paths), "error")
            return
        self._progress = QProgressDialog(f"Enrolling {name}…", "Cancel", 0, len(photos), self)
        self._progress.setWindowTitle("Enrolling")
        self._progress.setMinimumDuration(0)
        self._progress.setWindowModality(Qt.WindowModality.WindowModal)
        self._progress.setValue(0)
        cancel = self.bridge.enroll(name, photos, lookalikes)
        self._progress.canceled.connect(cancel.set)  # one transaction: nothing is added

    def _on_progress(self, done: int, total: int, photo: str) -> None:
        dialog = self._progress
        if dialog is None:
            return
        dialog.setMaximum(total)
        if photo.endswith("…"):
            dialog.setLabelText(photo)
        elif photo:
            dialog.setLabelText(f"Looking at {photo}…")
        # Last: a modal dialog's setValue runs the event loop, where `enrolled` may close it.
        dialog.setValue(done)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

    def _on_enrolled(self, name: str, report) -> None:
        self._close_progress()
        added, skipped = len(report.added), report.skipped
        text = f"{name}: {added} photo{'s' if added != 1 else ''} added"
        if skipped:
            text += f", {len(skipped)} skipped"
        details = "\n".join(f"{Path(p).name}: {why}" for p, why in skipped)
        self.message.emit(text + ".", details, "info" if added else "error")
        self.last_report = report
        lookalikes = [p for p, why in skipped if is_lookalike(why)]
        if lookalikes:
            self._ask_to_keep(name, lookalikes)

    def _ask_to_keep(self, name: str, photos: list[Path]) -> None:
        """The fan decides about photos left out as look-alikes: added as `name` on Yes."""
        n = len(photos)
        listed = ", ".join(Path(p).name for p in photos[:5]) + (", …" if n > 5 else "")
        box = QMessageBox(
            QMessageBox.Icon.Question, "Photos that look like another star",
            f"{n} photo{'s' if n != 1 else ''} ({listed}) look{'s' if n == 1 else ''} more "
            f"like another enrolled star than like {name}'s other photos. Such a photo is "
            f"often of a bandmate, and would make kpopcam take her for {name}.\n\n"
            f"Add {'it' if n == 1 else 'them'} to {name} anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        yes = box.button(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda _: box.clickedButton() is yes and self.enrol(
            name, [str(p) for p in photos], lookalikes=True))
        box.open()
        self.keep_box = box

    # -- editing -------------------------------------------------------------------------------

    def rename_selected(self) -> None:
        old = self.selected_name()
        if not old:
            return
        new, ok = QInputDialog.getText(self, "Rename star", f"New name for {old}:", text=old)
        if ok and new.strip() and new.strip() != old:
            try:
                self.gallery.rename(old, new.strip())
            except GalleryError as exc:
                self.message.emit(str(exc), "", "error")
            self.bridge.stars_changed.emit()

    def remove_selected(self) -> None:
        name = self.selected_name()
        if not name:
            return
        answer = QMessageBox.question(
            self, "Remove star", f"Remove {name} and all their enrolled faces? Saved "
            "portraits stay.", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self.gallery.remove(name)
            self.bridge.stars_changed.emit()


def ask_star_name(parent: QWidget, names: list[str], title: str, label: str,
                  suggestion: str = "") -> str:
    """A name typed or picked from the enrolled stars; "" when cancelled."""
    items = ([suggestion] if suggestion and suggestion not in names else []) + names
    name, ok = QInputDialog.getItem(parent, title, label, items or [""], 0, True)
    return name.strip() if ok else ""


def _pixmap(jpeg: bytes | None) -> QPixmap:
    image = QImage.fromData(jpeg) if jpeg else QImage()
    if image.isNull():
        pixmap = QPixmap(THUMB, THUMB)
        pixmap.fill(Qt.GlobalColor.darkGray)
        return pixmap
    return QPixmap.fromImage(image)
