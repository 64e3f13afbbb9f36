//! From one evaluation step's reports to its alert writes: one write per alert, whatever the
//! number of reports. A group that crosses and keeps matching within the step gets one new
//! alert with every match in it, not an alert and a raise of an alert the store has not seen;
//! an active alert hit several times gets one raise.

use std::collections::HashMap;

use super::{Alert, AlertWrite, MAX_ALERT_SEQS, apply_fired};
use crate::engine::{Fired, Group};

/// The writes of a step's reports (in `seq` order), given the active alerts of their rules
/// and groups ([`crate::MonitorStore::active_alerts`]); `new_id` names each new alert.
pub fn plan_alerts(
    fired: &[Fired],
    active: &[Alert],
    mut new_id: impl FnMut() -> String,
) -> Vec<AlertWrite> {
    let mut writes: Vec<AlertWrite> = Vec::new();
    let mut by_key: HashMap<(&str, &Group), usize> = HashMap::new();
    for report in fired {
        let key = (report.rule.as_str(), &report.group);
        if let Some(&index) = by_key.get(&key) {
            if let Some(write) = writes.get_mut(index) {
                absorb(write, report);
            }
            continue;
        }
        let current = active
            .iter()
            .find(|a| a.status.is_active() && a.rule == report.rule && a.group == report.group);
        by_key.insert(key, writes.len());
        writes.push(apply_fired(current, report, &mut new_id));
    }
    writes
}

/// Adds a later report of the same rule and group to the step's write for it.
fn absorb(write: &mut AlertWrite, report: &Fired) {
    match write {
        AlertWrite::Open(alert) => {
            alert.raise(u64::from(report.count), &report.seqs, report.last_seen_at);
        }
        AlertWrite::Raise {
            count,
            seqs,
            last_seen_at,
            ..
        } => {
            *count = count.saturating_add(u64::from(report.count));
            let room = MAX_ALERT_SEQS.saturating_sub(seqs.len());
            seqs.extend(report.seqs.iter().take(room));
            *last_seen_at = (*last_seen_at).max(report.last_seen_at);
        }
    }
}
