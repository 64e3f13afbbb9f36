"""Security monitoring's models: detection rules, alerts, silences, webhooks, incidents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, SecretStr

from .. import merkle, note, signed
from ._base import Model, Request
from .audit import Checkpoint

Severity = Literal["low", "medium", "high", "critical"]


class DetectionRule(Request):
    """One detection rule to set: it fires when ``threshold`` entries matching ``match`` of one
    ``group_by`` group fall within ``window_seconds``."""

    name: str = Field(min_length=1)
    match: dict[str, Any]
    group_by: list[str] = Field(default_factory=list)
    threshold: int = Field(default=1, ge=1)
    window_seconds: int = Field(default=300, ge=1)
    severity: Severity = "medium"
    open_incident: bool = False
    enabled: bool = True


class DetectionRulesUpdate(Request):
    """``PUT /v1/detection-rules``'s body; ``version`` refuses the change (409) when someone
    changed the rules since it was read."""

    rules: list[DetectionRule]
    version: int | None = None


class DetectionRuleSet(Model):
    """The detection rules in force, their ``source`` and ``version``."""

    rules: list[dict[str, Any]]
    source: str
    version: int | None = None


class Alert(Model):
    """An alert: a rule fired for a group; further matches raise ``count`` while it is open."""

    id: str
    rule: str
    severity: str
    group: dict[str, Any]
    status: str
    count: int
    first_seen_at: str
    last_seen_at: str
    entry_seqs: list[int]
    incident_id: str | None = None


class ResolveAlert(Request):
    """``POST /v1/alerts/{id}/resolve``'s body."""

    note: str | None = Field(default=None, max_length=2000)


class SilenceRequest(Request):
    """``POST /v1/silences``'s body."""

    rule: str = Field(min_length=1)
    until: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    group: dict[str, Any] | None = None


class Silence(Model):
    """A silence: alerts of ``rule`` (and ``group``) are recorded but not notified."""

    id: str
    rule: str
    until: str
    group: dict[str, Any] | None = None
    reason: str | None = None


WebhookEvent = Literal[
    "alert.opened",
    "incident.opened",
    "incident.escalated",
    "incident.resolved",
    "approval.requested",
    "erasure.requested",
    "retention.due",
]


class WebhookRequest(Request):
    """``POST /v1/webhooks``'s body."""

    url: str = Field(min_length=1)
    events: list[WebhookEvent] = Field(min_length=1)
    description: str | None = None


class Webhook(Model):
    """A registered webhook (never its secret)."""

    id: str
    url: str
    events: list[str]
    description: str | None = None


class CreatedWebhook(Webhook):
    """A webhook just registered, with its signing secret (shown once, never printed: read it
    with ``secret.get_secret_value()``)."""

    secret: SecretStr


class Delivery(Model):
    """One delivery of an event to a webhook; its ``id`` is the ``webhook-id`` header sent."""

    id: str
    event: str
    status: str
    attempts: int
    last_status_code: int | None = None
    next_attempt_at: str | None = None


class IncidentRequest(Request):
    """``POST /v1/incidents``'s body."""

    title: str = Field(min_length=1)
    severity: Severity
    description: str | None = None
    alert_ids: list[str] | None = None
    personal_data_breach: bool | None = None


class TimelineRequest(Request):
    """``POST /v1/incidents/{id}/timeline``'s body."""

    kind: Literal["note", "action"]
    text: str = Field(min_length=1)


class ResolveIncident(Request):
    """``POST /v1/incidents/{id}/resolve``'s body."""

    resolution: str = Field(min_length=1)


class TimelineEntry(Model):
    """One line of an incident's timeline."""

    at: str
    actor: str
    kind: str
    text: str


class Incident(Model):
    """An incident (``INC-YYYYMMDD-NNNN``) with its timeline."""

    id: str
    title: str
    severity: str
    status: str
    created_at: str
    acknowledged_at: str | None = None
    resolved_at: str | None = None
    escalation_level: int = 0
    next_escalation_at: str | None = None
    notification_deadline_at: str | None = None
    alert_ids: list[str] = Field(default_factory=list)
    entry_seqs: list[int] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)


