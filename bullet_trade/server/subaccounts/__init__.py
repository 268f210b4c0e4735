"""Virtual sub-accounts: several strategies share one broker account, each with its own
name, daily BUY quota and view of its own orders, trades and positions.

* :mod:`.spec` parses ``--sub-accounts`` and checks parents;
* :mod:`.book` attributes orders and enforces the quota atomically (journaled);
* :mod:`.holdings` computes what it holds and may sell (T+1, open sells reserved);
* :mod:`.views` builds what a request under a sub-account sees.

Routing of requests lives in ``server/handlers/accounts.py``.
"""

from __future__ import annotations

from bullet_trade.server.subaccounts.book import (
    POSITION_EXCEEDED,
    QUOTA_EXCEEDED,
    SubAccountBook,
)
from bullet_trade.server.subaccounts.spec import (
    SubAccountError,
    bind_parents,
    parse_sub_accounts,
)

__all__ = [
    "POSITION_EXCEEDED",
    "QUOTA_EXCEEDED",
    "SubAccountBook",
    "SubAccountError",
    "bind_parents",
    "parse_sub_accounts",
]
