//! Legal holds on both backends: placed, listed in force, released (never deleted).

use rampart_retention::{HoldId, HoldScope, LegalHold};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::codec::{from_micros, micros};
use crate::{Store, StoreError, with_pool};

fn scope_json(scope: &HoldScope) -> String {
    let time = |at: Option<OffsetDateTime>| at.and_then(|at| at.format(&Rfc3339).ok());
    json!({
        "subject_id": scope.subject_id, "tag": scope.tag, "team_id": scope.team_id,
        "data_type": scope.data_type, "from": time(scope.from), "until": time(scope.until),
    })
    .to_string()
}

fn scope_of(text: &str) -> Result<HoldScope, StoreError> {
    let corrupt = StoreError::Corrupt {
        what: "legal_holds.scope",
    };
    let value: Value = serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        what: "legal_holds.scope",
    })?;
    let text_of = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let time_of = |key: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        match text_of(key) {
            None => Ok(None),
            Some(t) => {
                OffsetDateTime::parse(&t, &Rfc3339)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt {
                        what: "legal_holds.scope",
                    })
            }
        }
    };
    if !value.is_object() {
        return Err(corrupt);
    }
    Ok(HoldScope {
        subject_id: text_of("subject_id"),
        tag: text_of("tag"),
        team_id: text_of("team_id"),
        data_type: text_of("data_type"),
        from: time_of("from")?,
        until: time_of("until")?,
    })
}

type HoldTuple = (String, String, String, String, i64, String);

impl Store {
    pub(super) async fn insert_legal_hold(&self, hold: &LegalHold) -> Result<(), StoreError> {
        let created_at = micros(hold.created_at)?;
        let scope = scope_json(&hold.scope);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO legal_holds (id, name, reason, scope, subject_id, created_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(hold.id.as_str())
            .bind(&hold.name)
            .bind(&hold.reason)
            .bind(&scope)
            .bind(hold.scope.subject_id.as_deref())
            .bind(created_at)
            .bind(&hold.created_by)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn legal_holds(&self) -> Result<Vec<LegalHold>, StoreError> {
        let rows: Vec<HoldTuple> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, reason, scope, created_at, created_by FROM legal_holds
                 WHERE released_at IS NULL ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, name, reason, scope, created_at, created_by)| {
                Ok(LegalHold {
                    id: HoldId::parse(&id).ok_or(StoreError::Corrupt {
                        what: "legal_holds.id",
                    })?,
                    name,
                    reason,
                    scope: scope_of(&scope)?,
                    created_at: from_micros(created_at, "legal_holds.created_at")?,
                    created_by,
                })
            })
            .collect()
    }

    pub(super) async fn release_legal_hold(
        &self,
        id: &HoldId,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let at = micros(at)?;
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE legal_holds SET released_at = $1, released_by = $2
                 WHERE id = $3 AND released_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(id.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}
