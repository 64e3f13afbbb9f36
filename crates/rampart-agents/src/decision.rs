//! The decision on an action: a pure function of the agent's guardrails, the role policy's
//! answer, the agent's use of its hourly cap and `now`.
//!
//! The order is API.md's, and a denial at any step is final (deny wins):
//! 1. no guardrails set for the agent: denied (an agent does nothing until governed);
//! 2. a forbidden action: denied, whatever the other lists say;
//! 3. the agent's roles must grant `actions:<action>`, with team isolation on the target's team;
//! 4. the hourly cap and the blast-radius limits: over either, denied;
//! 5. `require_approval`: pending approval; then `auto_approve`: allowed; then `otherwise`.
//!
//! The hourly cap is counted by the database in one-minute buckets: the current minute and the
//! sixty before it ([`hour_window_start`]), so the count covers every rolling hour and the cap
//! can never be exceeded within one (an action may be refused up to a minute early). The count
//! is checked again when the action is stored, in the same transaction, so the cap holds across
//! nodes and restarts.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::action::ActionRequest;
use crate::guardrails::{Guardrails, Otherwise};

/// The role policy's answer on `actions:<action>` for the agent, with team isolation applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Whether a role grants it.
    pub allowed: bool,
    /// The policy's reason.
    pub reason: String,
}

/// The answer to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Allowed at once, with an execution token.
    Allowed,
    /// Waiting for approval.
    PendingApproval,
    /// Refused.
    Denied,
}

impl Decision {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::PendingApproval => "pending_approval",
            Self::Denied => "denied",
        }
    }
}

/// Which step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// No guardrails are set for the agent.
    NoGuardrails,
    /// The action is forbidden.
    Forbidden,
    /// No role of the agent grants the action (or team isolation refused it).
    Permission,
    /// The hourly cap is reached.
    HourlyCap,
    /// The declared blast radius is over a limit.
    BlastRadius,
    /// The action needs approval.
    RequireApproval,
    /// The action is approved automatically.
    AutoApprove,
    /// No list names the action; `otherwise` decided.
    Otherwise,
}

impl Rule {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoGuardrails => "no_guardrails",
            Self::Forbidden => "forbidden",
            Self::Permission => "permission",
            Self::HourlyCap => "hourly_cap",
            Self::BlastRadius => "blast_radius",
            Self::RequireApproval => "require_approval",
            Self::AutoApprove => "auto_approve",
            Self::Otherwise => "otherwise",
        }
    }
}

/// What [`decide`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The answer.
    pub decision: Decision,
    /// Which step decided.
    pub rule: Rule,
    /// Why, in words.
    pub reason: String,
    /// The hourly cap the store must check when it records the action (`None`: no cap, or the
    /// action is denied and does not count).
    pub cap: Option<u64>,
    /// Approvers needed (pending actions).
    pub approvals_required: u32,
    /// When a pending action expires.
    pub expires_at: Option<OffsetDateTime>,
}

/// The minute `at` falls in (minutes since the epoch): the hourly cap's bucket.
pub fn minute_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(60)
}

/// The first minute bucket counted toward the hourly cap at `now`: sixty before the current one.
pub fn hour_window_start(now: OffsetDateTime) -> i64 {
    minute_of(now) - 60
}

/// Decides `request` (already checked) for an agent with `guardrails`; see the module
/// documentation for the order. `used_this_hour` is the agent's count in the cap's window when
/// known; `None` leaves the cap to the store, which checks [`Verdict::cap`] when it records the
/// action (and the caller decides again with the count when it refuses).
pub fn decide(
    guardrails: Option<&Guardrails>,
    request: &ActionRequest,
    grant: &Grant,
    used_this_hour: Option<u64>,
    now: OffsetDateTime,
) -> Verdict {
    let deny = |rule: Rule, reason: String| Verdict {
        decision: Decision::Denied,
        rule,
        reason,
        cap: None,
        approvals_required: 0,
        expires_at: None,
    };
    let action = request.action.as_str();
    let Some(g) = guardrails else {
        return deny(
            Rule::NoGuardrails,
            "no guardrails are set for this agent: every action is denied until they are".into(),
        );
    };
    if g.forbidden_actions.iter().any(|a| a == action) {
        return deny(
            Rule::Forbidden,
            format!("'{action}' is forbidden by the agent's guardrails"),
        );
    }
    if !grant.allowed {
        return deny(Rule::Permission, grant.reason.clone());
    }
    if let (Some(cap), Some(used)) = (g.max_actions_per_hour, used_this_hour)
        && used >= cap
    {
        return deny(
            Rule::HourlyCap,
            format!("the agent has reached its cap of {cap} actions per hour"),
        );
    }
    for (dimension, limit) in &g.max_blast_radius {
        let declared = request.blast_radius.get(dimension).copied().unwrap_or(0.0);
        if declared > *limit {
            return deny(
                Rule::BlastRadius,
                format!("the blast radius {dimension} = {declared} is over the limit of {limit}"),
            );
        }
    }
    let pending = |rule: Rule, reason: String| Verdict {
        decision: Decision::PendingApproval,
        rule,
        reason,
        cap: g.max_actions_per_hour,
        approvals_required: g.approvals_required,
        expires_at: Some(now + seconds(g.approval_timeout_seconds)),
    };
    if g.require_approval.iter().any(|a| a == action) {
        return pending(
            Rule::RequireApproval,
            format!(
                "'{action}' requires approval by {} approver(s)",
                g.approvals_required
            ),
        );
    }
    if g.auto_approve.iter().any(|a| a == action) {
        return Verdict {
            decision: Decision::Allowed,
            rule: Rule::AutoApprove,
            reason: format!("'{action}' is approved automatically"),
            cap: g.max_actions_per_hour,
            approvals_required: 0,
            expires_at: None,
        };
    }
    match g.otherwise {
        Otherwise::Deny => deny(
            Rule::Otherwise,
            format!("no guardrail list names '{action}' and otherwise is deny"),
        ),
        Otherwise::RequireApproval => pending(
            Rule::Otherwise,
            format!(
                "no guardrail list names '{action}': it requires approval by {} approver(s)",
                g.approvals_required
            ),
        ),
    }
}

fn seconds(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
