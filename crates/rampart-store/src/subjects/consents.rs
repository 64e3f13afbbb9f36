//! The consent ledger (appended only; erasure's update is in `subjects/erasure.rs`), the
//! subjects holding a consent, and the principals and card tokens linked to a subject.

use rampart_access::PrincipalKind;
use rampart_subjects::{
    ConsentFilter, ConsentHolder, ConsentRecord, LinkedCard, LinkedPrincipal, NewConsent,
    SubjectLookup,
};
use time::OffsetDateTime;

use crate::codec::{from_micros, from_micros_opt, micros};
use crate::{Store, StoreError, with_pool};

const CONSENT_COLUMNS: &str =
    "id, subject_id, purpose, given, source, policy_version, recorded_at, recorded_by, erased_at";

/// A consent record as read.
type ConsentTuple = (
    i64,
    Option<String>,
    String,
    bool,
    Option<String>,
    Option<String>,
    i64,
    String,
    Option<i64>,
);

fn consent(row: ConsentTuple) -> Result<ConsentRecord, StoreError> {
    let (id, subject_id, purpose, given, source, policy_version, at, by, erased_at) = row;
    Ok(ConsentRecord {
        id,
        subject_id,
        purpose,
        given,
        source,
        policy_version,
        recorded_at: from_micros(at, "consents.recorded_at")?,
        recorded_by: by,
        erased_at: from_micros_opt(erased_at, "consents.erased_at")?,
    })
}

impl Store {
    /// Appends one record.
    pub(super) async fn append_consent(
        &self,
        lookup: &SubjectLookup,
        subject_id: &str,
        consent: &NewConsent,
        recorded_by: &str,
        at: OffsetDateTime,
    ) -> Result<ConsentRecord, StoreError> {
        let recorded_at = micros(at)?;
        let (id,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO consents (lookup, subject_id, purpose, given, source, policy_version,
                     recorded_at, recorded_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(lookup.0.to_vec())
            .bind(subject_id)
            .bind(&consent.purpose)
            .bind(consent.given)
            .bind(consent.source.as_deref())
            .bind(consent.policy_version.as_deref())
            .bind(recorded_at)
            .bind(recorded_by)
            .fetch_one(pool)
            .await?
        });
        Ok(ConsentRecord {
            id,
            subject_id: Some(subject_id.to_owned()),
            purpose: consent.purpose.clone(),
            given: consent.given,
            source: consent.source.clone(),
            policy_version: consent.policy_version.clone(),
            recorded_at: from_micros(recorded_at, "consents.recorded_at")?,
            recorded_by: recorded_by.to_owned(),
            erased_at: None,
        })
    }

    /// A subject's records in ledger order.
    pub(super) async fn consents_of(
        &self,
        lookup: &SubjectLookup,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let sql = format!("SELECT {CONSENT_COLUMNS} FROM consents WHERE lookup = $1 ORDER BY id");
        let rows: Vec<ConsentTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(lookup.0.to_vec())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(consent).collect()
    }

    /// The subjects whose latest (not erased) record for the purpose matches the filter, in
    /// subject-id order after `after`.
    pub(super) async fn holders(
        &self,
        filter: &ConsentFilter,
    ) -> Result<Vec<ConsentHolder>, StoreError> {
        let given = if filter.given.is_some() {
            "AND c.given = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT c.subject_id, c.given, c.recorded_at FROM consents c
             WHERE c.purpose = $1 AND c.subject_id IS NOT NULL AND c.subject_id > $2
               AND c.id = (SELECT MAX(d.id) FROM consents d
                           WHERE d.purpose = c.purpose AND d.subject_id = c.subject_id)
               {given}
             ORDER BY c.subject_id LIMIT $3"
        );
        // Subject ids have at least one byte: every one sorts after the empty string.
        let after = filter.after.as_deref().unwrap_or("");
        let rows: Vec<(String, bool, i64)> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&filter.purpose)
                .bind(after)
                .bind(i64::from(filter.limit));
            if let Some(given) = filter.given {
                query = query.bind(given);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(subject_id, given, at)| {
                Ok(ConsentHolder {
                    subject_id,
                    given,
                    at: from_micros(at, "consents.recorded_at")?,
                })
            })
            .collect()
    }

    /// Principals and card tokens carrying `subject_id`.
    pub(super) async fn linked_to(
        &self,
        subject_id: &str,
    ) -> Result<(Vec<LinkedPrincipal>, Vec<LinkedCard>), StoreError> {
        type PrincipalTuple = (String, String, String, Option<String>, bool, i64);
        type CardTuple = (String, String, String, String, i64);
        let (principals, cards): (Vec<PrincipalTuple>, Vec<CardTuple>) = with_pool!(self, pool => {
            let principals = sqlx::query_as(
                "SELECT id, kind, name, email, disabled, created_at FROM principals
                 WHERE subject_id = $1 ORDER BY created_at, id",
            )
            .bind(subject_id)
            .fetch_all(pool)
            .await?;
            let cards = sqlx::query_as(
                "SELECT token, brand, last_four, fingerprint, created_at FROM card_tokens
                 WHERE subject_id = $1 ORDER BY created_at, token",
            )
            .bind(subject_id)
            .fetch_all(pool)
            .await?;
            (principals, cards)
        });
        let principals = principals
            .into_iter()
            .map(|(id, kind, name, email, disabled, created_at)| {
                // The kind is checked on read, as everywhere else principals are read.
                kind.parse::<PrincipalKind>()
                    .map_err(|_| StoreError::Corrupt {
                        what: "principals.kind",
                    })?;
                Ok(LinkedPrincipal {
                    id,
                    kind,
                    name,
                    email,
                    disabled,
                    created_at: from_micros(created_at, "principals.created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let cards = cards
            .into_iter()
            .map(|(token, brand, last_four, fingerprint, created_at)| {
                Ok(LinkedCard {
                    token,
                    brand,
                    last_four,
                    fingerprint,
                    created_at: from_micros(created_at, "card_tokens.created_at")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((principals, cards))
    }
}
