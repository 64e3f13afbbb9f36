//! The incidents of [`MonitorService`]: opened by hand, listed, noted, acknowledged, resolved.

use rampart_audit::AuditStore;
use rampart_monitor::{
    Delivery, EventType, Incident, IncidentChange, IncidentDocument, IncidentFilter, IncidentId,
    IncidentStatus, Invalid, MonitorStore, TimelineDocument, validate_resolution,
};

use time::OffsetDateTime;

use super::{MAX_LISTED, MonitorError, MonitorService, incident_json};

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// Opens an incident someone reported.
    pub async fn open_incident(
        &self,
        document: &IncidentDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        let mut new = document.validate()?;
        for (index, id) in new.alert_ids.iter().enumerate() {
            let alert = self.store.alert(id).await.map_err(MonitorError::store)?;
            match alert {
                Some(alert) => new.entry_seqs.extend(alert.entry_seqs.iter().copied()),
                None => {
                    return Err(Invalid::Fields(vec![rampart_monitor::FieldError::new(
                        format!("alert_ids[{index}]"),
                        "no such alert",
                    )])
                    .into());
                }
            }
        }
        new.entry_seqs.sort_unstable();
        new.entry_seqs.dedup();
        for _ in 0..16 {
            let number = self
                .store
                .next_incident_number(now.date())
                .await
                .map_err(MonitorError::store)?;
            let id = IncidentId {
                date: now.date(),
                number,
            };
            let incident = Incident::open(id, new.clone(), by, now, &self.settings.periods);
            let deliveries = self
                .deliveries_of(EventType::IncidentOpened, &incident_json(&incident), now)
                .await?;
            if self
                .store
                .insert_incident(&incident, &deliveries)
                .await
                .map_err(MonitorError::store)?
            {
                if !deliveries.is_empty() {
                    self.send_now.notify_one();
                }
                return Ok(incident);
            }
        }
        Err(MonitorError::Conflict(
            "no incident number was free; retry".to_owned(),
        ))
    }

    /// Incidents by `filter`.
    pub async fn incidents(
        &self,
        mut filter: IncidentFilter,
    ) -> Result<Vec<Incident>, MonitorError> {
        filter.limit = filter.limit.clamp(1, MAX_LISTED);
        self.store
            .list_incidents(&filter)
            .await
            .map_err(MonitorError::store)
    }

    /// One incident.
    pub async fn incident(&self, id: &str) -> Result<Incident, MonitorError> {
        let id = IncidentId::parse(id).ok_or(MonitorError::NotFound("incident"))?;
        self.store
            .incident(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("incident"))
    }

    /// Adds a note or an action to an incident's timeline.
    pub async fn record(
        &self,
        id: &str,
        document: &TimelineDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        document.validate()?;
        let mut incident = self.incident(id).await?;
        let entry = incident.record(by, document, now)?;
        if !self
            .store
            .append_timeline(incident.id, &entry)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::NotFound("incident"));
        }
        Ok(incident)
    }

    /// Acknowledges an open incident (its escalation stops).
    pub async fn acknowledge_incident(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        let mut incident = self.incident(id).await?;
        let (status, level) = (incident.status, incident.escalation_level);
        let entry = incident.acknowledge(by, now)?;
        self.change(incident, entry, status, level, Vec::new())
            .await
    }

    /// Resolves an incident.
    pub async fn resolve_incident(
        &self,
        id: &str,
        resolution: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Incident, MonitorError> {
        validate_resolution(resolution)?;
        let mut incident = self.incident(id).await?;
        let (status, level) = (incident.status, incident.escalation_level);
        let entry = incident.resolve(by, resolution, now)?;
        let deliveries = self
            .deliveries_of(EventType::IncidentResolved, &incident_json(&incident), now)
            .await?;
        self.change(incident, entry, status, level, deliveries)
            .await
    }

    async fn change(
        &self,
        incident: Incident,
        entry: rampart_monitor::TimelineEntry,
        expected_status: IncidentStatus,
        expected_level: u32,
        deliveries: Vec<Delivery>,
    ) -> Result<Incident, MonitorError> {
        let notify = !deliveries.is_empty();
        let change = IncidentChange {
            incident,
            entry,
            expected_status,
            expected_level,
            deliveries,
        };
        if !self
            .store
            .change_incident(&change)
            .await
            .map_err(MonitorError::store)?
        {
            return Err(MonitorError::Conflict(
                "the incident changed meanwhile; read it again and retry".to_owned(),
            ));
        }
        if notify {
            self.send_now.notify_one();
        }
        Ok(change.incident)
    }
}
