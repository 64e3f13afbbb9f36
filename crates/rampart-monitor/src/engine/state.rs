//! The evaluator's memory: one sliding [`Window`] per (rule, group), and the windows changed
//! since the store last took them, so the store writes only those rows in the transaction that
//! advances the cursor. Serializable whole as well (a list of windows), for a store that keeps
//! it as one document.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{EntryView, Evaluator, Fired, Group, time_of};
use crate::rules::Rule;

/// A window's identity: the rule and the group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WindowKey {
    /// The rule's name.
    pub rule: String,
    /// The group.
    pub group: Group,
}

/// One matching entry a window holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// Its `seq`.
    pub seq: u64,
    /// Its time, microseconds since the Unix epoch.
    pub at_micros: i64,
}

/// The most recent matches of one group within the rule's window, oldest first, at most
/// `threshold` of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The matches.
    pub hits: VecDeque<Hit>,
}

/// One window to write (`Some`) or delete (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowChange {
    /// Which window.
    pub key: WindowKey,
    /// Its new content, `None` when it is gone.
    pub window: Option<Window>,
}

/// Every window, and which changed since [`WindowState::take_changes`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<WindowChange>", into = "Vec<WindowChange>")]
pub struct WindowState {
    windows: HashMap<String, HashMap<Group, Window>>,
    changed: BTreeSet<WindowKey>,
}

impl From<Vec<WindowChange>> for WindowState {
    fn from(records: Vec<WindowChange>) -> Self {
        Self::from_windows(
            records
                .into_iter()
                .filter_map(|r| r.window.map(|window| (r.key, window))),
        )
    }
}

impl From<WindowState> for Vec<WindowChange> {
    fn from(state: WindowState) -> Self {
        let mut all: Vec<WindowChange> = state
            .windows
            .into_iter()
            .flat_map(|(rule, groups)| {
                groups.into_iter().map(move |(group, window)| WindowChange {
                    key: WindowKey {
                        rule: rule.clone(),
                        group,
                    },
                    window: Some(window),
                })
            })
            .collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}

impl WindowState {
    /// No windows.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The state the store kept (nothing marked changed).
    pub fn from_windows(windows: impl IntoIterator<Item = (WindowKey, Window)>) -> Self {
        let mut state = Self::new();
        for (key, window) in windows {
            state
                .windows
                .entry(key.rule)
                .or_default()
                .insert(key.group, window);
        }
        state
    }

    /// The window of a rule and group.
    #[must_use]
    pub fn window(&self, rule: &str, group: &Group) -> Option<&Window> {
        self.windows.get(rule)?.get(group)
    }

    /// How many windows there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.windows.values().map(HashMap::len).sum()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The windows changed since the last call, to write with the cursor; the state then
    /// counts as stored.
    pub fn take_changes(&mut self) -> Vec<WindowChange> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .map(|key| {
                let window = self.window(&key.rule, &key.group).cloned();
                WindowChange { key, window }
            })
            .collect()
    }

    /// Drops the windows that can no longer count toward a firing at `now_micros`: every hit
    /// older than its rule's window, or a rule no longer enabled. How many went.
    pub fn expire(&mut self, evaluator: &Evaluator, now_micros: i64) -> usize {
        let mut gone = Vec::new();
        for (rule, groups) in &mut self.windows {
            let window = evaluator.window_of(rule);
            groups.retain(|group, w| {
                let keep = window.is_some_and(|micros| {
                    w.hits
                        .back()
                        .is_some_and(|h| h.at_micros >= now_micros.saturating_sub(micros))
                });
                if !keep {
                    gone.push(WindowKey {
                        rule: rule.clone(),
                        group: group.clone(),
                    });
                }
                keep
            });
        }
        self.windows.retain(|_, groups| !groups.is_empty());
        let count = gone.len();
        self.changed.extend(gone);
        count
    }

    /// Counts a matching entry in its group's window; a report when that leaves it full.
    pub(super) fn record(
        &mut self,
        rule: &Rule,
        window_micros: i64,
        entry: &EntryView<'_>,
    ) -> Option<Fired> {
        let group: Group = rule
            .group_by()
            .iter()
            .map(|path| (path.to_string(), entry.value_at(path)))
            .collect();
        if !self.windows.contains_key(rule.name()) {
            self.windows.insert(rule.name().to_owned(), HashMap::new());
        }
        let window = self
            .windows
            .get_mut(rule.name())
            .map(|groups| groups.entry(group.clone()).or_default())?;
        // Entries come in seq order: one already counted (a replay) changes nothing.
        if window.hits.back().is_some_and(|h| h.seq >= entry.seq) {
            return None;
        }
        let cutoff = entry.at_micros.saturating_sub(window_micros);
        window.hits.retain(|h| h.at_micros >= cutoff);
        let threshold = usize::try_from(rule.threshold()).unwrap_or(usize::MAX);
        let was_full = window.hits.len() >= threshold;
        window.hits.push_back(Hit {
            seq: entry.seq,
            at_micros: entry.at_micros,
        });
        while window.hits.len() > threshold {
            window.hits.pop_front();
        }
        let full = window.hits.len() >= threshold;
        let fired = full.then(|| {
            let counted: Vec<Hit> = if was_full {
                window.hits.back().copied().into_iter().collect()
            } else {
                window.hits.iter().copied().collect()
            };
            let first = counted
                .iter()
                .map(|h| h.at_micros)
                .min()
                .unwrap_or(entry.at_micros);
            Fired {
                rule: rule.name().to_owned(),
                severity: rule.severity(),
                group: group.clone(),
                crossing: !was_full,
                count: u32::try_from(counted.len()).unwrap_or(u32::MAX),
                seqs: counted.iter().map(|h| h.seq).collect(),
                first_seen_at: time_of(first),
                last_seen_at: time_of(entry.at_micros),
                open_incident: rule.open_incident(),
            }
        });
        self.changed.insert(WindowKey {
            rule: rule.name().to_owned(),
            group,
        });
        fired
    }
}
