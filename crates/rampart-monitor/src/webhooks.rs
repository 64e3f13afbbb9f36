//! The pure parts of webhooks, as the Standard Webhooks spec has them: event types, the
//! `whsec_` secret, the `webhook-signature` (`v1,<base64 HMAC-SHA256(secret,
//! id.timestamp.body)>`), the body, the retry schedule with jitter, and where a webhook may
//! go ([`validate_url`], [`is_forbidden_destination`]). Sending, DNS and sealing the secret
//! belong to the app layer; the outbox rows to the store.

mod destination;
mod signature;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use destination::{MAX_URL_LEN, WebhookUrl, is_forbidden_destination, validate_url};
pub use signature::{SecretError, WebhookSecret, event_body, sign, verify};

use crate::error::{FieldError, Invalid};

/// What a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// An alert was opened.
    #[serde(rename = "alert.opened")]
    AlertOpened,
    /// An incident was opened.
    #[serde(rename = "incident.opened")]
    IncidentOpened,
    /// An incident escalated.
    #[serde(rename = "incident.escalated")]
    IncidentEscalated,
    /// An incident was resolved.
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
    /// An agent's action awaits approval.
    #[serde(rename = "approval.requested")]
    ApprovalRequested,
    /// A data subject asked for erasure.
    #[serde(rename = "erasure.requested")]
    ErasureRequested,
    /// Records are due for disposal.
    #[serde(rename = "retention.due")]
    RetentionDue,
}

impl EventType {
    /// Every event type.
    pub const ALL: [Self; 7] = [
        Self::AlertOpened,
        Self::IncidentOpened,
        Self::IncidentEscalated,
        Self::IncidentResolved,
        Self::ApprovalRequested,
        Self::ErasureRequested,
        Self::RetentionDue,
    ];

    /// The wire name (`alert.opened`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlertOpened => "alert.opened",
            Self::IncidentOpened => "incident.opened",
            Self::IncidentEscalated => "incident.escalated",
            Self::IncidentResolved => "incident.resolved",
            Self::ApprovalRequested => "approval.requested",
            Self::ErasureRequested => "erasure.requested",
            Self::RetentionDue => "retention.due",
        }
    }

    /// Reads a wire name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When to try a failed delivery again: one delay per retry, after the first attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

/// Most retries a schedule may hold.
pub const MAX_RETRIES: usize = 16;
/// Longest delay of one retry: a day.
pub const MAX_RETRY_SECONDS: u32 = 86_400;

impl Default for RetrySchedule {
    /// The spec's (Svix's): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    fn default() -> Self {
        Self {
            delays: vec![
                Duration::seconds(5),
                Duration::minutes(5),
                Duration::minutes(30),
                Duration::hours(2),
                Duration::hours(5),
                Duration::hours(10),
                Duration::hours(10),
            ],
        }
    }
}

impl RetrySchedule {
    /// The `webhook_retry_seconds` setting: 0 to 16 delays of 1 to 86400 seconds (none: no
    /// retry).
    pub fn from_seconds(seconds: &[u32]) -> Result<Self, FieldError> {
        if seconds.len() > MAX_RETRIES
            || seconds.iter().any(|s| !(1..=MAX_RETRY_SECONDS).contains(s))
        {
            return Err(FieldError::new(
                "webhook_retry_seconds",
                format!("at most {MAX_RETRIES} delays of 1..={MAX_RETRY_SECONDS} seconds"),
            ));
        }
        Ok(Self {
            delays: seconds
                .iter()
                .map(|s| Duration::seconds(i64::from(*s)))
                .collect(),
        })
    }

    /// The delays, in order.
    #[must_use]
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Attempts a delivery gets in all: the first and one per delay.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// When to try again after `attempts` failed attempts (1 after the first), `None` when
    /// the schedule is spent (the delivery is `failed`). `random` (any value, from the app's
    /// random source) spreads the delay over ±10 % so receivers that came back are not hit by
    /// every retry at once.
    #[must_use]
    pub fn next_attempt(
        &self,
        attempts: u32,
        now: OffsetDateTime,
        random: u64,
    ) -> Option<OffsetDateTime> {
        let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
        let delay = *self.delays.get(index)?;
        Some(now + jittered(delay, random))
    }
}

