"""``QmtServer``: the listener and the lifecycle of ``bullet-trade server``.

It owns the process-wide :class:`~bullet_trade.server.context.ServerState`, the tick fan-out
and one :class:`~bullet_trade.server.session.Session` per connection. Signals are not handled
here (the CLI does that, portably); nothing in this module is POSIX-only.

Lifecycle (``ServerStatus``): ``NEW`` → ``STARTING`` → ``RUNNING`` → ``STOPPING`` → ``STOPPED``.
Shutdown is ordered: stop accepting → close sessions (cancel their tasks) → wait up to
``grace`` seconds → cancel stragglers → close tick subscriptions → stop the backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import inspect
import logging
import secrets
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.config import ServerConfig
from bullet_trade.model.clock import Clock
from bullet_trade.server.context import ActionSpec, ServerState
from bullet_trade.server.push import TickFanout
from bullet_trade.server.reliability import Reliability
from bullet_trade.server.security import Security
from bullet_trade.server.security.gate import admit
from bullet_trade.server.session import Session, SessionState
from bullet_trade.server.tasks import cancel_tasks, wait_tasks

logger = logging.getLogger("bullet_trade.server")

#: Seconds sessions get to finish after their tasks were cancelled at shutdown.
SHUTDOWN_GRACE = 5.0


class ServerStatus(enum.Enum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class QmtServer:
    """Serve a ``DataProvider`` and/or a ``Broker`` over protocol v1.

    Args:
        config: server settings. ``enable_data`` / ``enable_broker`` set to False hide the
            corresponding backend even when one is passed.
        data: market-data backend, or ``None`` (the data service is then disabled).
        broker: trading backend, or ``None`` (the broker service is then disabled).
        clock: the server clock (handed to handlers through the state).
        actions: the action table; ``None`` builds the standard one with
            ``bullet_trade.server.handlers.build_action_table``.

    Raises:
        SecuritySetupError: (a ``ValueError``) unusable TLS certificate/key or tokens; the
            server never listens with a security setting it could not apply.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        data: DataProvider | None,
        broker: Broker | None,
        clock: Clock,
        actions: Mapping[str, ActionSpec] | None = None,
        access_sink: Callable[[str], None] | None = None,
    ) -> None:
        self._security = Security.from_config(config)
        self._state = ServerState(
            config=config,
            clock=clock,
            data=data if config.enable_data else None,
            broker=broker if config.enable_broker else None,
            server_instance=secrets.token_hex(8),
            access_sink=access_sink,
        )
        self._reliability = Reliability(config)  # journal at runtime_dir/journal.sqlite3
        self._actions: Mapping[str, ActionSpec] = (
            actions if actions is not None else _default_actions(self._state, self._reliability)
        )
        self._fanout = TickFanout(self._state.data) if self._state.data is not None else None
        self._server: asyncio.base_events.Server | None = None
        self._connections: dict[Session, asyncio.Task[Any]] = {}
        self._status = ServerStatus.NEW
        self._stopped = asyncio.Event()

    @property
    def state(self) -> ServerState:
        return self._state

    @property
    def security(self) -> Security:
        return self._security

    @property
    def status(self) -> ServerStatus:
        return self._status

    @property
    def port(self) -> int:
        """The bound TCP port (useful with ``port=0``).

        Raises:
            RuntimeError: the server is not listening.
        """
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the server is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Start the backends, then listen on ``config.listen:config.port``.

        Raises:
            RuntimeError: called twice.
            OSError: the address cannot be bound (the backends are stopped again).
        """
        if self._status is not ServerStatus.NEW:
            raise RuntimeError(f"cannot start a server that is {self._status.value}")
        self._status = ServerStatus.STARTING
        config = self._state.config
        await self._reliability.open(self._state.broker)
        try:
            await self._call_backends("start")
        except BaseException:
            await self._reliability.close()
            raise
        await self._reliability.reconcile()
        tls = self._security.ssl_context
        try:
            self._server = await asyncio.start_server(
                self._on_connect,
                host=config.listen,
                port=config.port,
                ssl=tls,
                # a peer stuck in the TLS handshake is bounded like one stuck before ours
                ssl_handshake_timeout=config.handshake_timeout if tls is not None else None,
            )
        except BaseException:
            self._status = ServerStatus.STOPPED
            await self._call_backends("stop")
            await self._reliability.close()
            self._security.close()
            self._stopped.set()
            raise
        self._status = ServerStatus.RUNNING
        logger.info(
            "listening on %s:%s (features=%s, tls=%s, instance=%s)",
            config.listen,
            self.port,
            ",".join(self._state.features()) or "-",
            "on" if tls is not None else "off",
            self._state.server_instance,
        )

    async def serve_forever(self) -> None:
        """Start if needed, then wait until :meth:`stop` has completed."""
        if self._status is ServerStatus.NEW:
            await self.start()
        await self._stopped.wait()

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Ordered shutdown; safe to call more than once (later calls wait for the first)."""
        if self._status in (ServerStatus.STOPPING, ServerStatus.STOPPED):
            await self._stopped.wait()
            return
        self._status = ServerStatus.STOPPING
        try:
            if self._server is not None:
                self._server.close()  # stop accepting
            await self._close_sessions(grace)
            if self._fanout is not None:
                self._fanout.close()
            if self._server is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._server.wait_closed(), grace)
            await self._call_backends("stop")
            await self._reliability.close()
        finally:
            self._security.close()
            self._status = ServerStatus.STOPPED
            self._stopped.set()
            logger.info("server stopped")

    async def __aenter__(self) -> QmtServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ internals

    def _pending_hosts(self) -> list[str | None]:
        """Peer addresses of the connections still in their handshake."""
        return [s.host for s in self._connections if s.status is SessionState.HANDSHAKE]

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Connection task (created by asyncio). Never raises: it is the top of the task."""
        if self._status is not ServerStatus.RUNNING:
            writer.transport.abort()
            return
        if not admit(self._security, writer, self._pending_hosts()):
            return
        session = Session(
            reader, writer, state=self._state, actions=self._actions, fanout=self._fanout,
            events=self._reliability.events,
            security=self._security,
        )
        task = asyncio.current_task()
        assert task is not None  # always inside the task asyncio created for us
        self._connections[session] = task
        try:
            await session.run()
        except asyncio.CancelledError:
            # shutdown cancelled us; the session has cleaned up. Ending normally keeps
            # asyncio's stream callback from reporting the cancellation as an error.
            pass
        except Exception:  # I/O boundary: a bug in one session must not reach the loop
            logger.exception("session %s crashed", session.session_id)
            writer.transport.abort()
        finally:
            self._connections.pop(session, None)

    async def _close_sessions(self, grace: float) -> None:
        tasks = set(self._connections.values())
        if not tasks:
            return
        logger.info("closing %d session(s)", len(tasks))
        for task in tasks:
            task.cancel()
        stragglers = await wait_tasks(tasks, grace)
        if stragglers:
            logger.warning(
                "%d session(s) still open after %g s; cancelling", len(stragglers), grace
            )
            await cancel_tasks(stragglers, 1.0)

    async def _call_backends(self, method: str) -> None:
        """Await ``backend.<method>()`` on each distinct backend that has it (our own objects,
        never a client string). Failures on ``stop`` are logged, on ``start`` raised."""
        backends: list[object] = []
        for candidate in (self._state.data, self._state.broker):
            if candidate is not None and all(candidate is not b for b in backends):
                backends.append(candidate)
        if method == "stop":
            backends.reverse()
        for backend in backends:
            func = getattr(backend, method, None)
            if not callable(func):
                continue
            try:
                result = func()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                if method != "stop":
                    raise
                logger.exception("stopping backend %s failed", type(backend).__name__)


def _default_actions(state: ServerState, reliability: Reliability) -> Mapping[str, ActionSpec]:
    """The standard table from ``bullet_trade.server.handlers`` (imported lazily, so the I/O
    layer can be used and tested with any table)."""
    handlers = importlib.import_module("bullet_trade.server.handlers")
    build: Callable[[ServerState, Reliability], Mapping[str, ActionSpec]] = (
        handlers.build_action_table
    )
    return build(state, reliability)
