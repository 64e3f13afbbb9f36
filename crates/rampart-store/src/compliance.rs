//! `ComplianceStore` on both backends: reports (the signed document as served), waivers
//! (revoked, never deleted) and every control's history.

use rampart_compliance::{
    ComplianceStore, FrameworkId, HistoryEntry, Inventory, ReportId, Status, StoredReport, Waiver,
};
use time::OffsetDateTime;

use crate::codec::{from_micros, micros};
use crate::retention::{to_i64, to_u64};
use crate::{Store, StoreError, with_pool};

type ReportRow = (String, String, i64, i64, String);
type WaiverRow = (
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<i64>,
);
type HistoryRow = (i64, String, Option<String>);
/// Counts (cards, consents, live subjects, erasures done and pending), agents with whether
/// they have guardrails, the last full verification, each principal's last login.
type InventoryRows = (
    (i64, i64, i64, i64, i64),
    Vec<(String, bool)>,
    Option<i64>,
    Vec<(String, i64)>,
);

fn framework_of(text: &str) -> Result<FrameworkId, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what: "compliance framework",
    })
}

fn status_of(text: &str) -> Result<Status, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        StoreError::Corrupt {
            what: "compliance_control_history.status",
        }
    })
}

fn report_of(row: ReportRow) -> Result<StoredReport, StoreError> {
    let (id, framework, generated_at, tree_size, document) = row;
    Ok(StoredReport {
        id: ReportId(id),
        framework: framework_of(&framework)?,
        generated_at: from_micros(generated_at, "compliance_reports.generated_at")?,
        tree_size: to_u64(tree_size, "compliance_reports.tree_size")?,
        document,
    })
}

fn waiver_of(row: WaiverRow) -> Result<Waiver, StoreError> {
    let (id, framework, control, reason, expires_at, created_by, created_at, revoked_at) = row;
    Ok(Waiver {
        id,
        framework: framework_of(&framework)?,
        control,
        reason,
        expires_at: from_micros(expires_at, "compliance_waivers.expires_at")?,
        created_by,
        created_at: from_micros(created_at, "compliance_waivers.created_at")?,
        revoked: revoked_at.is_some(),
    })
}

impl ComplianceStore for Store {
    type Error = StoreError;

    async fn insert_report(&self, report: &StoredReport) -> Result<(), StoreError> {
        let generated_at = micros(report.generated_at)?;
        let tree_size = to_i64(report.tree_size)?;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO compliance_reports (id, framework, generated_at, tree_size, document)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(report.id.as_str())
            .bind(report.framework.as_str())
            .bind(generated_at)
            .bind(tree_size)
            .bind(&report.document)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn report(&self, id: &ReportId) -> Result<Option<StoredReport>, StoreError> {
        let row: Option<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, framework, generated_at, tree_size, document
                 FROM compliance_reports WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(report_of).transpose()
    }

    async fn latest_report(
        &self,
        framework: FrameworkId,
    ) -> Result<Option<StoredReport>, StoreError> {
        let row: Option<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, framework, generated_at, tree_size, document
                 FROM compliance_reports WHERE framework = $1
                 ORDER BY generated_at DESC, id DESC LIMIT 1",
            )
            .bind(framework.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(report_of).transpose()
    }

    async fn list_reports(
        &self,
        framework: Option<FrameworkId>,
        limit: u32,
    ) -> Result<Vec<StoredReport>, StoreError> {
        let rows: Vec<ReportRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, framework, generated_at, tree_size, ''
                 FROM compliance_reports WHERE ($1 IS NULL OR framework = $1)
                 ORDER BY generated_at DESC, id DESC LIMIT $2",
            )
            .bind(framework.map(FrameworkId::as_str))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(report_of).collect()
    }

