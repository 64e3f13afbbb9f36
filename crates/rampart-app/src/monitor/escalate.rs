//! The `incident-escalate` job: open incidents whose deadline passed (deadlines are stored, so
//! a restart honours them) are escalated (`escalation_level` + 1, a timeline entry, an
//! `incident.escalated` delivery, the next deadline one period later), each a compare-and-set
//! on the incident's status and level, so an acknowledgement made meanwhile wins.

use rampart_audit::AuditStore;
use rampart_monitor::{EventType, IncidentChange, MonitorStore};
use time::OffsetDateTime;

use super::{MonitorError, MonitorService, incident_json};

/// Incidents escalated per step.
const DUE_PER_STEP: u32 = 100;

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// Escalates the incidents due at `now`; how many were.
    pub async fn escalate_step(&self, now: OffsetDateTime) -> Result<usize, MonitorError> {
        let due = self
            .store
            .due_escalations(now, DUE_PER_STEP)
            .await
            .map_err(MonitorError::store)?;
        let mut escalated = 0;
        for mut incident in due {
            let (status, level) = (incident.status, incident.escalation_level);
            let Some(entry) = incident.escalate(now, &self.settings.periods) else {
                continue;
            };
            let deliveries = self
                .deliveries_of(EventType::IncidentEscalated, &incident_json(&incident), now)
                .await?;
            let notify = !deliveries.is_empty();
            let change = IncidentChange {
                incident,
                entry,
                expected_status: status,
                expected_level: level,
                deliveries,
            };
            if self
                .store
                .change_incident(&change)
                .await
                .map_err(MonitorError::store)?
            {
                escalated += 1;
                if notify {
                    self.send_now.notify_one();
                }
            }
        }
        Ok(escalated)
    }
}
