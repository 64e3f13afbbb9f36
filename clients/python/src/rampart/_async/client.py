"""``AsyncRampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

from typing import Any, Self

import httpx

from ._core import AsyncCore
from .agents import AsyncAgents
from .alerts import AsyncAlerts
from .api_keys import AsyncApiKeys
from .audit import AsyncAudit
from .auth import AsyncAuth
from .cards import AsyncCards
from .compliance import AsyncCompliance
from .detection_rules import AsyncDetectionRules
from .documents import AsyncDocuments
from .incidents import AsyncIncidents
from .keys import AsyncKeys
from .policy import AsyncRolePolicy
from .principals import AsyncPrincipals
from .privacy import AsyncPrivacy
from .retention import AsyncRetention
from .silences import AsyncSilences
from .subjects import AsyncSubjects
from .threat import AsyncThreat
from .webhooks import AsyncWebhooks

# The credential of a client made by ``login`` until its session replaces it (never sent:
# the login itself is anonymous).
_BEFORE_LOGIN = "rampart-login-pending"


class AsyncRampart(AsyncCore):
    """A client of one Rampart server, every call awaited. Reuses its connections; close it
    (or use ``async with``). Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self.audit = AsyncAudit(self, audit_public_key)
        #: Named keys and encryption.
        self.keys = AsyncKeys(self)
        #: Field-level encryption of JSON documents.
        self.documents = AsyncDocuments(self)
        #: The card vault.
        self.cards = AsyncCards(self)
        #: Rate limits, address rules and blocks.
        self.threat = AsyncThreat(self)
        #: Detection rules over the audit log.
        self.detection_rules = AsyncDetectionRules(self)
        #: Alerts the detection rules raise.
        self.alerts = AsyncAlerts(self)
        #: Silences of alert notifications.
        self.silences = AsyncSilences(self)
        #: Signed notifications of alerts, incidents, approvals, erasures, retention.
        self.webhooks = AsyncWebhooks(self)
        #: Incidents, their timelines and evidence.
        self.incidents = AsyncIncidents(self)
        #: Data subjects (GDPR): consents, exports, erasure.
        self.subjects = AsyncSubjects(self)
        #: Retention policies, disposal runs and legal holds.
        self.retention = AsyncRetention(self)
        #: AI-agent governance.
        self.agents = AsyncAgents(self)
        #: Compliance reports, evidence packages, waivers.
        self.compliance = AsyncCompliance(self)
        #: Logins, sessions, introspection and authorization decisions.
        self.auth = AsyncAuth(self)
        #: Principals and their second factor.
        self.principals = AsyncPrincipals(self)
        #: API keys.
        self.api_keys = AsyncApiKeys(self)
        #: The role policy.
        self.policy = AsyncRolePolicy(self)
        #: Redaction and detection of personal data and secrets.
        self.privacy = AsyncPrivacy(self)

    @classmethod
    async def login(
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
            session = await client.auth.login(name, password, totp)
        except BaseException:
            await client.aclose()
            raise
        client._token = type(client._token)(session.token.get_secret_value())
        return client

    def with_token(self, token: str) -> Self:
        """A new client of the same server and settings using ``token`` (an API key or a session
        token, e.g. a login's). It has its own connections: close it too."""
        return type(self)(self.base_url, token, **self._options)
