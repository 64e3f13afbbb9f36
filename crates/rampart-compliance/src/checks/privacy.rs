//! Data subjects: consent records, erasure, and the PII redaction policy.

use super::{counted, fail, judge, manual, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// Consent is recorded in Rampart's ledger; none recorded needs a person to check where it is.
pub(crate) fn consent_records(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::SUBJECT_RECORDS], |read| {
        let records = read.object(catalog::SUBJECT_RECORDS)?;
        let consents = records.u64("consents")?;
        let subjects = records.u64("subjects")?;
        if consents == 0 {
            return manual(
                "no consent is recorded in Rampart: check that consent is recorded elsewhere or \
                 that another lawful basis applies",
            );
        }
        pass(format!(
            "{} for {} are kept in the append-only ledger",
            counted(consents, "consent record", "consent records"),
            counted(subjects, "subject", "subjects")
        ))
    })
}

/// Personal data is sealed per subject, so erasure destroys one key.
pub(crate) fn erasure_capability(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::ERASURE_CAPABLE, catalog::SUBJECT_RECORDS],
        |read| {
            let capable = read.flag(catalog::ERASURE_CAPABLE)?;
            let erasures = read.object(catalog::SUBJECT_RECORDS)?.u64("erasures")?;
            if capable {
                pass(format!(
                    "personal data is sealed per subject, so erasure destroys one key ({} so far)",
                    counted(erasures, "erasure", "erasures")
                ))
            } else {
                fail(
                    "personal data is not sealed per subject, so it cannot be erased by destroying a key",
                )
            }
        },
    )
}

/// The PII redaction policy is the default one (email and addresses hashed, cards, SSNs, IBANs
/// and secrets redacted, phones masked); a custom one needs a person's review.
pub(crate) fn pii_policy(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::PII_POLICY], |read| {
        let policy = read.text(catalog::PII_POLICY)?;
        if policy == "default" {
            pass(
                "the default PII policy hashes, masks or redacts every type of personal data it finds",
            )
        } else {
            manual(format!(
                "the PII policy is {policy}: check that it keeps no type of personal data in clear"
            ))
        }
    })
}
