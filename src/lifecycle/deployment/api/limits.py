"""The limits of the API: every size a client controls is capped before work in proportion to
it starts. Each app (so each worker process) has its own `Limits`; the defaults are:

- max_body_bytes (1,000,000): a longer body gets 413. Reading stops at the cap, whether or not
  the length was declared.
- max_instances (1,000): more instances get 413. They are counted in the parsed JSON before any
  is validated, so a list of many small rows costs one `len`.
- body_seconds (30): a body still arriving after this long gets 408, so a stalled sender cannot
  keep its place in the queue.
- compute_slots (1): requests parsed, validated and predicted at once, in worker threads. The
  work holds the interpreter lock (two at once used one core between them, for no more
  throughput), and another slot would only slow the event loop; each uses one OpenMP thread.
  More throughput comes from more worker processes (`--workers`).
- max_waiting (32): requests beyond those computing that may be sending their body or waiting for
  a slot (a few seconds of single-row work); any more get 503 at once, with Retry-After. A
  waiting request whose client disconnects is dropped without being computed.
- max_errors_shown (100): a 422 lists at most this many errors, and `errors_not_shown` counts
  the rest; an answer lists at most this many warnings, and `warnings_not_shown` counts the rest.
- max_unknown_fields (1,000): distinct field names that are neither model inputs nor contract
  columns; more get 413. Each is compared with the inputs' names (about 50 µs), so a body of
  many made-up names cannot cost seconds.

/health and /metadata answer on the event loop, never queued behind /predict's work.
"""

from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.types import Receive

from lifecycle.core.errors import LifecycleError

MAX_BODY_BYTES = 1_000_000
MAX_INSTANCES = 1000
BODY_SECONDS = 30.0
COMPUTE_SLOTS = 1
MAX_WAITING = 32
MAX_ERRORS_SHOWN = 100
MAX_UNKNOWN_FIELDS = 1000


@dataclass(frozen=True)
class Limits:
    """The caps of one app; the module docstring says what each bounds, and why."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_instances: int = MAX_INSTANCES
    body_seconds: float = BODY_SECONDS
    compute_slots: int = COMPUTE_SLOTS
    max_waiting: int = MAX_WAITING
    max_errors_shown: int = MAX_ERRORS_SHOWN
    max_unknown_fields: int = MAX_UNKNOWN_FIELDS


class Admission:
    """Who is inside /predict: `slots` requests compute at once, and up to `waiting` more may be
    sending their body or waiting for a slot. Used from the event loop only, so no lock."""

    def __init__(self, slots: int, waiting: int) -> None:
        if slots < 1 or waiting < 0:
            raise LifecycleError(f"compute_slots {slots}, max_waiting {waiting}: give 1 or more "
                                 f"slots and 0 or more waiting places")
        self.slots = anyio.CapacityLimiter(slots)
        self.capacity = slots + waiting
        self.inside = 0

    def enter(self) -> bool:
        if self.inside >= self.capacity:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes: the rest is never read."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def take_slot(slots: anyio.CapacityLimiter, borrower: object, receive: Receive) -> bool:
    """Hold one of `slots` for `borrower`, in turn; False, holding none, if the client
    disconnects while waiting, so an abandoned request is never computed."""
    try:
        slots.acquire_on_behalf_of_nowait(borrower)
        return True
    except anyio.WouldBlock:
        pass
    held = False
    async with anyio.create_task_group() as group:
        group.start_soon(cancel_on_disconnect, receive, group.cancel_scope)
        await slots.acquire_on_behalf_of(borrower)  # gives up the place in line if cancelled
        held = True
        group.cancel_scope.cancel()  # stop watching: the request is computed now
    return held


async def cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    # The body has been read, so the next message is the disconnect, whenever it comes.
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
