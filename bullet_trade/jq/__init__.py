"""JoinQuant-compatible strategy API (``order``, ``run_daily``, ``get_price``, ``g``, ``log``),
bound to the running live session through :data:`bullet_trade.jq.binding.CURRENT_SESSION`.
``bullet_trade.jq.namespace.strategy_namespace`` lists what a strategy sees.
"""
