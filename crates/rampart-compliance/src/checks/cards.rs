//! The card vault: sensitive authentication data refused, who may see full card numbers.

use super::{Read, Verdict, counted, each_of, fail, judge, manual, names, not_applicable, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// Card-data controls do not apply when no card is stored and nobody may detokenize: `Some`
/// of that verdict then.
fn no_card_data(read: &Read<'_>, holders: &[&str]) -> Result<Option<Verdict>, Judgment> {
    let cards = read.count(catalog::CARDS_STORED)?;
    Ok((cards == 0 && holders.is_empty()).then(|| {
        not_applicable("no card is stored in the vault and no principal may detokenize cards")
    }))
}

/// The vault refuses card security codes and PINs.
pub(crate) fn sad_refused(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::CVV_REFUSED, catalog::CARD_REFUSALS],
        |read| {
            let refused = read.flag(catalog::CVV_REFUSED)?;
            let refusals = read.count(catalog::CARD_REFUSALS)?;
            if refused {
                pass(format!(
                    "the vault refuses card security codes and PINs ({} so far)",
                    counted(
                        refusals,
                        "tokenization request refused",
                        "tokenization requests refused"
                    )
                ))
            } else {
                fail(
                    "the vault accepts tokenization requests that carry a card security code or PIN",
                )
            }
        },
    )
}

/// Only principals with a need may see full card numbers: nobody passes; holders of
/// `cards:detokenize` need a person's review.
pub(crate) fn detokenize_least_privilege(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::CARDS_STORED, catalog::DETOKENIZE_HOLDERS],
        |read| {
            let holders = read.names(catalog::DETOKENIZE_HOLDERS)?;
            if let Some(verdict) = no_card_data(read, &holders)? {
                return verdict;
            }
            if holders.is_empty() {
                return pass("no enabled principal may detokenize cards");
            }
            manual(format!(
                "review that these {} need cards:detokenize: {}",
                counted(holders.len(), "principal", "principals"),
                names(&holders)
            ))
        },
    )
}

/// PCI DSS 8.4.2: every principal who may detokenize cards and signs in with a password has a
/// second factor (services with API keys only are not password users).
pub(crate) fn cde_access_mfa(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::CARDS_STORED,
            catalog::DETOKENIZE_HOLDERS,
            catalog::ADMINS_WITHOUT_MFA,
            catalog::USERS_WITHOUT_MFA,
        ],
        |read| {
            let holders = read.names(catalog::DETOKENIZE_HOLDERS)?;
            let admins = read.names(catalog::ADMINS_WITHOUT_MFA)?;
            let users = read.names(catalog::USERS_WITHOUT_MFA)?;
            if let Some(verdict) = no_card_data(read, &holders)? {
                return verdict;
            }
            if holders.is_empty() {
                return pass("no enabled principal may detokenize cards");
            }
            let exposed: Vec<&str> = holders
                .iter()
                .copied()
                .filter(|h| admins.contains(h) || users.contains(h))
                .collect();
            if exposed.is_empty() {
                pass(format!(
                    "{} who may detokenize cards has a second factor or no password",
                    each_of(
                        u64::try_from(holders.len()).unwrap_or(u64::MAX),
                        "principal",
                        "principals"
                    )
                ))
            } else {
                fail(format!(
                    "{} detokenize cards without a second factor: {}",
                    counted(exposed.len(), "principal may", "principals may"),
                    names(&exposed)
                ))
            }
        },
    )
}
