"""Network client of bullet-trade server (protocol v1 + extensions).

* :class:`AsyncConnection`: one connection (requests, events, heartbeat, explicit reconnect).
* :class:`AsyncRemoteBroker` / :class:`AsyncRemoteProvider`: the ``Broker`` / ``DataProvider``
  contracts over a connection.
* :class:`RemoteQmtBroker` / :class:`RemoteQmtProvider`: blocking facades for scripts.
* :func:`client_config_from_env`: ``QMT_SERVER_*`` → ``ClientConfig``.

The client never imports ``bullet_trade.server``.
"""

from bullet_trade.client.broker import AsyncRemoteBroker
from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.envconfig import client_config_from_env
from bullet_trade.client.facade import RemoteQmtBroker, RemoteQmtProvider
from bullet_trade.client.provider import AsyncRemoteProvider

__all__ = [
    "AsyncConnection",
    "AsyncRemoteBroker",
    "AsyncRemoteProvider",
    "RemoteQmtBroker",
    "RemoteQmtProvider",
    "client_config_from_env",
]