    async fn insert_waiver(&self, waiver: &Waiver) -> Result<(), StoreError> {
        let (expires_at, created_at) = (micros(waiver.expires_at)?, micros(waiver.created_at)?);
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO compliance_waivers
                     (id, framework, control, reason, expires_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&waiver.id)
            .bind(waiver.framework.as_str())
            .bind(&waiver.control)
            .bind(&waiver.reason)
            .bind(expires_at)
            .bind(&waiver.created_by)
            .bind(created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn waivers(&self) -> Result<Vec<Waiver>, StoreError> {
        let rows: Vec<WaiverRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, framework, control, reason, expires_at, created_by, created_at,
                        revoked_at
                 FROM compliance_waivers WHERE revoked_at IS NULL
                 ORDER BY created_at, id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(waiver_of).collect()
    }

    async fn revoke_waiver(
        &self,
        id: &str,
        by: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let at = micros(at)?;
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE compliance_waivers SET revoked_at = $1, revoked_by = $2
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    async fn record_results(
        &self,
        framework: FrameworkId,
        at: OffsetDateTime,
        report_id: Option<&ReportId>,
        results: &[(String, Status)],
    ) -> Result<(), StoreError> {
        let at = micros(at)?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (control, status) in results {
                sqlx::query(
                    "INSERT INTO compliance_control_history
                         (framework, control, evaluated_at, status, report_id)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(framework.as_str())
                .bind(control)
                .bind(at)
                .bind(status.as_str())
                .bind(report_id.map(ReportId::as_str))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn control_history(
        &self,
        framework: FrameworkId,
        control: &str,
        before: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let before = before.map(micros).transpose()?;
        let rows: Vec<HistoryRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT evaluated_at, status, report_id FROM compliance_control_history
                 WHERE framework = $1 AND control = $2 AND ($3 IS NULL OR evaluated_at < $3)
                 ORDER BY evaluated_at DESC LIMIT $4",
            )
            .bind(framework.as_str())
            .bind(control)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(at, status, report_id)| {
                Ok(HistoryEntry {
                    evaluated_at: from_micros(at, "compliance_control_history.evaluated_at")?,
                    status: status_of(&status)?,
                    report_id: report_id.map(ReportId),
                })
            })
            .collect()
    }

    async fn inventory(&self) -> Result<Inventory, StoreError> {
        let (counts, agents, full, logins): InventoryRows = with_pool!(self, pool => {
            let counts = sqlx::query_as(
                "SELECT (SELECT count(*) FROM card_tokens),
                            (SELECT count(*) FROM consents WHERE erased_at IS NULL),
                            (SELECT count(*) FROM subject_keys WHERE destroyed_at IS NULL),
                            (SELECT count(*) FROM erasures WHERE completed_at IS NOT NULL),
                            (SELECT count(*) FROM erasures WHERE completed_at IS NULL)",
            )
            .fetch_one(pool)
            .await?;
            let agents = sqlx::query_as(
                "SELECT p.name, g.agent_id IS NOT NULL FROM principals p
                     LEFT JOIN agent_guardrails g ON g.agent_id = p.id
                     WHERE p.owner_id IS NOT NULL AND NOT p.disabled ORDER BY p.name",
            )
            .fetch_all(pool)
            .await?;
            let full = sqlx::query_scalar(
                "SELECT max(verified_at) FROM audit_verifications WHERE full_check",
            )
            .fetch_one(pool)
            .await?;
            let logins = sqlx::query_as(
                "SELECT principal_id, max(created_at) FROM sessions GROUP BY principal_id",
            )
            .fetch_all(pool)
            .await?;
            (counts, agents, full, logins)
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(Inventory {
            cards_stored: count(counts.0),
            consents: count(counts.1),
            live_subjects: count(counts.2),
            erasures_completed: count(counts.3),
            erasures_pending: count(counts.4),
            agents,
            last_logins: logins
                .into_iter()
                .map(|(id, at)| Ok((id, from_micros(at, "sessions.created_at")?)))
                .collect::<Result<_, StoreError>>()?,
            last_full_verification: full
                .map(|at| from_micros(at, "audit_verifications.verified_at"))
                .transpose()?,
        })
    }

    async fn last_evaluation(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let at: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT max(evaluated_at) FROM compliance_control_history WHERE report_id IS NULL",
            )
            .fetch_one(pool)
            .await?
        });
        at.map(|at| from_micros(at, "compliance_control_history.evaluated_at"))
            .transpose()
    }
}
