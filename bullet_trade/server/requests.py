"""The requests of one session: one task each, the reply, the audit and the access log.

Contract (:class:`RequestRunner`):

* each request runs in a task of its own, so a slow request never delays another request
  or a ping (replies carry ids and may leave out of order);
* every request produces exactly one reply, queued on the session's outbox, except that a
  successful request without a (truthy) id gets none (v1); its errors are still sent;
* the per-request timeout is enforced by the dispatcher
  (:class:`~bullet_trade.server.deadline.Deadline`, one timer, no extra task);
* :attr:`RequestRunner.running` holds the unfinished tasks (the session cancels them on
  close and stops reading while too many run).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bullet_trade.server.context import RequestContext, ServerState, SessionHandle
from bullet_trade.server.dispatch import Dispatcher, log_access
from bullet_trade.server.outbox import Outbox
from bullet_trade.server.security.audit import AuditLog, audit_request
from bullet_trade.server.security.guard import SessionGuard
from bullet_trade.wire.messages import ErrorMessage, Request

logger = logging.getLogger("bullet_trade.server")


class RequestRunner:
    """Starts and finishes the requests of one session.

    Args:
        state: process-wide services.
        dispatcher: the action table router.
        session: the handle handlers see.
        outbox: where replies go.
        guard: the session's token grant.
        audit: the audit log.
        is_open: tells whether the session is still open (a reply the closing outbox
            refused is then not an error).
    """

    def __init__(
        self,
        *,
        state: ServerState,
        dispatcher: Dispatcher,
        session: SessionHandle,
        outbox: Outbox,
        guard: SessionGuard,
        audit: AuditLog,
        is_open: Callable[[], bool],
    ) -> None:
        self._state = state
        self._dispatcher = dispatcher
        self._session = session
        self._outbox = outbox
        self._guard = guard
        self._audit = audit
        self._is_open = is_open
        self._access_log = state.config.access_log
        self.running: set[asyncio.Task[None]] = set()

    def start(self, request: Request) -> None:
        """Run ``request`` in a new task (returns at once)."""
        name = f"request {self._session.session_id} {request.action[:40]}"
        task = asyncio.get_running_loop().create_task(self._run(request), name=name)
        self.running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s failed", task.get_name(), exc_info=task.exception())

    async def _run(self, request: Request) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        ctx = RequestContext(
            state=self._state,
            session=self._session,
            request_id=request.id,
            action=request.action,
            grant=self._guard.grant,
        )
        reply, status = await self._dispatcher.execute(ctx, request.payload)
        audit_request(self._audit, ctx, request.payload, reply, status)
        # v1: a request without a (truthy) id gets no response; its errors are still sent
        wanted = isinstance(reply, ErrorMessage) or bool(request.id)
        if wanted and not self._outbox.send(reply) and self._is_open():
            status = "error:INTERNAL"
        if self._access_log:
            log_access(
                peer=self._session.peer,
                session_id=self._session.session_id,
                ctx=ctx,
                status=status,
                duration=loop.time() - started,
            )
