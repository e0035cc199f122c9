"""Running work after the visitor's request has been answered.

The anonymous flows ("Having trouble?", self-registration) answer at once and alike,
then do the real work (look up, issue a link, send the email) as a job handed to a
background runner, so a match costs the visitor's request no more time than a miss.
:class:`BackgroundThread` is the default: one daemon thread per portal, started on the
first job. A host with a task queue passes its own runner (any callable taking a
job), e.g. ``executor.submit`` or a function that enqueues the job in Celery or RQ.

>>> import threading
>>> runner = BackgroundThread()
>>> done = threading.Event()
>>> runner(done.set)
>>> runner.drain(timeout=5), done.is_set()
(True, True)
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

__all__ = ["BackgroundThread"]

log = logging.getLogger("portal_access")

Job = Callable[[], object]


class BackgroundThread:
    """Runs jobs one at a time, in order, on a daemon thread of its own.

    The thread starts with the first job (never at construction or import) and again
    in a process forked after it started (web servers fork their workers). A job that
    raises is logged and the next one runs. Jobs still queued when the interpreter
    exits are lost: what they would have done is a visitor's request, which the
    visitor can repeat; call :meth:`drain` at shutdown to finish them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def __call__(self, job: Job) -> None:
        """Queue ``job`` to run after the jobs queued before it."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread and queue are not ours
                self._queue, self._thread, self._pid = queue.SimpleQueue(), None, os.getpid()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, args=(self._queue,), name="portal-access", daemon=True
                )
                self._thread.start()
            self._queue.put(job)

    def drain(self, *, timeout: float | None = None) -> bool:
        """Wait until every job queued so far has run; ``False`` if ``timeout`` passed."""
        finished = threading.Event()
        self(finished.set)
        return finished.wait(timeout)

    @staticmethod
    def _work(jobs: queue.SimpleQueue[Job]) -> None:
        while True:
            job = jobs.get()
            try:
                job()
            except Exception:  # one failed job must not stop the others
                log.exception("portal_access: a background job failed")
