#![allow(clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::checks::testing::{facts_of, good_but, good_facts, good_values};
use crate::control::{Control, Status};
use crate::facts::{FactKey, catalog};

fn fact_judged(framework: &Framework) -> impl Iterator<Item = &Control> {
    framework.controls.iter().filter(|c| !c.is_manual())
}

/// The statuses of `framework`'s controls over `facts`, by id.
fn statuses(framework: &Framework, facts: &Facts) -> BTreeMap<&'static str, Status> {
    framework
        .controls
        .iter()
        .map(|c| (c.id, c.judge(facts).status))
        .collect()
}

/// The catalog keys a control cites when every fact is gathered.
fn cited(control: &Control) -> BTreeSet<&'static str> {
    control
        .judge(&good_facts())
        .evidence
        .iter()
        .filter_map(|e| catalog::ALL.iter().find(|k| k.title == e.fact))
        .map(|k| k.name)
        .collect()
}

/// Asserts that over `facts` the controls `ids` of each framework fail, and that the other
/// fact-judged controls that passed on the good facts and cite none of `keys` still pass.
fn flips(facts: &Facts, keys: &[FactKey], ids: &[(FrameworkId, &[&str])]) {
    for (id, expected) in ids {
        let framework = framework(*id);
        let results = statuses(framework, facts);
        for control in *expected {
            assert!(framework.control(control).is_some(), "{control} exists");
            assert_eq!(results.get(control), Some(&Status::Fail), "{control}");
        }
        let good = statuses(framework, &good_facts());
        for control in fact_judged(framework) {
            let touched = keys.iter().any(|k| cited(control).contains(k.name));
            if !touched {
                assert_eq!(
                    results.get(control.id),
                    good.get(control.id),
                    "{}",
                    control.id
                );
            }
        }
    }
}

#[test]
fn every_framework_maps_to_its_own_catalog() {
    for id in FrameworkId::ALL {
        assert_eq!(framework(id).id, id);
    }
    assert_eq!(all().count(), FrameworkId::ALL.len());
}

#[test]
fn controls_are_complete_and_uniquely_named() {
    for framework in all() {
        let prefix = format!("{}-", framework.id);
        assert!(framework.controls.len() >= 14, "{}", framework.id);
        assert!(fact_judged(framework).count() >= 9, "{}", framework.id);
        let mut ids = BTreeSet::new();
        for control in framework.controls {
            assert!(ids.insert(control.id), "{} is unique", control.id);
            assert!(control.id.starts_with(&prefix), "{}", control.id);
            assert!(
                control.id.len() <= 40
                    && !control.id.contains(' ')
                    && control.id == control.id.to_lowercase(),
                "{} is short and lowercase",
                control.id
            );
            for (field, text) in [
                ("title", control.title),
                ("requirement", control.requirement),
                ("checks", control.checks),
                ("remediation", control.remediation),
            ] {
                assert!(!text.trim().is_empty(), "{}: {field}", control.id);
                assert!(
                    !text.contains("  "),
                    "{}: {field} has a double space",
                    control.id
                );
            }
            assert!(!control.title.ends_with('.'), "{}", control.id);
            assert!(control.checks.ends_with('.'), "{}", control.id);
            assert!(control.remediation.ends_with('.'), "{}", control.id);
            if let Judge::Manual(what) = control.judge {
                assert!(what.starts_with("check "), "{}", control.id);
            }
        }
    }
}

#[test]
fn requirements_cite_their_framework() {
    let cites = |id: FrameworkId, text: &str| match id {
        FrameworkId::Soc2 => text.starts_with("SOC 2 TSC "),
        FrameworkId::PciDss => text.starts_with("PCI DSS v4.0.1 Req. "),
        FrameworkId::Hipaa => text.starts_with("45 CFR §164."),
        FrameworkId::Gdpr => text.starts_with("GDPR Art. "),
        FrameworkId::Mifid2 => {
            text.starts_with("MiFID II Art. ")
                || text.starts_with("Delegated Regulation (EU) 2017/")
        }
    };
    for framework in all() {
        for control in framework.controls {
            assert!(cites(framework.id, control.requirement), "{}", control.id);
        }
    }
}

#[test]
fn with_no_facts_nothing_passes() {
    for framework in all() {
        for (id, status) in statuses(framework, &Facts::new()) {
            assert_eq!(status, Status::Manual, "{id}");
        }
    }
}

