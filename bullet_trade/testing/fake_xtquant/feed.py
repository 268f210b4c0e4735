"""Quote subscriptions of the fake xtdata: one push thread, like xtquant's client thread.

Callbacks get ``{code: [tick_dict]}`` (a list per code, as ``subscribe_quote`` does). A new
subscription receives the current snapshot at once; later pushes happen on
:meth:`QuoteFeed.push_all` (tests) and, when ``interval`` is set, every ``interval`` seconds.
A callback that raises is printed and swallowed, as the real wrapper does.
"""

from __future__ import annotations

import itertools
import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any

Tick = dict[str, Any]


class QuoteFeed:
    """Subscriptions plus the single push thread.

    Args:
        snapshot: builds the tick dict of a code (``None`` when it has no data).
        interval: seconds between automatic pushes; ``None`` pushes only on demand.
    """

    def __init__(self, snapshot: Callable[[str], Tick | None], interval: float | None) -> None:
        self._snapshot = snapshot
        self._interval = interval
        self._subs: dict[int, tuple[str, Callable[[dict[str, list[Tick]]], None]]] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._jobs: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def subscribe(self, code: str, callback: Callable[[dict[str, list[Tick]]], None]) -> int:
        with self._lock:
            seq = next(self._seq)
            self._subs[seq] = (code, callback)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="xtdata-push", daemon=True)
                self._thread.start()
        self._jobs.put(seq)
        return seq

    def unsubscribe(self, seq: int) -> None:
        with self._lock:
            self._subs.pop(seq, None)

    def active(self) -> list[str]:
        """Codes with a live subscription (one entry per subscription)."""
        with self._lock:
            return [code for code, _ in self._subs.values()]

    def push_all(self) -> None:
        """Queue one push for every subscription."""
        with self._lock:
            seqs = list(self._subs)
        for seq in seqs:
            self._jobs.put(seq)

    def stop(self) -> None:
        self._stopped.set()
        self._jobs.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                seq = self._jobs.get(timeout=self._interval)
            except queue.Empty:
                self.push_all()
                continue
            if seq is None:
                return
            self._push(seq)

    def _push(self, seq: int) -> None:
        with self._lock:
            sub = self._subs.get(seq)
        if sub is None:
            return
        code, callback = sub
        try:
            tick = self._snapshot(code)
            if tick is not None:
                callback({code: [tick]})
        except Exception:
            print("subscribe callback error:")
            traceback.print_exc()
