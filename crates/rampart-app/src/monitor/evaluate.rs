//! One step of the `monitor-evaluate` job: the committed audit entries after the stored cursor,
//! in `seq` order and in batches, through the rules in force; the windows, alerts, incidents
//! and deliveries they cause committed with the new cursor in one transaction
//! ([`MonitorStore::commit_evaluation`]), so a crash neither repeats nor loses an alert. The
//! windows stay in memory while this node holds the lease and are read again when a commit is
//! refused (another node moved on).

use std::collections::BTreeSet;

use rampart_audit::{AuditStore, Entry};
use rampart_monitor::{
    AlertWrite, EntryView, EvaluationCommit, EventType, Fired, Incident, IncidentId, MonitorStore,
    NewIncident, WindowKey, WindowState, is_silenced, plan_alerts,
};
use time::OffsetDateTime;

use super::{MonitorError, MonitorService, alert_json, deliveries_for, incident_json, new_id};

/// Entries read per step.
pub const BATCH: u64 = 2_000;

/// The evaluator's state on this node.
#[derive(Debug)]
pub struct Progress {
    /// The next `seq` to evaluate.
    cursor: u64,
    /// Every window.
    windows: WindowState,
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evaluated {
    /// Entries evaluated.
    pub entries: u64,
    /// Alerts opened or raised.
    pub alerts: usize,
    /// Whether entries remain after this step.
    pub more: bool,
}

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// Evaluates the next batch of committed entries.
    pub async fn evaluate_step(&self, now: OffsetDateTime) -> Result<Evaluated, MonitorError> {
        let mut guard = self.evaluation.lock().await;
        if guard.is_none() {
            let cursor = self
                .store
                .evaluation_cursor()
                .await
                .map_err(MonitorError::store)?;
            let windows = MonitorStore::windows(&self.store)
                .await
                .map_err(MonitorError::store)?;
            *guard = Some(Progress {
                cursor,
                windows: WindowState::from_windows(windows),
            });
        }
        let Some(progress) = guard.as_mut() else {
            return Ok(Evaluated::default());
        };
        let head = AuditStore::head(&self.store)
            .await
            .map_err(MonitorError::store)?
            .size;
        if progress.cursor >= head {
            return Ok(Evaluated::default());
        }
        let end = head.min(progress.cursor.saturating_add(BATCH));
        let rows = AuditStore::entries(&self.store, progress.cursor..end)
            .await
            .map_err(MonitorError::store)?;
        let rules = self.rules().await?;
        let mut windows = progress.windows.clone();
        let mut fired: Vec<Fired> = Vec::new();
        let mut next = progress.cursor;
        let mut latest_micros = None;
        for row in &rows {
            next = row.seq.saturating_add(1);
            latest_micros = Some(row.timestamp_micros);
            // A pruned entry has no content left to match; one that does not read back as an
            // entry is skipped too (it cannot match).
            if row.pruned.is_some() {
                continue;
            }
            let Ok(entry) = serde_json::from_str::<Entry>(&row.body) else {
                continue;
            };
            if let Some(view) = EntryView::of(&entry) {
                rules.evaluator.evaluate(&mut windows, &view, &mut fired);
            }
        }
        if rows.is_empty() {
            next = end;
        }
        // Windows are forgotten by the time of the entries read, not the clock: a backlog
        // read after a pause keeps the windows its later entries still fall into.
        if let Some(micros) = latest_micros {
            windows.expire(&rules.evaluator, micros);
        }
        let commit = self
            .plan(progress.cursor, next, &mut windows, &fired, now)
            .await?;
        let alerts = commit.alerts.len();
        let deliveries = !commit.deliveries.is_empty();
        if !self
            .store
            .commit_evaluation(&commit)
            .await
            .map_err(MonitorError::store)?
        {
            // Another node moved on (or an alert changed): read everything again next step.
            *guard = None;
            return Ok(Evaluated::default());
        }
        progress.cursor = next;
        progress.windows = windows;
        if deliveries {
            self.send_now.notify_one();
        }
        Ok(Evaluated {
            entries: u64::try_from(rows.len()).unwrap_or(u64::MAX),
            alerts,
            more: next < head,
        })
    }

    /// The commit of one step: alerts planned against the active ones, incidents for the
    /// alerts that open one, deliveries for those not silenced.
    async fn plan(
        &self,
        cursor: u64,
        next: u64,
        windows: &mut WindowState,
        fired: &[Fired],
        now: OffsetDateTime,
    ) -> Result<EvaluationCommit, MonitorError> {
        let mut commit = EvaluationCommit {
            expected_cursor: cursor,
            cursor: next,
            windows: windows.take_changes(),
            ..EvaluationCommit::default()
        };
        if fired.is_empty() {
            return Ok(commit);
        }
        let keys: Vec<WindowKey> = fired
            .iter()
            .map(|f| WindowKey {
                rule: f.rule.clone(),
                group: f.group.clone(),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let active = self
            .store
            .active_alerts(&keys)
            .await
            .map_err(MonitorError::store)?;
        let mut writes = plan_alerts(fired, &active, new_id);
        let opened = writes.iter().any(|w| matches!(w, AlertWrite::Open(_)));
        if !opened {
            commit.alerts = writes;
            return Ok(commit);
        }
        let webhooks = self.webhooks().await?;
        let silences = self
            .store
            .list_silences(Some(now))
            .await
            .map_err(MonitorError::store)?;
        for write in &mut writes {
            let AlertWrite::Open(alert) = write else {
                continue;
            };
            let opens_incident = fired
                .iter()
                .any(|f| f.rule == alert.rule && f.group == alert.group && f.opens_incident());
            if opens_incident {
                // Each incident takes its own number from the deployment's counter, so one
                // made through the API meanwhile never gets the same.
                let n = self
                    .store
                    .next_incident_number(now.date())
                    .await
                    .map_err(MonitorError::store)?;
                let id = IncidentId {
                    date: now.date(),
                    number: n,
                };
                let incident = Incident::open(
                    id,
                    NewIncident {
                        title: format!("{} ({})", alert.rule, alert.severity.as_str()),
                        description: format!(
                            "Opened by alert {} of rule {}.",
                            alert.id, alert.rule
                        ),
                        severity: alert.severity,
                        personal_data_breach: false,
                        alert_ids: vec![alert.id.clone()],
                        entry_seqs: alert.entry_seqs.clone(),
                    },
                    "rampart",
                    now,
                    &self.settings.periods,
                );
                alert.incident_id = Some(id.to_text());
                commit.deliveries.extend(deliveries_for(
                    &webhooks,
                    EventType::IncidentOpened,
                    &incident_json(&incident),
                    now,
                ));
                commit.incidents.push(incident);
            }
            if !is_silenced(&silences, alert, now) {
                commit.deliveries.extend(deliveries_for(
                    &webhooks,
                    EventType::AlertOpened,
                    &alert_json(alert),
                    now,
                ));
            }
        }
        commit.alerts = writes;
        Ok(commit)
    }
}