#[test]
fn with_good_facts_every_fact_judged_control_passes_or_does_not_apply() {
    let good = good_facts();
    for framework in all() {
        for control in fact_judged(framework) {
            let judged = control.judge(&good);
            assert!(
                matches!(judged.status, Status::Pass | Status::NotApplicable),
                "{}: {:?} {}",
                control.id,
                judged.status,
                judged.reason
            );
        }
        for control in framework.controls.iter().filter(|c| c.is_manual()) {
            assert_eq!(
                control.judge(&good).status,
                Status::Manual,
                "{}",
                control.id
            );
        }
    }
}

#[test]
fn the_frameworks_use_every_catalog_fact() {
    let used: BTreeSet<&str> = all()
        .flat_map(|f| f.controls.iter())
        .flat_map(cited)
        .collect();
    let unused: Vec<&str> = catalog::ALL
        .iter()
        .map(|k| k.name)
        .filter(|n| !used.contains(n))
        .collect();
    assert!(unused.is_empty(), "unused facts: {unused:?}");
}

#[test]
fn an_admin_without_mfa_fails_the_mfa_controls_of_every_framework() {
    let facts = good_but(catalog::ADMINS_WITHOUT_MFA, json!(["alice"]));
    flips(
        &facts,
        &[catalog::ADMINS_WITHOUT_MFA],
        &[
            (FrameworkId::Soc2, &["soc2-cc6.1-mfa"]),
            (FrameworkId::PciDss, &["pci-dss-8.4.1"]),
            (FrameworkId::Hipaa, &["hipaa-164.312(d)"]),
            (FrameworkId::Gdpr, &["gdpr-art32-1b-mfa"]),
            (FrameworkId::Mifid2, &["mifid2-dr21-2-mfa"]),
        ],
    );
    // An administrator who may detokenize cards fails PCI DSS 8.4.2 too.
    let mut holder = facts;
    holder.insert(catalog::DETOKENIZE_HOLDERS, json!(["alice"]), "test");
    let pci = statuses(framework(FrameworkId::PciDss), &holder);
    assert_eq!(pci.get("pci-dss-8.4.2"), Some(&Status::Fail));
}

#[test]
fn a_key_past_rotation_fails_the_key_rotation_controls() {
    flips(
        &good_but(catalog::KEYS_PAST_ROTATION, json!(["payments"])),
        &[catalog::KEYS_PAST_ROTATION],
        &[
            (FrameworkId::Soc2, &["soc2-cc6.1-keys"]),
            (FrameworkId::PciDss, &["pci-dss-3.7.4"]),
            (FrameworkId::Hipaa, &["hipaa-164.312(a)(2)(iv)-rotation"]),
            (FrameworkId::Gdpr, &["gdpr-art32-1a-keys"]),
            (FrameworkId::Mifid2, &["mifid2-dr21-2-keys"]),
        ],
    );
}

#[test]
fn a_failed_audit_verification_fails_the_integrity_controls() {
    let broken = json!({
        "ok": false, "tree_size": 5000, "root_hash": "00", "checked_entries": 120,
        "from_tree_size": 4880, "problems": [{"seq": 4901, "problem": "leaf hash mismatch"}]
    });
    flips(
        &good_but(catalog::AUDIT_VERIFICATION, broken),
        &[catalog::AUDIT_VERIFICATION],
        &[
            (FrameworkId::Soc2, &["soc2-cc7.2-audit-integrity"]),
            (FrameworkId::PciDss, &["pci-dss-10.3.4"]),
            (FrameworkId::Hipaa, &["hipaa-164.312(c)(2)"]),
            (FrameworkId::Gdpr, &["gdpr-art5-2"]),
            (FrameworkId::Mifid2, &["mifid2-dr72-1c-integrity"]),
        ],
    );
}

#[test]
fn plain_http_fails_the_transmission_controls() {
    flips(
        &good_but(catalog::TLS_ENABLED, json!(false)),
        &[catalog::TLS_ENABLED],
        &[
            (FrameworkId::Soc2, &["soc2-cc6.7-tls"]),
            (FrameworkId::PciDss, &["pci-dss-2.2.7", "pci-dss-4.2.1"]),
            (FrameworkId::Hipaa, &["hipaa-164.312(e)(1)"]),
            (FrameworkId::Gdpr, &["gdpr-art32-1a"]),
            (FrameworkId::Mifid2, &["mifid2-dr21-2-tls"]),
        ],
    );
}

