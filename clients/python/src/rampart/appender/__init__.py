"""The buffered audit appender: ``AuditAppender`` (a thread, for ``Rampart``) and
``AsyncAuditAppender`` (a task, for ``AsyncRampart``), over one sans-IO core (``_core``: queue,
batching, spool bookkeeping, what each failure means) written once.

Design
------
* ``append(event)`` validates the required fields locally (``actor.type``, ``actor.id``,
  ``action``, ``resource.type``, ``status``), copies the event and queues it: it never waits for
  the network. The background sends the head of the queue as ``POST /v1/audit/entries
  {"events": [...]}`` (at most ``max_batch``), every ``flush_interval`` seconds or as soon as a
  batch is full; one batch at a time, so the log keeps the order of the appends.
* Spool. While the server is not usable (connection failure, 5xx, 429, 401/403, which no event
  can fix, and any 4xx other than 400/413/415/422: a wrong base URL's 404, 408, 409, 423...)
  the appender backs off and the queue is written to the spool file (one JSON line per event),
  and so is every new event until the spool is drained. Spooled events are on disk only: memory
  keeps their offsets, not the events (read back to send them: at most ``max_batch`` at a
  time). ``max_spool_bytes`` bounds it
  (and, without a spool file, the memory buffer): when full, ``append`` raises ``SpoolFull``;
  nothing is dropped silently. ``<spool>.state`` (replaced atomically) holds the last
  acknowledged position and a watermark (saved as soon as it is known while the spool holds
  events); the next appender with the same path replays what is left, in order.
* Durability (group commit). A spooled event is written at once (a crash of the process alone
  loses nothing) and fsynced by a syncer thread with the other events of the next
  ``spool_sync_interval`` (default 0.05 s): an event whose ``append`` returned is durable
  against a power loss within ``spool_sync_interval``, and when ``flush``/``aclose`` returns or
  raises. The state file is saved once per acknowledged batch, not per append.
* Files. The spool, ``.state``, ``.lock`` and ``.dead`` files hold whole events: they are created
  ``0600`` (an existing one readable by others is tightened, with a warning) and a directory the
  appender creates ``0700``. Loading a spool, a torn last line (a crash mid-write) is dropped
  with a warning; an unreadable line elsewhere does not cost the lines after it: they are kept,
  the file as found is moved to ``<spool>.corrupt-<UTC time>`` and the count of unreadable lines
  is logged as an error.
* Exactly once. The API has no idempotency key, and an append whose connection dropped after
  sending may or may not be in the log (a batch is all or nothing). So every event gets a client
  event id, kept by the server as part of the entry: ``details.rampart_event_id`` (the caller's
  own when it sets one; ``details`` must then be absent or an object), else ``context.request_id``
  when that is free. The watermark is a tree size taken before any send (``GET /v1/health``, then
  each append's ``tree_size``): every entry this appender writes later has a higher ``seq``; it is
  saved before any spooled event is sent. Before sending events whose earlier send is unknown (and
  what is replayed from a spool after a restart, unless its state shows that none of it was ever
  sent: a null watermark), the appender reads the log from the watermark (``GET
  /v1/audit/entries?from_seq=W``, needs ``audit:read``) and settles the ids it finds; only the
  others are sent (an unexpected exception while sending counts as such an unknown outcome). After
  a client-side timeout the server may still be committing the batch: the lookup then waits
  ``UNSURE_GRACE_SECONDS`` (35 s, past the server's default 30 s request timeout, after which a
  request has committed or never will). Limits: without ``audit:read`` (or when team isolation
  hides the entries) the lookup finds nothing and unsure events are sent again, with a warning; an
  event with no place for an id (``details`` not an object and ``context.request_id`` taken) is
  at-least-once.
* Dead letters. A batch refused as invalid (400, 413, 415, 422) is all refused: the events the
  field errors name (``events[i]...``) go to ``<spool>.dead`` (with the server's answer) and to
  the ``on_dead_letter`` callback as a ``DeadLetter`` (position, event id, action, status, field
  errors: never the event's content); the rest is sent again. A refusal naming no event halves
  the batch until the culprit is alone. The callback runs outside the appender's lock (it may
  call ``append`` or read ``pending``); an exception it raises is logged and ignored.
* Exit. ``close``/``aclose`` (and the context managers) first refuse new appends
  (``RuntimeError``), then flush everything accepted (up to ``timeout``), stop, and write
  whatever is still unsent to the spool, logging the count (without a spool file: how many are
  lost). The sync appender also closes at interpreter exit (``atexit``: up to 10 s, until the
  server is found unreachable; the async one only spools, its loop being gone). A process
  killed outright loses what was only in memory (at most ``flush_interval`` of events while the
  server is up): give the spool a path to keep the rest. The async appender used from a new
  event loop (a second ``asyncio.run``) starts a new task there once the old one has ended.
"""

from ._async import AsyncAuditAppender
from ._core import DeadLetter
from ._events import EVENT_ID_KEY, InvalidEvent
from ._spool import SpoolFull
from ._sync import AuditAppender

__all__ = [
    "EVENT_ID_KEY",
    "AsyncAuditAppender",
    "AuditAppender",
    "DeadLetter",
    "InvalidEvent",
    "SpoolFull",
]
