from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from live_env import Env, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path / "runtime")


@pytest.fixture
def write_strategy(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(body: str, name: str = "strat.py") -> Path:
        path = tmp_path / name
        path.write_text("from jqdata import *\n" + textwrap.dedent(body), encoding="utf-8")
        return path

    return write

