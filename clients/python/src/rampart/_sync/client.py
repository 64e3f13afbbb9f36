# Generated from _async/client.py by scripts/unasync.py: edit that file, not this one.
"""``Rampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

from typing import Any, Self

import httpx

from ._core import Core
from .agents import Agents
from .alerts import Alerts
from .api_keys import ApiKeys
from .audit import Audit
from .auth import Auth
from .cards import Cards
from .compliance import Compliance
from .detection_rules import DetectionRules
from .documents import Documents
from .incidents import Incidents
from .keys import Keys
from .policy import RolePolicy
from .principals import Principals
from .privacy import Privacy
from .retention import Retention
from .silences import Silences
from .subjects import Subjects
from .threat import Threat
from .webhooks import Webhooks

# The credential of a client made by ``login`` until its session replaces it (never sent:
# the login itself is anonymous).
_BEFORE_LOGIN = "rampart-login-pending"


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
        self._options: dict[str, Any] = {
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "transport": transport,
            "audit_public_key": audit_public_key,
        }
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
        #: Logins, sessions, introspection and authorization decisions.
        self.auth = Auth(self)
        #: Principals and their second factor.
        self.principals = Principals(self)
        #: API keys.
        self.api_keys = ApiKeys(self)
        #: The role policy.
        self.policy = RolePolicy(self)
        #: Redaction and detection of personal data and secrets.
        self.privacy = Privacy(self)

    @classmethod
    def login(
        cls,
        base_url: str,
        name: str,
        password: str,
        totp: str | None = None,
        **options: Any,
    ) -> Self:
        """Logs in and returns a client whose credential is the new session (``options``: the
        constructor's ``timeout``, ``retries``, ...). End the session with
        ``client.auth.logout()``; close the client as any other."""
        client = cls(base_url, _BEFORE_LOGIN, **options)
        try:
            session = client.auth.login(name, password, totp)
        except BaseException:
            client.close()
            raise
        client._token = type(client._token)(session.token.get_secret_value())
        return client

    def with_token(self, token: str) -> Self:
        """A new client of the same server and settings using ``token`` (an API key or a session
        token, e.g. a login's). It has its own connections: close it too."""
        return type(self)(self.base_url, token, **self._options)
