"""One long-lived thread that runs jobs one after another.

Why not a new thread per job: glibc gives a new thread an arena of its own (up to 8 per CPU)
and keeps what that thread freed there, fragmented, after the thread is gone. A plate
capture allocates hundreds of MB in passing; with a fresh thread for every recapture and
every save, OBS grew by about 13 MB per recapture until some 16 arenas existed (measured in
OBS 29: 10 recaptures, 403 -> 485 MB). Jobs that always run on the same thread reuse one
arena, whose free pages ``malloc_trim`` returns.

Threading contract: :meth:`JobThread.submit` and :meth:`JobThread.close` may be called from
any thread; jobs run in submission order on the job thread. Lifetime: the thread starts with
the first job and ends at :meth:`close` (idempotent; jobs still queued run first, so a job
that must stop early has to be told so by its owner). Exceptions of a job are the job's own
business: one that escapes is reported to ``on_error`` (default: ignored) and the thread
goes on with the next job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class JobThread:
    """Runs submitted callables on one daemon thread, in order (see the module docstring)."""

    def __init__(self, name: str, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.name = name
        self._on_error = on_error
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, job: Job) -> None:
        """Queue ``job`` to run on the thread (started now if it is not running)."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: closed, cannot take jobs")
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
                self._thread.start()
            self._jobs.put(job)

    @property
    def on_thread(self) -> bool:
        """True when called from the job thread itself."""
        return self._thread is threading.current_thread()

    def close(self, timeout: float = 10.0) -> None:
        """Run what is queued, then end the thread; waits up to ``timeout`` s (idempotent)."""
        with self._lock:
            thread, was_closed, self._closed = self._thread, self._closed, True
            if thread is not None and not was_closed:
                self._jobs.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _main(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException as exc:
                if self._on_error is not None:
                    self._on_error(exc)
