//! Key management: where the master key lives, and named keys within their cryptoperiod.

use super::{clauses, counted, each_of, fail, judge, manual, names, not_applicable, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// The master key (the key-encrypting key) is supplied from outside the data directory and the
/// database it protects; a key file next to the data fails.
pub(crate) fn master_key_separated(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::MASTER_KEY_SOURCE], |read| {
        let source = read.text(catalog::MASTER_KEY_SOURCE)?;
        match source {
            "env" | "environment" | "credentials" => pass(format!(
                "the master key is supplied from outside the data directory and database ({source})"
            )),
            "file" => fail(
                "the master key is a file in the data directory, stored next to the data it protects",
            ),
            other => manual(format!(
                "the master key comes from \"{other}\": check that it is stored apart from the \
                 data it protects"
            )),
        }
    })
}

/// Every named key has a rotation period and is within it; not applicable without named keys.
pub(crate) fn keys_within_rotation(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::KEYS_TOTAL,
            catalog::KEYS_PAST_ROTATION,
            catalog::KEYS_WITHOUT_ROTATION_PERIOD,
        ],
        |read| {
            let total = read.count(catalog::KEYS_TOTAL)?;
            let past = read.names(catalog::KEYS_PAST_ROTATION)?;
            let without = read.names(catalog::KEYS_WITHOUT_ROTATION_PERIOD)?;
            let mut problems = Vec::new();
            if !past.is_empty() {
                problems.push(format!(
                    "{} past {} rotation period: {}",
                    counted(past.len(), "key is", "keys are"),
                    if past.len() == 1 { "its" } else { "their" },
                    names(&past)
                ));
            }
            if !without.is_empty() {
                problems.push(format!(
                    "{} no rotation period: {}",
                    counted(without.len(), "key has", "keys have"),
                    names(&without)
                ));
            }
            if !problems.is_empty() {
                return fail(clauses(&problems));
            }
            if total == 0 {
                return not_applicable("there is no named key");
            }
            pass(format!(
                "{} has a rotation period and is within it",
                each_of(total, "named key", "named keys")
            ))
        },
    )
}
