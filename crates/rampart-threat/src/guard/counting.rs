//! The rules in force arranged for counting, and the tally of one request's answers.

use std::sync::Arc;

use super::{Counted, Limits};
use crate::limiter::{Decision, Limiter, Quota, RuleId};
use crate::rules::{Rule, RuleKey, RuleSet, Subject};

/// A rule ready for counting: shareable by the answers that name it, with its position in the
/// set and its bucket identity.
#[derive(Debug)]
pub(super) struct Counting {
    pub(super) rule: Arc<Rule>,
    pub(super) index: usize,
    pub(super) id: RuleId,
    pub(super) quota: Quota,
}

/// The rules in force, arranged for counting: shared rules in order, per-node rules by key kind
/// (one limiter lookup per kind).
#[derive(Debug, Default)]
pub(super) struct Compiled {
    pub(super) shared: Vec<Counting>,
    pub(super) per_node: [Vec<Counting>; 4],
}

impl Compiled {
    pub(super) fn new(rules: &RuleSet, limiter: &Limiter) -> Self {
        let mut compiled = Self::default();
        for (index, rule) in rules.rules().iter().enumerate() {
            let counting = Counting {
                rule: Arc::new(rule.clone()),
                index,
                id: limiter.rule_id(rule.name()),
                quota: Quota::of(rule),
            };
            if rule.shared() {
                compiled.shared.push(counting);
            } else if let Some(group) = compiled.per_node.get_mut(kind_index(rule.key())) {
                group.push(counting);
            }
        }
        compiled
    }
}

/// The key kinds, in [`Compiled::per_node`]'s order.
pub(super) const KINDS: [RuleKey; 4] = [
    RuleKey::Ip,
    RuleKey::Principal,
    RuleKey::Credential,
    RuleKey::Global,
];

fn kind_index(kind: RuleKey) -> usize {
    match kind {
        RuleKey::Ip => 0,
        RuleKey::Principal => 1,
        RuleKey::Credential => 2,
        RuleKey::Global => 3,
    }
}

/// How to tell whether a refusal is the first of its bucket and rule in the rule's window.
#[derive(Debug, Clone, Copy)]
pub(super) enum Report {
    /// A per-node rule's: asked of this node's memory once the tally is done.
    PerNode(Subject),
    /// A shared rule's: storage told.
    Known(bool),
}

/// The answers of one request's count, borrowing the rules until [`Tally::finish`].
#[derive(Default)]
pub(super) struct Tally<'a> {
    refused: Option<(&'a Counting, Decision, Report)>,
    closest: Option<(&'a Counting, Decision)>,
    counted: usize,
}

impl<'a> Tally<'a> {
    pub(super) fn add(&mut self, c: &'a Counting, decision: Decision, report: Report) {
        self.counted += 1;
        if !decision.allowed {
            if self.refused.is_none_or(|(r, _, _)| c.index < r.index) {
                self.refused = Some((c, decision, report));
            }
            return;
        }
        // The least share of its quota left (`remaining / limit`), the first among equals.
        let closer = self.closest.is_none_or(|(o, other)| {
            let mine = u64::from(decision.remaining) * u64::from(other.limit.max(1));
            let theirs = u64::from(other.remaining) * u64::from(decision.limit.max(1));
            mine < theirs || (mine == theirs && c.index < o.index)
        });
        if closer {
            self.closest = Some((c, decision));
        }
    }

    /// The answers; `first_report` settles whether a per-node refusal is audited.
    pub(super) fn finish(self, first_report: impl FnOnce(&Rule, Subject) -> bool) -> Limits {
        let refused = self.refused.map(|(c, decision, report)| Counted {
            rule: Arc::clone(&c.rule),
            index: c.index,
            decision,
            first_refusal: match report {
                Report::PerNode(subject) => first_report(&c.rule, subject),
                Report::Known(first) => first,
            },
        });
        let closest = match refused {
            Some(_) => None,
            None => self.closest.map(|(c, decision)| Counted {
                rule: Arc::clone(&c.rule),
                index: c.index,
                decision,
                first_refusal: false,
            }),
        };
        Limits::new(refused, closest, self.counted)
    }
}
