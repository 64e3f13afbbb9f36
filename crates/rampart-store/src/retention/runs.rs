//! Disposal runs with their steps, signed certificates and the application's confirmations,
//! on both backends. Certificates and confirmations are append-only.

use rampart_retention::{
    AppConfirmation, BatchProgress, CertificateId, DataType, Mode, Policy, Run, RunId, Step,
    StepState, StoredCertificate,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{record_progress, to_i64, to_u64};
use crate::codec::{from_micros, from_micros_opt, micros};
use crate::{Store, StoreError, with_pool};

type RunRow = (String, bool, String, i64, Option<i64>, String);
type StepRow = (
    String,
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
);
type CertificateRow = (String, String, String, i64, String, Vec<u8>);
type ConfirmationRow = (String, String, i64, i64, i64, String);

fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt { what }
}

fn policies_json(policies: &[Policy]) -> String {
    Value::Array(
        policies
            .iter()
            .map(|p| {
                json!({"data_type": p.data_type.to_string(), "retain_seconds": p.retain_seconds,
                       "mode": p.mode.as_str(), "updated_by": p.updated_by,
                       "updated_at": micros(p.updated_at).unwrap_or(0)})
            })
            .collect(),
    )
    .to_string()
}

fn policies_of(text: &str) -> Result<Vec<Policy>, StoreError> {
    let what = "retention_runs.policies";
    let value: Value = serde_json::from_str(text).map_err(|_| corrupt(what))?;
    value
        .as_array()
        .ok_or(corrupt(what))?
        .iter()
        .map(|p| {
            Ok(Policy {
                data_type: p["data_type"]
                    .as_str()
                    .and_then(DataType::parse)
                    .ok_or(corrupt(what))?,
                retain_seconds: p["retain_seconds"].as_u64().ok_or(corrupt(what))?,
                mode: p["mode"]
                    .as_str()
                    .and_then(Mode::parse)
                    .ok_or(corrupt(what))?,
                updated_at: from_micros(p["updated_at"].as_i64().unwrap_or(0), what)?,
                updated_by: p["updated_by"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

fn step_of(row: StepRow) -> Result<Step, StoreError> {
    let (
        data_type,
        cutoff,
        state,
        due,
        disposed,
        held_back,
        next_seq,
        end_seq,
        cursor,
        first,
        last,
        cert,
    ) = row;
    Ok(Step {
        data_type: DataType::parse(&data_type).ok_or(corrupt("retention_run_steps.data_type"))?,
        cutoff: from_micros(cutoff, "retention_run_steps.cutoff")?,
        state: StepState::parse(&state).ok_or(corrupt("retention_run_steps.state"))?,
        due: to_u64(due, "retention_run_steps.due")?,
        disposed: to_u64(disposed, "retention_run_steps.disposed")?,
        held_back: to_u64(held_back, "retention_run_steps.held_back")?,
        next_seq: to_u64(next_seq, "retention_run_steps.next_seq")?,
        end_seq: to_u64(end_seq, "retention_run_steps.end_seq")?,
        cursor,
        first_seq: first
            .map(|s| to_u64(s, "retention_run_steps.first_seq"))
            .transpose()?,
        last_seq: last
            .map(|s| to_u64(s, "retention_run_steps.last_seq"))
            .transpose()?,
        certificate_id: CertificateId::parse(&cert)
            .ok_or(corrupt("retention_run_steps.certificate_id"))?,
    })
}

impl Store {
    pub(super) async fn insert_retention_run(&self, run: &Run) -> Result<(), StoreError> {
        let started = micros(run.started_at)?;
        let policies = policies_json(&run.policies);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO retention_runs (id, dry_run, requested_by, started_at, state, policies)
                 VALUES ($1, $2, $3, $4, 'running', $5)",
            )
            .bind(run.id.as_str())
            .bind(run.dry_run)
            .bind(&run.requested_by)
            .bind(started)
            .bind(&policies)
            .execute(&mut *tx)
            .await?;
            for step in &run.steps {
                sqlx::query(
                    "INSERT INTO retention_run_steps (run_id, data_type, cutoff, state, next_seq, end_seq, certificate_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(run.id.as_str())
                .bind(step.data_type.to_string())
                .bind(micros(step.cutoff)?)
                .bind(step.state.as_str())
                .bind(to_i64(step.next_seq)?)
                .bind(to_i64(step.end_seq)?)
                .bind(step.certificate_id.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn run_of(&self, row: RunRow) -> Result<Run, StoreError> {
        let (id, dry_run, requested_by, started_at, finished_at, policies) = row;
        let steps: Vec<StepRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT data_type, cutoff, state, due, disposed, held_back, next_seq, end_seq, cursor,
                        first_seq, last_seq, certificate_id
                 FROM retention_run_steps WHERE run_id = $1",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?
        });
        let mut steps = steps
            .into_iter()
            .map(step_of)
            .collect::<Result<Vec<_>, _>>()?;
        // The order a run takes them: built-in types first, then the application's.
        steps.sort_by(|a, b| a.data_type.cmp(&b.data_type));
        Ok(Run {
            id: RunId::parse(&id).ok_or(corrupt("retention_runs.id"))?,
            dry_run,
            requested_by,
            started_at: from_micros(started_at, "retention_runs.started_at")?,
            finished_at: from_micros_opt(finished_at, "retention_runs.finished_at")?,
            policies: policies_of(&policies)?,
            steps,
        })
    }

    pub(super) async fn retention_run(&self, id: &RunId) -> Result<Option<Run>, StoreError> {
        let row: Option<RunRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, dry_run, requested_by, started_at, finished_at, policies
                 FROM retention_runs WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        match row {
            Some(row) => Ok(Some(self.run_of(row).await?)),
            None => Ok(None),
        }
    }

    pub(super) async fn retention_runs(
        &self,
        unfinished: bool,
        limit: u32,
    ) -> Result<Vec<Run>, StoreError> {
        let rows: Vec<RunRow> = with_pool!(self, pool => {
            if unfinished {
                sqlx::query_as(
                    "SELECT id, dry_run, requested_by, started_at, finished_at, policies
                     FROM retention_runs WHERE state = 'running' ORDER BY started_at, id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            } else {
                sqlx::query_as(
                    "SELECT id, dry_run, requested_by, started_at, finished_at, policies
                     FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
            }
        });
        let mut runs = Vec::with_capacity(rows.len());
        for row in rows {
            runs.push(self.run_of(row).await?);
        }
        Ok(runs)
    }

    pub(super) async fn record_retention_progress(
        &self,
        progress: &BatchProgress,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            record_progress!(tx, progress, 0, None::<i64>, None::<i64>);
            tx.commit().await?;
        });
        Ok(())
    }

    pub(super) async fn finish_retention_run(
        &self,
        id: &RunId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let at = micros(at)?;
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE retention_runs SET state = 'finished', finished_at = $1
                 WHERE id = $2 AND state = 'running'",
            )
            .bind(at)
            .bind(id.as_str())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn insert_disposal_certificate(
        &self,
        certificate: &StoredCertificate,
    ) -> Result<(), StoreError> {
        let issued = micros(certificate.issued_at)?;
        let document: Value =
            serde_json::from_str(&certificate.document).map_err(|_| corrupt("certificate"))?;
        let signature = document
            .get("signature_b64")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO retention_certificates (id, run_id, data_type, issued_at, document, signature)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(certificate.id.as_str())
            .bind(certificate.run_id.as_str())
            .bind(certificate.data_type.to_string())
            .bind(issued)
            .bind(&certificate.document)
            .bind(signature)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn disposal_certificates(
        &self,
        after: Option<&CertificateId>,
        limit: u32,
    ) -> Result<Vec<StoredCertificate>, StoreError> {
        let after = after.map_or("", CertificateId::as_str);
        let rows: Vec<CertificateRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, run_id, data_type, issued_at, document, signature
                 FROM retention_certificates WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(id, run_id, data_type, issued_at, document, _)| {
                Ok(StoredCertificate {
                    id: CertificateId::parse(&id).ok_or(corrupt("retention_certificates.id"))?,
                    run_id: RunId::parse(&run_id)
                        .ok_or(corrupt("retention_certificates.run_id"))?,
                    data_type: DataType::parse(&data_type)
                        .ok_or(corrupt("retention_certificates.data_type"))?,
                    issued_at: from_micros(issued_at, "retention_certificates.issued_at")?,
                    document,
                })
            })
            .collect()
    }

    pub(super) async fn confirm_app_disposal(
        &self,
        c: &AppConfirmation,
    ) -> Result<bool, StoreError> {
        let inserted = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO retention_confirmations (run_id, data_type, records_deleted, deleted_before, confirmed_at, confirmed_by)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, data_type) DO NOTHING",
            )
            .bind(c.run_id.as_str())
            .bind(c.data_type.to_string())
            .bind(to_i64(c.records_deleted)?)
            .bind(micros(c.deleted_before)?)
            .bind(micros(c.confirmed_at)?)
            .bind(&c.confirmed_by)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    pub(super) async fn app_disposal_confirmations(
        &self,
        run_id: &RunId,
    ) -> Result<Vec<AppConfirmation>, StoreError> {
        let rows: Vec<ConfirmationRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT run_id, data_type, records_deleted, deleted_before, confirmed_at, confirmed_by
                 FROM retention_confirmations WHERE run_id = $1 ORDER BY data_type",
            )
            .bind(run_id.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(run, data_type, deleted, before, at, by)| {
                Ok(AppConfirmation {
                    run_id: RunId::parse(&run).ok_or(corrupt("retention_confirmations.run_id"))?,
                    data_type: DataType::parse(&data_type)
                        .ok_or(corrupt("retention_confirmations.data_type"))?,
                    records_deleted: to_u64(deleted, "retention_confirmations.records_deleted")?,
                    deleted_before: from_micros(before, "retention_confirmations.deleted_before")?,
                    confirmed_at: from_micros(at, "retention_confirmations.confirmed_at")?,
                    confirmed_by: by,
                })
            })
            .collect()
    }
}
