"""Live runner: schedule, strategy loader, order planner, portfolio view, ``g`` store and the
loop (:func:`bullet_trade.live.runner.run_live`). Import submodules directly; this package
imports nothing so that ``bullet_trade.jq`` and ``bullet_trade.live`` can refer to each other.
"""
