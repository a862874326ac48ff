"""How a job's outcome follows its message: errors are classified, retries exhausted -> failed.

Transient (retried with exponential backoff by Dramatiq): TransientError, a lost or refused
database connection, network errors, 429 and 5xx from the API, a time limit hit. Everything
else is permanent: the job is marked failed with the error at once and the message is not
retried (`throws=PermanentError`). When a transient error outlives the actor's retries,
Dramatiq dead-letters the message and `JobOutcomes` marks the job failed with that error.
"""

from __future__ import annotations

import logging

import dramatiq
import psycopg
import redis
from dramatiq.middleware import Middleware, TimeLimitExceeded
from dramatiq.middleware.shutdown import Shutdown

from db import jobs
from db.connection import transaction
from workers.errors import PermanentError, TransientError

log = logging.getLogger(__name__)


def transient_types() -> tuple[type[BaseException], ...]:
    # openai (~0.4 s) only when the classification is asked for: a process that only sends
    # messages builds this module's middleware too.
    import openai  # noqa: PLC0415 - see the comment above

    return (
        TransientError,
        psycopg.OperationalError,
        psycopg.errors.SerializationFailure,
        psycopg.errors.DeadlockDetected,
        psycopg.errors.AdminShutdown,
        # the session limits (db/connection.py): a transaction left idle too long was ended
        psycopg.errors.IdleInTransactionSessionTimeout,
        openai.APIConnectionError,
        openai.APITimeoutError,
        openai.RateLimitError,
        openai.InternalServerError,
        redis.ConnectionError,
        redis.TimeoutError,
        ConnectionError,
        TimeoutError,
        TimeLimitExceeded,
        Shutdown,
        dramatiq.Retry,
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, transient_types()):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, (TransientError, PermanentError, dramatiq.Retry)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JobOutcomes(Middleware):
    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or isinstance(exception, PermanentError):
            return
        if not message.args:
            return

        retries = message.options.get("retries", 0)
        error = f"{describe(exception)} (gave up after {retries} attempts)"
        try:
            with transaction() as conn:
                jobs.fail(conn, message.args[0], error, {"dead_lettered": True}, unless_leased=True)
        except Exception:
            log.exception("could not mark job %s failed", message.args[0])
