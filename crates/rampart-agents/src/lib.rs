//! Rampart's AI-agent governance (API.md "AI-agent governance"): guardrails per agent
//! principal, the decision on each action an agent proposes, approvals with separation of
//! duties and an M-of-N quorum, and single-use execution tokens (PASETO v4.public) bound to the
//! exact parameters of the action they allow.
//!
//! The decision is a pure function ([`decide`]): the guardrails, the role policy's answer, the
//! agent's use of its hourly cap and `now` go in, a [`Verdict`] comes out. Storage is the
//! [`AgentStore`] trait and the [`AgentChange`]s committed with their audit entries, both
//! implemented by `rampart-store`; notifications and the audit trail are the app layer's.
#![forbid(unsafe_code)]

mod action;
mod approval;
mod decision;
mod guardrails;
mod store;
mod token;

pub use action::{
    Action, ActionId, ActionRequest, ActionResult, Approval, ApprovalVerdict, BlastRadius,
    MAX_ACTION_NAME_LEN, ResultStatus, Status, Target, check_action_name, has_unsafe_integer,
};
pub use approval::{ApprovalRefusal, check_approver};
pub use decision::{Decision, Grant, Rule, Verdict, decide, hour_window_start, minute_of};
pub use guardrails::{Guardrails, GuardrailsDocument, Otherwise};
pub use rampart_document::{FieldError, Invalid};
pub use store::{ActionFilter, AgentChange, AgentStore};
pub use token::{EXECUTION_TOKEN_TTL, ExecutionClaims, TokenError, TokenSigner, parameters_sha256};
