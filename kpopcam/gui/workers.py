"""Work that must not run on the GUI thread (model loading, enrolment, camera probing, file
I/O) runs in a QThreadPool; its result, progress or error comes back as Qt signals."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str, str)  # short message, details (traceback)
    progress = Signal(int, int, str)  # done, total, what


class Task(QRunnable):
    """Runs fn(progress, *args) in a pool thread. `progress(done, total, text)` may be called
    from fn; it is delivered on the GUI thread."""

    def __init__(self, fn: Callable, *args):
        super().__init__()
        self.fn, self.args = fn, args
        self.signals = TaskSignals()
        self.setAutoDelete(False)  # Python owns it: kept alive in Workers._running

    def run(self) -> None:
        try:
            result = self.fn(self.signals.progress.emit, *self.args)
        except Exception as exc:  # reported to the fan, never lost in a pool thread
            log.exception("background task failed")
            self.signals.failed.emit(short_message(exc), traceback.format_exc())
        else:
            self.signals.done.emit(result)


class Workers(QObject):
    """A small thread pool of the app's own, keeping each task alive until it has reported."""

    def __init__(self, parent: QObject | None = None, threads: int = 4):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._running: set[Task] = set()

    def submit(self, fn: Callable, *args, done: Callable | None = None,
               failed: Callable | None = None, progress: Callable | None = None) -> Task:
        task = Task(fn, *args)
        if done:
            task.signals.done.connect(done)
        if failed:
            task.signals.failed.connect(failed)
        if progress:
            task.signals.progress.connect(progress)
        task.signals.done.connect(lambda _r, t=task: self._running.discard(t))
        task.signals.failed.connect(lambda _m, _d, t=task: self._running.discard(t))
        self._running.add(task)
        self.pool.start(task)
        return task

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs)


def short_message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
