"""xtdata fault injection of the fake: hung calls and the record of thread-safety violations.

A :class:`Hang` makes the next call of one xtdata function block until released, either
*before* the call enters the client (waiting for the miniQMT server; the not-thread-safe guard
is free) or *inside* it (the guard is held for the whole hang, as when the SDK itself is stuck
in the middle of a request). Any call entered while another thread holds the guard raises
``RuntimeError`` and is recorded in :attr:`XtdataFaults.violations`, so a test can assert that
an adapter never used xtdata concurrently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(eq=False)
class Hang:
    """One injected hang of the xtdata function :attr:`name`.

    :attr:`entered` is set when the hung call reached its hanging point (inside the guard when
    :attr:`inside`), :attr:`released` lets it continue; :meth:`set` is :attr:`released`'s.
    """

    name: str
    inside: bool
    entered: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def set(self) -> None:
        """Let the hung call continue (and any later one, the hang is one-shot anyway)."""
        self.released.set()

    def block(self) -> None:
        """Called by the hung call: announce it and wait for the release."""
        self.entered.set()
        self.released.wait()


class XtdataFaults:
    """Pending hangs by function name, and the calls refused for concurrent use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hangs: dict[str, Hang] = {}
        self.violations: list[str] = []

    def hang(self, name: str, *, inside: bool = False) -> Hang:
        """Make the next call of ``name`` block until :meth:`Hang.set` (see module doc)."""
        hang = Hang(name, inside)
        with self._lock:
            self._hangs[name] = hang
        return hang

    def take(self, name: str) -> Hang | None:
        """The pending hang of ``name``, removed (one-shot), or None."""
        with self._lock:
            return self._hangs.pop(name, None)

    def violation(self, name: str) -> None:
        with self._lock:
            self.violations.append(name)
