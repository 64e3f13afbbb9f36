# Generated from _async/webhooks.py by scripts/unasync.py: edit that file, not this one.
"""Webhooks: signed notifications (Standard Webhooks) of alerts, incidents, approvals, ..."""

from __future__ import annotations

from collections.abc import Sequence

from .. import _paths
from ..models.monitoring import CreatedWebhook, Delivery, Webhook, WebhookEvent, WebhookRequest
from ._core import Core


class Webhooks:
    """Webhooks and their deliveries (``security:manage``)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def create(
        self, *, url: str, events: Sequence[WebhookEvent], description: str | None = None
    ) -> CreatedWebhook:
        """Registers a webhook; the answer's ``secret`` (shown this once) never prints: read it
        with ``secret.get_secret_value()``. URLs resolving to private addresses are refused."""
        body = WebhookRequest(url=url, events=list(events), description=description)
        return CreatedWebhook.model_validate(
            self._core.request("POST", "/v1/webhooks", json=body.body())
        )

    def get(self, webhook_id: str) -> Webhook:
        """One webhook; ``NotFound`` if there is none."""
        return Webhook.model_validate(
            self._core.request("GET", _paths.path("/v1/webhooks/{}", webhook_id))
        )

    def delete(self, webhook_id: str) -> None:
        """Removes a webhook and its pending deliveries."""
        self._core.request("DELETE", _paths.path("/v1/webhooks/{}", webhook_id))

    def deliveries(self, webhook_id: str) -> list[Delivery]:
        """A webhook's deliveries, newest first."""
        answer = self._core.request("GET", _paths.path("/v1/webhooks/{}/deliveries", webhook_id))
        return [Delivery.model_validate(d) for d in answer["items"]]

    def retry(self, webhook_id: str, delivery_id: str) -> Delivery:
        """Sends a delivery again, its attempts starting over; returns it queued."""
        path = _paths.path("/v1/webhooks/{}/deliveries/{}/retry", webhook_id, delivery_id)
        return Delivery.model_validate(self._core.request("POST", path))

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first (never their secrets)."""
        answer = self._core.request("GET", "/v1/webhooks")
        return [Webhook.model_validate(w) for w in answer["items"]]
