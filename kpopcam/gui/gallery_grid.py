"""The grid of saved portraits: cards of the star's face under a header for each day and each
watch run, as a phone's gallery shows them.

The grid paints only what is on screen; where each card lies is arithmetic over the sections
(a few hundred), never a widget or a layout item per capture, so 20,000 captures fill at once.
Thumbnails come from ThumbnailLoader's pool threads for the cards on screen only.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from PySide6.QtCore import QPoint, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeySequence, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from kpopcam.captures import Capture, CaptureRows
from kpopcam.gui.thumbnails import ThumbnailLoader, bucket_for

MARGIN, SPACING = 12, 10
DAY_H, SESSION_H, CAPTION_H = 40, 28, 38
CACHE = 1500  # thumbnails kept in memory
SIDES = (96, 400)  # smallest and largest card


@dataclass(frozen=True)
class Section:
    """Captures [start, end) of one watch run on one day."""

    day: str | None  # the day's title when this section is the day's first, else None
    title: str
    start: int
    end: int


def day_title(day: date, today: date | None = None) -> str:
    today = today or date.today()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day.year == today.year:
        return f"{day:%A %-d %B}"
    return f"{day:%A %-d %B %Y}"


def sections_of(captures: CaptureRows, today: date | None = None) -> list[Section]:
    """Captures (newest first) cut into runs of one session on one day."""
    sections: list[Section] = []
    key, start, last_day = None, 0, None
    days = [datetime.fromtimestamp(t) for t in captures.column("taken")]
    sources = captures.column("source")
    runs = [session or source for session, source in zip(captures.column("session"), sources,
                                                          strict=True)]
    for i, (when, run) in enumerate(zip(days, runs, strict=True)):
        k = (when.date(), run)
        if k != key:
            if key is not None:
                sections.append(_section(sources, days, start, i, last_day, today))
                last_day = key[0]
            key, start = k, i
    if key is not None:
        sections.append(_section(sources, days, start, len(days), last_day, today))
    return sections


def _section(sources, days, start, end, previous_day, today) -> Section:
    day = days[start].date()
    n = end - start
    first, last = days[end - 1], days[start]  # newest first
    when = f"{first:%H:%M}" if last - first < timedelta(minutes=1) else \
        f"{first:%H:%M}–{last:%H:%M}"
    title = f"{when} · {sources[start]} · {n} portrait{'s' if n != 1 else ''}"
    return Section(day_title(day, today) if day != previous_day else None, title, start, end)


class GalleryGrid(QAbstractScrollArea):
    """Cards of captures; click, shift/ctrl-click and arrow keys select, Enter or a double
    click opens (activated), Delete asks to delete (delete_requested)."""

    activated = Signal(int)  # index into captures
    selection_changed = Signal()
    delete_requested = Signal()
    resize_requested = Signal(int)  # Ctrl+wheel: the card size wanted

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Saved portraits")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Base)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.captures = CaptureRows(None, [])
        self.sections: list[Section] = []
        self.wanted_side = 180  # the card size asked for; `side`: as laid out, a bit more
        self.side = 180
        self.selected: set[int] = set()
        self.current = -1
        self._anchor = -1
        self._tops: list[int] = []  # y of each section in the content
        self._starts: list[int] = []  # first capture of each section
        self._cols = 1
        self._height = 0
        self._thumbs: OrderedDict[int, tuple[int, QPixmap]] = OrderedDict()
        self._scaled: dict[int, QPixmap] = {}  # thumbnails at the card's size, painted as is
        self._captions: dict[int, tuple[str, str]] = {}
        self.loader = ThumbnailLoader(self)
        self.loader.loaded.connect(self._loaded)
        self._want_timer = QTimer(self, singleShot=True, interval=0)
        self._want_timer.timeout.connect(self._ask_visible)

    # -- content -------------------------------------------------------------------------------

    def set_captures(self, captures: CaptureRows | list[Capture]) -> None:
        """The captures to show (newest first); the selection follows them by id."""
        if not isinstance(captures, CaptureRows):
            captures = CaptureRows(None, list(captures))
        keep = {self.captures[i].id for i in self.selected if i < len(self.captures)}
        current_id = self.captures[self.current].id if 0 <= self.current < len(
            self.captures) else None
        self.captures = captures
        self.sections = sections_of(captures)
        self._starts = [s.start for s in self.sections]
        ids = captures.column("id") if keep or current_id is not None else []
        self.selected = {i for i, x in enumerate(ids) if x in keep}
        self.current = ids.index(current_id) if current_id in ids else -1
        self._relayout()
        self.selection_changed.emit()

    def prepend(self, capture: Capture) -> None:
        """A new capture on top: only the first run's section is cut again, the others move
        down one (sectioning 20,000 captures anew on each capture of a run took 50-75 ms)."""
        if not self.sections:
            self.set_captures([capture])
            return
        rows = self.captures.with_first(capture)
        first_end = self.sections[0].end + 1
        head = sections_of(rows.head(first_end))
        self.captures = rows
        self.sections = head + [replace(s, start=s.start + 1, end=s.end + 1)
                                for s in self.sections[1:]]
        self._starts = [s.start for s in self.sections]
        self.selected = {i + 1 for i in self.selected}
        self.current += 1 if self.current >= 0 else 0
        self._anchor += 1 if self._anchor >= 0 else 0
        self._relayout()
        self.selection_changed.emit()

    def set_side(self, side: int) -> None:
        top = self._first_visible()
        self.wanted_side = max(SIDES[0], min(SIDES[1], side))
        self._relayout()
        if top >= 0:
            self.scroll_to(top, top_align=True)

    def thumbnail(self, capture_id: int) -> QPixmap | None:
        entry = self._thumbs.get(capture_id)
        return None if entry is None else entry[1]

    def has_thumbnail(self, capture_id: int) -> bool:
        return capture_id in self._thumbs

    def selected_captures(self) -> list[Capture]:
        return [self.captures[i] for i in sorted(self.selected)]

    def select(self, index: int, extend: bool = False, toggle: bool = False) -> None:
        if not 0 <= index < len(self.captures):
            return
        if extend and self._anchor >= 0:
            lo, hi = sorted((self._anchor, index))
            self.selected = set(range(lo, hi + 1))
        elif toggle:
            self.selected ^= {index}
            self._anchor = index
        else:
            self.selected, self._anchor = {index}, index
        self.current = index
        self.scroll_to(index)
        self.viewport().update()
        self.selection_changed.emit()

    def select_all(self) -> None:
        self.selected = set(range(len(self.captures)))
        self.viewport().update()
        self.selection_changed.emit()

    # -- geometry ------------------------------------------------------------------------------

    @property
    def card_h(self) -> int:
        return self.side + CAPTION_H

    def _relayout(self) -> None:
        width = self.viewport().width()
        self._cols = max(1, (width - 2 * MARGIN + SPACING) // (self.wanted_side + SPACING))
        # the cards grow to fill the row, as a phone's gallery does: no ragged right margin
        side = max(SIDES[0], (width - 2 * MARGIN - (self._cols - 1) * SPACING) // self._cols)
        if side != self.side:
            self._scaled.clear()
            self._captions.clear()
        self.side = side
        y, self._tops = MARGIN, []
        for s in self.sections:
            self._tops.append(y)
            y += self._section_height(s)
        self._height = y + MARGIN
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, self._height - self.viewport().height()))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(max(20, self.card_h // 3))
        self.viewport().update()

    def _section_height(self, s: Section) -> int:
        rows = -(-(s.end - s.start) // self._cols)
        return (DAY_H if s.day else 0) + SESSION_H + rows * (self.card_h + SPACING) + 6

    def _section_at(self, y: int) -> int:
        return max(0, bisect.bisect_right(self._tops, y) - 1)

    def _section_of(self, index: int) -> int:
        return max(0, bisect.bisect_right(self._starts, index) - 1)

    def card_rect(self, index: int) -> QRect:
        """Where card `index` lies in the content (not scrolled)."""
        k = self._section_of(index)
        s = self.sections[k]
        row, col = divmod(index - s.start, self._cols)
        y = self._tops[k] + (DAY_H if s.day else 0) + SESSION_H + row * (self.card_h + SPACING)
        return QRect(MARGIN + col * (self.side + SPACING), y, self.side, self.card_h)

    def index_at(self, pos: QPoint) -> int:
        """The card under a viewport point, or -1."""
        if not self.sections:
            return -1
        y = pos.y() + self.verticalScrollBar().value()
        k = self._section_at(y)
        s = self.sections[k]
        y -= self._tops[k] + (DAY_H if s.day else 0) + SESSION_H
        if y < 0:
            return -1
        row, dy = divmod(y, self.card_h + SPACING)
        col, dx = divmod(pos.x() - MARGIN, self.side + SPACING)
        if dy >= self.card_h or dx >= self.side or pos.x() < MARGIN or col >= self._cols:
            return -1
        index = s.start + row * self._cols + col
        return index if index < s.end else -1

    def scroll_to(self, index: int, top_align: bool = False) -> None:
        rect = self.card_rect(index)
        bar = self.verticalScrollBar()
        if top_align:
            bar.setValue(rect.top() - SESSION_H - MARGIN)
        elif rect.top() < bar.value():
            bar.setValue(rect.top() - SESSION_H)
        elif rect.bottom() > bar.value() + self.viewport().height():
            bar.setValue(rect.bottom() - self.viewport().height() + SPACING)

    def visible_range(self) -> range:
        """Indexes of the cards (partly) on screen."""
        if not self.captures:
            return range(0)
        top = self.verticalScrollBar().value()
        bottom = top + self.viewport().height()
        first = self._first_at_or_below(top)
        last = first
        k = self._section_of(first)
        while k < len(self.sections) and self._tops[k] < bottom:
            s = self.sections[k]
            for i in range(max(first, s.start), s.end, self._cols):
                r = self.card_rect(i)
                if r.top() >= bottom:
                    break
                last = min(s.end, i + self._cols)
            k += 1
        return range(first, max(first, last))

    def _first_at_or_below(self, y: int) -> int:
        k = self._section_at(y)
        s = self.sections[k]
        inner = y - self._tops[k] - (DAY_H if s.day else 0) - SESSION_H
        row = max(0, inner // (self.card_h + SPACING))
        return min(s.end - 1, s.start + row * self._cols)

    def _first_visible(self) -> int:
        return self.visible_range().start if self.captures else -1

    # -- painting ------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._relayout()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        offset = self.verticalScrollBar().value()
        bottom = offset + self.viewport().height()
        visible = self.visible_range()
        missing = []
        for k in range(self._section_at(offset), len(self.sections)):
            if self._tops[k] >= bottom:
                break
            self._paint_headers(painter, k, offset)
        for i in visible:
            if not self._paint_card(painter, i, offset):
                missing.append(self.captures[i])
        painter.end()
        if missing:
            self._missing = missing
            self._want_timer.start()

    def _paint_headers(self, painter: QPainter, k: int, offset: int) -> None:
        s, y = self.sections[k], self._tops[k] - offset
        width = self.viewport().width() - 2 * MARGIN
        palette = self.palette()
        if s.day:
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.35)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(QRect(MARGIN, y, width, DAY_H),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, s.day)
            y += DAY_H
        painter.setFont(self.font())
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        title = painter.fontMetrics().elidedText(s.title, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QRect(MARGIN, y, width, SESSION_H),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)

    def _paint_card(self, painter: QPainter, index: int, offset: int) -> bool:
        """Paints one card; False when its thumbnail is not loaded (or too small) yet."""
        c = self.captures[index]
        rect = self.card_rect(index).translated(0, -offset)
        face = QRect(rect.left(), rect.top(), self.side, self.side)
        entry = self._thumbs.get(c.id)
        palette = self.palette()
        if entry is None:
            painter.fillRect(face, palette.color(QPalette.ColorRole.Mid))
        else:
            self._thumbs.move_to_end(c.id)
            painter.drawPixmap(face.topLeft(), self._at_side(c.id, entry[1]))
        if c.favourite:
            self._paint_heart(painter, face)
        if index in self.selected:
            painter.fillRect(face, QColor(40, 120, 255, 70))
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 4))
            painter.drawRect(face.adjusted(2, 2, -2, -2))
        if index == self.current and self.hasFocus():
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Text), 1, Qt.PenStyle.DotLine))
            painter.drawRect(rect.adjusted(-3, -3, 2, 2))
        painter.setFont(self.font())
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        line1, line2 = self._caption(c)
        painter.drawText(QRect(rect.left(), face.bottom() + 3, self.side, CAPTION_H // 2),
                         Qt.AlignmentFlag.AlignLeft, line1)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(QRect(rect.left(), face.bottom() + 3 + CAPTION_H // 2, self.side,
                               CAPTION_H // 2), Qt.AlignmentFlag.AlignLeft, line2)
        return entry is not None and entry[0] >= bucket_for(self.side)

    def _at_side(self, capture_id: int, pixmap: QPixmap) -> QPixmap:
        """The thumbnail scaled to the card once, not on every paint."""
        scaled = self._scaled.get(capture_id)
        if scaled is None or scaled.cacheKey() == 0:
            if len(self._scaled) > CACHE:
                self._scaled.clear()
            scaled = self._scaled[capture_id] = pixmap.scaled(
                self.side, self.side, Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
        return scaled

    def _caption(self, c: Capture) -> tuple[str, str]:
        caption = self._captions.get(c.id)
        if caption is None:
            if len(self._captions) > CACHE:
                self._captions.clear()
            caption = self._captions[c.id] = (
                self.fontMetrics().elidedText(f"{c.star} · {c.emotion} {c.score:.2f}",
                                              Qt.TextElideMode.ElideRight, self.side),
                f"{datetime.fromtimestamp(c.taken):%H:%M:%S}")
        return caption

    def _paint_heart(self, painter: QPainter, face: QRect) -> None:
        r = QRectF(face.right() - 30, face.top() + 4, 26, 26)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 110))
        painter.drawEllipse(r)
        font = QFont(self.font())
        font.setPixelSize(17)
        painter.setFont(font)
        painter.setPen(QColor(255, 80, 110))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, "♥")

    # -- thumbnails ----------------------------------------------------------------------------

    def _ask_visible(self) -> None:
        self.loader.want(getattr(self, "_missing", []), bucket_for(self.side))

    def _loaded(self, capture_id: int, bucket: int, image: QImage) -> None:
        if image.isNull():
            return
        old = self._thumbs.get(capture_id)
        if old is not None and old[0] > bucket:
            return
        self._thumbs[capture_id] = (bucket, QPixmap.fromImage(image))
        self._thumbs.move_to_end(capture_id)
        self._scaled.pop(capture_id, None)
        while len(self._thumbs) > CACHE:
            self._thumbs.popitem(last=False)
        self.viewport().update()

    def forget_all(self) -> None:
        """Another folder: its ids say nothing about these thumbnails."""
        self._thumbs.clear()
        self._scaled.clear()
        self._captions.clear()

    def forget(self, capture_ids) -> None:
        for i in capture_ids:
            self._thumbs.pop(i, None)
            self._scaled.pop(i, None)
            self._captions.pop(i, None)

    # -- mouse and keys ------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        mods = event.modifiers()
        if index < 0:
            if not mods:
                self.selected.clear()
                self.viewport().update()
                self.selection_changed.emit()
            return
        self.select(index, extend=bool(mods & Qt.KeyboardModifier.ShiftModifier),
                    toggle=bool(mods & Qt.KeyboardModifier.ControlModifier))

    def wheelEvent(self, event) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:  # as in a photo app
            steps = event.angleDelta().y() / 120
            self.resize_requested.emit(int(self.wanted_side * 1.15 ** steps))
            return
        super().wheelEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index >= 0:
            self.activated.emit(index)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        key, n = event.key(), len(self.captures)
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.current >= 0:
            self.activated.emit(self.current)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_requested.emit()
            return
        moved = self._moved(key)
        if moved is None or not n:
            super().keyPressEvent(event)
            return
        self.select(max(0, min(n - 1, moved)),
                    extend=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))

    def _moved(self, key) -> int | None:
        i, cols = max(self.current, 0), self._cols
        if self.current < 0 and key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up,
                                        Qt.Key.Key_Down):
            return 0
        rows_per_page = max(1, self.viewport().height() // (self.card_h + SPACING))
        return {
            Qt.Key.Key_Left: i - 1, Qt.Key.Key_Right: i + 1,
            Qt.Key.Key_Up: self._row_step(i, -1), Qt.Key.Key_Down: self._row_step(i, 1),
            Qt.Key.Key_Home: 0, Qt.Key.Key_End: len(self.captures) - 1,
            Qt.Key.Key_PageUp: i - rows_per_page * cols,
            Qt.Key.Key_PageDown: i + rows_per_page * cols,
        }.get(key)

    def _row_step(self, i: int, step: int) -> int:
        """The card above or below, in the same column where that row has one."""
        k = self._section_of(i)
        s = self.sections[k]
        row, col = divmod(i - s.start, self._cols)
        target = s.start + (row + step) * self._cols + col
        if s.start <= target < s.end:
            return target
        if step > 0 and row + 1 < -(-(s.end - s.start) // self._cols):
            return s.end - 1  # the last, shorter row of the section
        other = k + step
        if not 0 <= other < len(self.sections):
            return i
        o = self.sections[other]
        if step > 0:
            return min(o.end - 1, o.start + col)
        last_row_start = o.start + ((o.end - 1 - o.start) // self._cols) * self._cols
        return min(o.end - 1, last_row_start + col)
