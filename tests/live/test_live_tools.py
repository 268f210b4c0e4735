"""JoinQuant helpers: read_file/write_file (sandboxed), get_current_tick, print_portfolio_info,
prettytable_print_df and the lazy talib module."""

import sys
import types

import pytest

from bullet_trade.jq.tools import TALIB_MISSING, LazyTalib


async def test_files_are_sandboxed_in_the_runtime_dir(env, write_strategy, tmp_path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    (env.runtime_dir / "files").mkdir(parents=True)
    (env.runtime_dir / "files" / "link").symlink_to(outside)
    path = write_strategy("""
        def initialize(context):
            write_file('notes/a.txt', '价格 10')
            write_file('notes/a.txt', b' + more', append=True)
            write_file('plain.bin', b'\\x00\\x01')
            write_file('plain.bin', 'replaced')
            g.read = (read_file('notes/a.txt').decode('utf-8'), read_file('plain.bin'))
            g.denied = []
            for bad in ('../g.pkl', '/etc/passwd', 'notes/../../live_state.json', 'link'):
                try:
                    read_file(bad)
                except PermissionError:
                    g.denied.append(bad)
            try:
                write_file('../escape.txt', 'x')
            except PermissionError:
                g.denied.append('write')
            try:
                read_file('missing.txt')
            except FileNotFoundError:
                g.missing = True
    """)
    await env.run(path, max_days=1)
    g = env.g()
    assert g["read"] == ("价格 10 + more", b"replaced")
    assert g["denied"] == ["../g.pkl", "/etc/passwd", "notes/../../live_state.json", "link",
                           "write"]
    assert g["missing"] is True
    assert (env.runtime_dir / "files" / "notes" / "a.txt").read_bytes() == "价格 10 + more".encode()
    assert not (env.runtime_dir / "escape.txt").exists()
    assert sorted(p.name for p in (env.runtime_dir / "files").iterdir()) == [
        "link", "notes", "plain.bin"]  # no temporary files left behind


async def test_get_current_tick(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(look, '10:00')
        def look(context):
            tick = get_current_tick('000001.XSHE')
            g.tick = (tick.code, tick.current, tick.last_price, str(tick.datetime),
                      tick.high_limit, tick.low_limit)
            g.frame = list(get_current_tick('000001.SZ', df=True).columns[:3])
            g.none = get_current_tick('600000.XSHG')  # no price
    """)
    await env.run(path, max_days=1)
    g = env.g()
    assert g["tick"] == ("000001.XSHE", 10.0, 10.0, "2025-04-29 10:00:00", 11.0, 9.0)
    assert g["frame"] == ["code", "datetime", "current"]
    assert g["none"] is None


async def test_print_portfolio_info_and_tables(env, write_strategy, caplog) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(trade, '10:00')
        def trade(context):
            order('000001.XSHE', 1000)
            order('510300.XSHG', 1000)
            g.text = print_portfolio_info(context)
            g.top = print_portfolio_info(context, top_n=1)
            g.table = prettytable_print_df(pd.DataFrame({'a': [1, 22], 'b': ['x', 'y']}))
    """)
    caplog.set_level("INFO", logger="bullet_trade.strategy")
    await env.run(path, max_days=1)
    g = env.g()
    lines = g["text"].splitlines()
    assert lines[0].startswith("portfolio: total 100,000.00  cash 86,000.00  positions 14,000.00")
    assert lines[1].split() == ["security", "name", "amount", "closeable", "avg_cost", "price",
                                "value", "pnl%"]
    assert [line.split()[0] for line in lines[2:]] == ["000001.XSHE", "510300.XSHG"]
    assert len(g["top"].splitlines()) == 3
    assert g["table"].splitlines() == [
        "+----+---+", "| a  | b |", "+----+---+", "| 1  | x |", "| 22 | y |", "+----+---+"]
    assert "000001.XSHE" in caplog.text


def test_talib_is_lazy_and_explains_when_missing(monkeypatch) -> None:
    proxy = LazyTalib()
    monkeypatch.setitem(sys.modules, "talib", None)  # makes `import talib` fail
    with pytest.raises(ImportError) as info:
        proxy.SMA  # noqa: B018
    assert str(info.value) == TALIB_MISSING and "pip install TA-Lib" in str(info.value)
    with pytest.raises(AttributeError):
        proxy.__wrapped__  # noqa: B018  (introspection never triggers the import)


def test_talib_forwards_to_the_real_module(monkeypatch) -> None:
    installed = types.ModuleType("talib")
    installed.SMA = lambda values, timeperiod=30: "sma"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "talib", installed)  # undone after the test
    assert LazyTalib().SMA([1.0]) == "sma"


async def test_talib_is_a_strategy_global(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.kind = type(talib).__name__
    """)
    await env.run(path, max_days=1)
    assert env.g()["kind"] == "LazyTalib"