#[test]
fn a_lenient_lockout_fails_pci_8_3_4_only() {
    for lockout in [
        json!({"max_login_attempts": 5, "lockout_seconds": 900, "account_lockout_failures": 10}),
        json!({"max_login_attempts": 5, "lockout_seconds": 1800, "account_lockout_failures": 50}),
    ] {
        let facts = good_but(catalog::LOCKOUT, lockout);
        flips(
            &facts,
            &[catalog::LOCKOUT],
            &[(FrameworkId::PciDss, &["pci-dss-8.3.4"])],
        );
        for id in [
            FrameworkId::Soc2,
            FrameworkId::Hipaa,
            FrameworkId::Gdpr,
            FrameworkId::Mifid2,
        ] {
            let results = statuses(framework(id), &facts);
            assert!(!results.values().any(|s| *s == Status::Fail), "{id}");
        }
    }
}

#[test]
fn short_audit_retention_fails_each_framework_by_its_own_period() {
    const DAY: u64 = 86_400;
    let facts = |days: u64| {
        let mut facts = good_but(catalog::AUDIT_RETENTION_SECONDS, json!(days * DAY));
        facts.insert(
            catalog::RETENTION_POLICIES,
            json!([
                {"data_type": "audit_entries", "mode": "compliance", "retain_seconds": days * DAY},
                {"data_type": "consents", "mode": "governance", "retain_seconds": 1095 * DAY},
                {"data_type": "sessions", "mode": "governance", "retain_seconds": 30 * DAY}
            ]),
            "test",
        );
        facts
    };
    let status = |id: FrameworkId, control: &str, days: u64| {
        statuses(framework(id), &facts(days)).get(control).copied()
    };
    assert_eq!(
        status(FrameworkId::PciDss, "pci-dss-10.5.1", 365),
        Some(Status::Fail)
    );
    assert_eq!(
        status(FrameworkId::PciDss, "pci-dss-10.5.1", 366),
        Some(Status::Pass)
    );
    assert_eq!(
        status(FrameworkId::Mifid2, "mifid2-art16-6-retention", 1826),
        Some(Status::Fail)
    );
    assert_eq!(
        status(FrameworkId::Mifid2, "mifid2-dr72-1c-locked", 1826),
        Some(Status::Fail)
    );
    assert_eq!(
        status(FrameworkId::Mifid2, "mifid2-art16-6-retention", 1827),
        Some(Status::Pass)
    );
    assert_eq!(
        status(FrameworkId::Hipaa, "hipaa-164.316(b)(2)(i)", 2191),
        Some(Status::Fail)
    );
    assert_eq!(
        status(FrameworkId::Hipaa, "hipaa-164.316(b)(2)(i)", 2192),
        Some(Status::Pass)
    );
}

#[test]
fn no_card_data_makes_card_controls_not_applicable() {
    let facts = good_but(catalog::CARDS_STORED, json!(0));
    let pci = statuses(framework(FrameworkId::PciDss), &facts);
    assert_eq!(pci.get("pci-dss-3.4.1"), Some(&Status::NotApplicable));
    assert_eq!(pci.get("pci-dss-8.4.2"), Some(&Status::NotApplicable));
}

/// The good facts without those whose catalog index is set in `removed`.
fn without(removed: &[bool]) -> (Facts, BTreeSet<&'static str>) {
    let mut gone = BTreeSet::new();
    let kept: Vec<(FactKey, Value)> = good_values()
        .into_iter()
        .zip(removed.iter().chain(std::iter::repeat(&false)))
        .filter_map(|((key, value), removed)| {
            if *removed {
                gone.insert(key.name);
                None
            } else {
                Some((key, value))
            }
        })
        .collect();
    (facts_of(kept), gone)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever subset of the good facts was not gathered, no control that cites a missing
    /// one passes, and every control whose facts were all gathered still judges as on the
    /// good facts.
    #[test]
    fn a_control_missing_a_fact_it_cites_never_passes(
        removed in proptest::collection::vec(any::<bool>(), catalog::ALL.len())
    ) {
        let (facts, gone) = without(&removed);
        let good = good_facts();
        for framework in all() {
            for control in fact_judged(framework) {
                let cites = cited(control);
                let judged = control.judge(&facts);
                if cites.iter().any(|k| gone.contains(k)) {
                    prop_assert_ne!(judged.status, Status::Pass, "{}", control.id);
                    prop_assert_eq!(judged.status, Status::Manual, "{}", control.id);
                } else {
                    prop_assert_eq!(judged.status, control.judge(&good).status, "{}", control.id);
                }
            }
        }
    }
}
