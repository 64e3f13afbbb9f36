//! Invariants of retention, for any input: a compliance policy only ever grows whatever
//! sequence of changes anyone asks for; a governance one shrinks only with the override; an
//! audit entry is kept for the longest policy that applies to it; data types read back as
//! written; holds cover only what every member of their scope matches.

use proptest::prelude::*;
use rampart_retention::{
    AuditRecord, DataType, HoldDocument, Mode, Policy, PolicyChange, PolicyDocument, ScopeDocument,
    audit_retention, judge_change, judge_removal,
};
use time::OffsetDateTime;

fn policy(data_type: DataType, retain_seconds: u64, mode: Mode) -> Policy {
    Policy {
        data_type,
        retain_seconds,
        mode,
        updated_at: OffsetDateTime::UNIX_EPOCH,
        updated_by: "test".into(),
    }
}

fn mode(compliance: bool) -> Mode {
    if compliance {
        Mode::Compliance
    } else {
        Mode::Governance
    }
}

proptest! {
    /// Apply any sequence of requested changes the way the service does (a refused one changes
    /// nothing): once compliance, the policy stays compliance and its period never decreases;
    /// a governance period decreases only on a request that holds the override.
    #[test]
    fn compliance_only_grows_and_governance_shrinks_only_with_override(
        requests in proptest::collection::vec((0u64..10_000, any::<bool>(), any::<bool>(), any::<bool>()), 1..40)
    ) {
        let mut current: Option<Policy> = None;
        for (seconds, compliance, can_override, remove) in requests {
            if remove {
                if let Some(old) = &current {
                    match judge_removal(old) {
                        Ok(()) => {
                            prop_assert_eq!(old.mode, Mode::Governance);
                            current = None;
                        }
                        Err(_) => prop_assert_eq!(old.mode, Mode::Compliance),
                    }
                }
                continue;
            }
            let new = (seconds, mode(compliance));
            match judge_change(current.as_ref(), new, can_override) {
                Ok(change) => {
                    if let Some(old) = &current {
                        if old.mode == Mode::Compliance {
                            prop_assert_eq!(new.1, Mode::Compliance);
                            prop_assert!(new.0 >= old.retain_seconds);
                        }
                        if new.0 < old.retain_seconds {
                            prop_assert!(can_override);
                            prop_assert_eq!(change, PolicyChange::Shortened);
                        }
                    }
                    current = Some(policy(DataType::Consents, new.0, new.1));
                }
                Err(_) => {
                    let old = current.as_ref().expect("a first policy is always accepted");
                    prop_assert!(new.0 < old.retain_seconds || (old.mode == Mode::Compliance && new.1 != Mode::Compliance));
                }
            }
        }
    }

    /// The period an audit entry is kept is the largest among the base policy and its tags'
    /// policies, and none when none applies.
    #[test]
    fn an_entry_is_kept_for_the_longest_policy_that_applies(
        base in proptest::option::of(0u64..1000),
        tagged in proptest::collection::vec(("[a-c]", 0u64..1000), 0..4),
        tags in proptest::collection::vec("[a-d]", 0..3),
    ) {
        let mut policies: Vec<Policy> = tagged
            .iter()
            .map(|(tag, s)| policy(DataType::AuditTag(tag.clone()), *s, Mode::Governance))
            .collect();
        if let Some(base) = base {
            policies.push(policy(DataType::AuditEntries, base, Mode::Governance));
        }
        let expected = tagged
            .iter()
            .filter(|(tag, _)| tags.contains(tag))
            .map(|(_, s)| *s)
            .chain(base)
            .max();
        prop_assert_eq!(audit_retention(&policies, &tags), expected);
    }

    /// Every data type a policy may name reads back as written.
    #[test]
    fn data_types_round_trip(name in "[a-z0-9_.-]{1,64}", tag in "[A-Za-z0-9 :_-]{1,64}") {
        for text in [format!("app:{name}"), format!("audit_entries:{tag}")] {
            let parsed = DataType::parse(&text).expect("valid");
            prop_assert_eq!(parsed.to_string(), text);
        }
    }

    /// A hold with a tag and a team covers an entry only when it has both.
    #[test]
    fn a_hold_covers_only_what_every_member_matches(has_tag in any::<bool>(), same_team in any::<bool>()) {
        let (_, _, scope) = HoldDocument {
            name: "n".into(),
            reason: "r".into(),
            scope: ScopeDocument { tag: Some("mifid2".into()), team_id: Some("desk".into()), ..ScopeDocument::default() },
        }
        .validate()
        .expect("valid");
        let record = AuditRecord {
            seq: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            team_id: Some(if same_team { "desk" } else { "other" }.into()),
            subject_id: None,
            tags: if has_tag { vec!["mifid2".into()] } else { vec!["ops".into()] },
        };
        prop_assert_eq!(scope.covers_audit(&record), has_tag && same_team);
    }
}

#[test]
fn policy_documents_name_what_is_wrong() {
    let fields = |doc: PolicyDocument| -> Vec<String> {
        doc.validate()
            .expect_err("refused")
            .field_errors()
            .into_iter()
            .map(|e| e.path)
            .collect()
    };
    assert_eq!(
        fields(PolicyDocument {
            mode: Some("governance".into()),
            ..Default::default()
        }),
        ["retain_days"]
    );
    assert_eq!(
        fields(PolicyDocument {
            retain_days: Some(1),
            ..Default::default()
        }),
        ["mode"]
    );
    assert_eq!(
        fields(PolicyDocument {
            retain_days: Some(1),
            mode: Some("legal".into()),
            ..Default::default()
        }),
        ["mode"]
    );
    assert_eq!(
        fields(PolicyDocument {
            retain_seconds: Some(u64::MAX),
            mode: Some("compliance".into()),
            ..Default::default()
        }),
        ["retain_seconds"]
    );
    assert_eq!(
        PolicyDocument {
            retain_days: Some(7),
            mode: Some("compliance".into()),
            ..Default::default()
        }
        .validate(),
        Ok((7 * 86_400, Mode::Compliance))
    );
    for bad in [
        "",
        "audit",
        "audit_entries:",
        "app:",
        "app:a b",
        "app:é",
        &format!("app:{}", "a".repeat(65)),
    ] {
        assert_eq!(DataType::parse(bad), None, "{bad:?}");
    }
}
