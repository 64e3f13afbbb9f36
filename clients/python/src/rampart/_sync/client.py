# Generated from _async/client.py by scripts/unasync.py: edit that file, not this one.
"""``Rampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

import httpx

from ._core import Core
from .agents import Agents
from .alerts import Alerts
from .audit import Audit
from .cards import Cards
from .compliance import Compliance
from .detection_rules import DetectionRules
from .documents import Documents
from .incidents import Incidents
from .keys import Keys
from .retention import Retention
from .silences import Silences
from .subjects import Subjects
from .threat import Threat
from .webhooks import Webhooks


class Rampart(Core):
    """A client of one Rampart server. Reuses its connections; close it
    (or use ``with``). Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose
    connection failed, are retried up to ``retries`` times, waiting for ``Retry-After`` or
    backing off exponentially. The token never appears in ``repr``, errors or logs.
    ``audit_public_key`` pins the audit log's key for signature checks.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        audit_public_key: str | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, retries=retries, backoff=backoff, transport=transport
        )
        #: The tamper-evident audit log.
        self.audit = Audit(self, audit_public_key)
        #: Named keys and encryption.
        self.keys = Keys(self)
        #: Field-level encryption of JSON documents.
        self.documents = Documents(self)
        #: The card vault.
        self.cards = Cards(self)
        #: Rate limits, address rules and blocks.
        self.threat = Threat(self)
        #: Detection rules over the audit log.
        self.detection_rules = DetectionRules(self)
        #: Alerts the detection rules raise.
        self.alerts = Alerts(self)
        #: Silences of alert notifications.
        self.silences = Silences(self)
        #: Signed notifications of alerts, incidents, approvals, erasures, retention.
        self.webhooks = Webhooks(self)
        #: Incidents, their timelines and evidence.
        self.incidents = Incidents(self)
        #: Data subjects (GDPR): consents, exports, erasure.
        self.subjects = Subjects(self)
        #: Retention policies, disposal runs and legal holds.
        self.retention = Retention(self)
        #: AI-agent governance.
        self.agents = Agents(self)
        #: Compliance reports, evidence packages, waivers.
        self.compliance = Compliance(self)
