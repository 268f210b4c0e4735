import logging
import pickle
import threading
from pathlib import Path

import pytest

from bullet_trade.jq.objects import GlobalBag
from bullet_trade.live.state import GStore


def test_round_trip_and_dunder_excluded(tmp_path: Path) -> None:
    g = GlobalBag()
    g.count = 3
    g.stocks = ["000001.XSHE"]
    g.__private = 1  # name-mangled, not starting with "__" after mangling
    vars(g)["__secret"] = "x"
    store = GStore(tmp_path / "g.pkl")
    assert store.save(g.snapshot())
    restored = GStore(tmp_path / "g.pkl").load()
    assert restored is not None and restored["count"] == 3 and "__secret" not in restored
    g2 = GlobalBag()
    g2.stale = True
    g2.replace(restored)
    assert g2.stocks == ["000001.XSHE"]
    with pytest.raises(AttributeError):
        _ = g2.stale
    assert not list(tmp_path.glob("*.tmp"))


def test_unpicklable_value_is_logged_and_old_file_kept(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    store = GStore(tmp_path / "g.pkl")
    assert store.save({"a": 1})
    with caplog.at_level(logging.ERROR):
        assert store.save({"a": 2, "lock": threading.Lock()}) is False
    assert "lock" in caplog.text and "NOT saved" in caplog.text
    assert pickle.loads((tmp_path / "g.pkl").read_bytes()) == {"a": 1}


def test_missing_and_corrupt_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert GStore(tmp_path / "g.pkl").load() is None
    (tmp_path / "g.pkl").write_bytes(b"not a pickle")
    with caplog.at_level(logging.ERROR):
        assert GStore(tmp_path / "g.pkl").load() is None
    assert (tmp_path / "g.pkl.corrupt").exists() and not (tmp_path / "g.pkl").exists()
    assert "cannot restore g" in caplog.text