/// `delay` scaled by a factor in 90..=110 % chosen by `random`, never under a second.
#[must_use]
pub fn jittered(delay: Duration, random: u64) -> Duration {
    let percent = 90 + i64::try_from(random % 21).unwrap_or(0);
    let millis = i64::try_from(delay.whole_milliseconds()).unwrap_or(i64::MAX / 110);
    Duration::milliseconds((millis.saturating_mul(percent) / 100).max(1000))
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id (chosen by the app layer).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// What it receives.
    pub events: Vec<EventType>,
    /// What it is for.
    pub description: String,
    /// The signing secret as sealed by the app layer (never the secret itself).
    pub sealed_secret: Vec<u8>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl Webhook {
    /// Whether it receives an event type.
    #[must_use]
    pub fn wants(&self, event: EventType) -> bool {
        self.events.contains(&event)
    }
}

/// One event for one webhook: an outbox row, written in the transaction that records the
/// event, sent (and re-sent) from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id, also the `webhook-id` header (the same on every attempt, so receivers can
    /// drop duplicates).
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event.
    pub event: EventType,
    /// The body, exactly as signed and sent ([`event_body`]).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's HTTP status (none: no answer, e.g. a timeout).
    pub last_status_code: Option<u16>,
    /// When to try (pending only).
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// How an attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered with this status.
    Answered(u16),
    /// No answer: refused destination, connection error or timeout (10 s).
    NoAnswer,
}

impl Delivery {
    /// A pending delivery, due at `now`.
    #[must_use]
    pub fn new(
        id: String,
        webhook_id: String,
        event: EventType,
        body: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            webhook_id,
            event,
            body,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            next_attempt_at: Some(now),
            created_at: now,
        }
    }

    /// Records an attempt: delivered on 2xx, else the next attempt by the schedule, or failed
    /// once it is spent.
    pub fn record_attempt(
        &mut self,
        outcome: AttemptOutcome,
        now: OffsetDateTime,
        schedule: &RetrySchedule,
        random: u64,
    ) {
        self.attempts = self.attempts.saturating_add(1);
        self.last_status_code = match outcome {
            AttemptOutcome::Answered(code) => Some(code),
            AttemptOutcome::NoAnswer => None,
        };
        if matches!(outcome, AttemptOutcome::Answered(200..=299)) {
            self.status = DeliveryStatus::Delivered;
            self.next_attempt_at = None;
            return;
        }
        self.next_attempt_at = schedule.next_attempt(self.attempts, now, random);
        self.status = if self.next_attempt_at.is_some() {
            DeliveryStatus::Pending
        } else {
            DeliveryStatus::Failed
        };
    }

    /// A replay on demand (`POST .../retry`): pending again, due at `now`, with a fresh
    /// schedule; the id (and so the receiver's deduplication key) stays.
    pub fn retry(&mut self, now: OffsetDateTime) {
        self.status = DeliveryStatus::Pending;
        self.attempts = 0;
        self.next_attempt_at = Some(now);
    }
}

/// `POST /v1/webhooks`' body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDocument {
    /// `https://...` (or `http://`).
    pub url: String,
    /// 1 to 7 distinct event types.
    pub events: Vec<String>,
    /// At most 500 characters.
    #[serde(default)]
    pub description: String,
}

impl WebhookDocument {
    /// Validates the body: the URL's shape (and address literal), the events, the
    /// description; every wrong field is reported.
    pub fn validate(
        &self,
        allow_private_networks: bool,
    ) -> Result<(WebhookUrl, Vec<EventType>), Invalid> {
        let mut errors = Vec::new();
        let url = validate_url(&self.url, allow_private_networks)
            .map_err(|e| errors.push(e))
            .ok();
        let mut events = Vec::with_capacity(self.events.len());
        if self.events.is_empty() || self.events.len() > EventType::ALL.len() {
            errors.push(FieldError::new("events", "must list 1 to 7 event types"));
        }
        for (index, name) in self.events.iter().enumerate() {
            match EventType::parse(name) {
                Some(event) if events.contains(&event) => {
                    errors.push(FieldError::new(
                        format!("events[{index}]"),
                        "duplicate event type",
                    ));
                }
                Some(event) => events.push(event),
                None => errors.push(FieldError::new(
                    format!("events[{index}]"),
                    "not an event type",
                )),
            }
        }
        if self.description.chars().count() > 500 || self.description.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                "description",
                "at most 500 characters on one line",
            ));
        }
        match url {
            Some(url) if errors.is_empty() => Ok((url, events)),
            _ => Err(Invalid::Fields(errors)),
        }
    }
}
