"""Persistence of ``g``: a pickle in the runtime directory, replaced atomically.

Failures are never silent: a value that cannot be pickled is logged with its attribute name
and the file keeps its previous content; a corrupt file at start-up is logged and moved aside
(``g.pkl.corrupt``) so it is not overwritten blindly.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class GStore:
    """Saves and loads the ``g`` attributes at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: bytes | None = None

    def load(self) -> dict[str, Any] | None:
        """The saved attributes, or ``None`` when there is no (readable) file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            values = pickle.loads(data)  # our own file, in the runtime directory
            if not isinstance(values, dict):
                raise TypeError(f"expected a dict, found {type(values).__name__}")
        except Exception:
            aside = self.path.with_name(self.path.name + ".corrupt")
            log.exception("cannot restore g from %s; moved it to %s", self.path, aside)
            os.replace(self.path, aside)
            return None
        self._last = data
        return values

    def save(self, values: dict[str, Any]) -> bool:
        """Write ``values`` if they changed since the last save/load.

        Returns True when the file is up to date, False when pickling failed (logged with the
        offending attribute names; the previous file is kept).
        """
        try:
            data = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            log.exception("g was NOT saved: attributes %s cannot be pickled", _unpicklable(values))
            return False
        if data == self._last:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._last = data
        return True


def _unpicklable(values: dict[str, Any]) -> list[str]:
    bad: list[str] = []
    for name, value in values.items():
        try:
            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # user objects may raise anything from __reduce__; the caller logs
            bad.append(name)
    return bad