class EvidenceProof(Model):
    """An entry's audit path in the evidence's checkpoint tree (hashes in hex)."""

    tree_size: int
    hashes: list[str]


class EvidenceEntry(Model):
    """One audit entry of an incident: the entry (what you read), its canonical (RFC 8785) text
    (the leaf's exact input), leaf hash and inclusion proof."""

    seq: int
    entry: dict[str, Any]
    canonical: str
    leaf_hash: str
    proof: EvidenceProof

    def verifies(self, checkpoint: Checkpoint) -> bool:
        """Whether this is entry ``seq`` of ``checkpoint``'s tree, checked here: ``entry`` is
        entry ``seq`` and its RFC 8785 form is ``canonical`` byte for byte (so what you read is
        what was hashed), that hashes to ``leaf_hash``, and the proof (for the checkpoint's
        tree size) puts that leaf under the checkpoint's root (RFC 9162). The checkpoint's
        signature is not checked here (``IncidentEvidence.verify`` does, given a key)."""
        seq = self.entry.get("seq")
        if seq != self.seq or isinstance(seq, bool) or self.proof.tree_size != checkpoint.tree_size:
            return False
        try:
            if signed.canonical(self.entry) != self.canonical.encode():
                return False
        except signed.JSONError:
            return False
        leaf = merkle.leaf_hash(self.canonical.encode())
        try:
            return leaf.hex() == self.leaf_hash and merkle.verify_inclusion(
                self.seq,
                checkpoint.tree_size,
                leaf,
                [bytes.fromhex(h) for h in self.proof.hashes],
                bytes.fromhex(checkpoint.root_hash),
            )
        except ValueError:
            return False


class IncidentEvidence(Model):
    """An incident's audit entries with inclusion proofs against one signed checkpoint
    (``GET /v1/incidents/{id}/evidence``); entries pruned under retention are listed apart in
    ``pruned_entries`` (``seq``, ``leaf_hash``, ``pruned_at``, ``certificate_id``), their
    content gone."""

    incident_id: str
    checkpoint: Checkpoint
    entries: list[EvidenceEntry]
    pruned_entries: list[dict[str, Any]] = Field(default_factory=list)

    def verify(
        self,
        expected_seqs: Iterable[int] | None = None,
        public_key: str | None = None,
        *,
        allow_pruned: bool = False,
    ) -> bool:
        """Whether the evidence proves the incident's entries, checked locally: every entry
        ``verifies`` against the checkpoint, no seq twice, and

        - ``expected_seqs`` (pass the incident's ``entry_seqs``, or its alerts'): every one of
          them is among the entries and no other entry is; a seq only listed as pruned counts
          only with ``allow_pruned`` (its content is gone, nothing of it is proved). Without
          ``expected_seqs``, evidence with no entry proves nothing and is not verified; and
          entries the server left out go unnoticed, so pass them.
        - ``public_key`` (the log's key, pinned in your configuration): the checkpoint's signed
          note verifies with it and says the checkpoint's size and root. WITHOUT IT THE
          CHECKPOINT'S SIGNATURE IS NOT CHECKED: the entries are then only proved consistent
          with a root the server chose."""
        if public_key is not None and not _signed_by(self.checkpoint, public_key):
            return False
        seqs = [e.seq for e in self.entries]
        if len(set(seqs)) != len(seqs):
            return False
        if not all(e.verifies(self.checkpoint) for e in self.entries):
            return False
        if expected_seqs is None:
            return bool(self.entries)
        expected = set(expected_seqs)
        pruned = {p.get("seq") for p in self.pruned_entries} if allow_pruned else set()
        return set(seqs) <= expected and expected <= set(seqs) | pruned


def _signed_by(checkpoint: Checkpoint, public_key: str) -> bool:
    try:
        signed_note = note.verify_note(checkpoint.note, public_key)
    except note.NoteError:
        return False
    return (
        signed_note.tree_size == checkpoint.tree_size
        and signed_note.root_hash.hex() == checkpoint.root_hash
        and signed_note.origin == checkpoint.origin
    )
