"""The JoinQuant remote helper, shipped with the package so it can be exported for upload.

``bullet_trade_jq_remote_helper.py`` in this package is the canonical file (standard library
only, Python 3.6 syntax; nothing in ``bullet_trade`` imports it). ``helpers/`` at the repository
root holds an identical copy for people browsing the sources; a test keeps the two equal.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

HELPER_FILENAME = "bullet_trade_jq_remote_helper.py"


def helper_source() -> bytes:
    """The helper file's exact bytes, read from the installed package."""
    return resources.files(__name__).joinpath(HELPER_FILENAME).read_bytes()


def export_helper(directory: Path) -> Path:
    """Write the helper into ``directory`` (created if needed); returns the written path.

    Raises:
        OSError: the directory cannot be created or the file cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / HELPER_FILENAME
    target.write_bytes(helper_source())
    return target
