"""The appender's events: local validation of the required fields, the client event id each
event carries (to find it in the log) and reading it back from an entry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

#: Where the client event id goes: ``details[EVENT_ID_KEY]`` (or ``context.request_id``).
EVENT_ID_KEY = "rampart_event_id"
ACTOR_TYPES = frozenset({"user", "service", "ai_agent", "device", "system"})
STATUSES = frozenset({"success", "failure", "denied"})


class InvalidEvent(ValueError):
    """An event lacks a required field (``actor.type``, ``actor.id``, ``action``,
    ``resource.type``, ``status``) or is not JSON: refused by ``append``, nothing sent."""


def validate(event: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """A private deep copy of ``event`` once its required fields are checked, and its size."""
    if not isinstance(event, Mapping):
        raise InvalidEvent("an audit event is a mapping (a JSON object)")
    actor, resource = event.get("actor"), event.get("resource")
    problems = []
    if not isinstance(actor, Mapping) or actor.get("type") not in ACTOR_TYPES:
        problems.append(f"actor.type: one of {', '.join(sorted(ACTOR_TYPES))}")
    if not isinstance(actor, Mapping) or not isinstance(actor.get("id"), str) or not actor["id"]:
        problems.append("actor.id: a non-empty string")
    if not isinstance(event.get("action"), str) or not event["action"]:
        problems.append("action: a non-empty string")
    if not isinstance(resource, Mapping) or not isinstance(resource.get("type"), str):
        problems.append("resource.type: a string")
    if event.get("status") not in STATUSES:
        problems.append(f"status: one of {', '.join(sorted(STATUSES))}")
    if problems:
        raise InvalidEvent("invalid audit event: " + "; ".join(problems))
    try:
        text = json.dumps(event)
        return dict(json.loads(text)), len(text)
    except (TypeError, ValueError) as e:
        raise InvalidEvent(f"an audit event must be JSON: {e}") from None


def stamp(event: dict[str, Any]) -> str | None:
    """Gives ``event`` a client event id to find it by in the log, and returns it: the caller's
    own ``details.rampart_event_id`` when set, else a new UUID4 there (``details`` absent or an
    object), else ``context.request_id`` when free. ``None``: nowhere to put one."""
    details = event.get("details")
    if details is None or isinstance(details, dict):
        details = dict(details or {})
        given = details.get(EVENT_ID_KEY)
        event_id = given if isinstance(given, str) and given else str(uuid.uuid4())
        details[EVENT_ID_KEY] = event_id
        event["details"] = details
        return event_id
    context = event.get("context")
    if context is None or (isinstance(context, dict) and not context.get("request_id")):
        event_id = f"rampart-{uuid.uuid4()}"
        event["context"] = {**(context or {}), "request_id": event_id}
        return event_id
    return None


def event_id_of(entry: Mapping[str, Any]) -> str | None:
    """The client event id an entry of the log carries, if any."""
    details = entry.get("details")
    if isinstance(details, dict) and isinstance(details.get(EVENT_ID_KEY), str):
        return str(details[EVENT_ID_KEY])
    context = entry.get("context")
    if isinstance(context, dict) and isinstance(context.get("request_id"), str):
        return str(context["request_id"])
    return None
