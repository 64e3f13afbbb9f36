//! Query terms: what the audit log's query index holds for an entry, and which terms drive a
//! query.
//!
//! The index is a list of postings `(term, seq)`, one per indexed field value of an entry. It is
//! derived data, built after commit by an indexer (so appends pay for none of it) and rebuilt
//! from the entries whenever it is missing or does not match them. A query with an indexed
//! filter walks the postings of one term (its *driving term*) in `seq` order and checks the
//! other filters on each entry; entries the indexer has not reached yet are scanned directly,
//! so every committed entry is visible to queries at once.
//!
//! Each term is a one-letter field tag, a colon, and the value; values are stored as given
//! (any byte sequence of a valid entry), and tags keep fields apart (`a:x` is never `c:x`).

use crate::store::{ActionFilter, EntryFilter, StoredEntry};

/// The field a term indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `actor.id`.
    Actor,
    /// `action`, exact.
    Action,
    /// `resource.type` and `resource.id` together.
    Resource,
    /// `context.team_id`.
    Team,
    /// `subject_id`.
    Subject,
    /// One of `compliance_tags`.
    Tag,
    /// `status`, when it is not `success` (the common value would select nearly everything).
    UnusualStatus,
}

impl Field {
    fn prefix(self) -> &'static str {
        match self {
            Self::Actor => "a:",
            Self::Action => "c:",
            Self::Resource => "r:",
            Self::Team => "m:",
            Self::Subject => "s:",
            Self::Tag => "g:",
            Self::UnusualStatus => "x:",
        }
    }
}

fn term(field: Field, value: &str) -> String {
    let prefix = field.prefix();
    let mut term = String::with_capacity(prefix.len() + value.len());
    term.push_str(prefix);
    term.push_str(value);
    term
}

/// The resource term joins type and id with a unit separator, a control character the entry
/// validation refuses in every field, so no two resources share a term.
fn resource_term(resource_type: &str, resource_id: &str) -> String {
    let mut value = String::with_capacity(resource_type.len() + 1 + resource_id.len());
    value.push_str(resource_type);
    value.push('\u{1f}');
    value.push_str(resource_id);
    term(Field::Resource, &value)
}

/// The status every ordinary entry has: not indexed.
const COMMON_STATUS: &str = "success";

/// The terms the index holds for `entry`, each once.
pub fn terms(entry: &StoredEntry) -> Vec<String> {
    let mut terms = Vec::with_capacity(5 + entry.tags.len());
    terms.push(term(Field::Actor, &entry.actor_id));
    terms.push(term(Field::Action, &entry.action));
    if let Some(id) = &entry.resource_id {
        terms.push(resource_term(&entry.resource_type, id));
    }
    if let Some(team) = &entry.team_id {
        terms.push(term(Field::Team, team));
    }
    if let Some(subject) = &entry.subject_id {
        terms.push(term(Field::Subject, subject));
    }
    if entry.status != COMMON_STATUS {
        terms.push(term(Field::UnusualStatus, &entry.status));
    }
    for tag in &entry.tags {
        let tag = term(Field::Tag, tag);
        if !terms.contains(&tag) {
            terms.push(tag);
        }
    }
    terms
}

/// The terms whose postings hold every entry `filter` can match (any of them, so a query walks
/// their union), or `None` when no filter is indexed and the query scans the entries instead.
///
/// The most selective indexed filter drives: a resource, then a subject, an actor, a team, an
/// unusual status, a tag, an exact action; team isolation (the teams a reader may see) drives
/// when nothing else does. Every other filter is still checked on each entry.
pub fn driving_terms(filter: &EntryFilter) -> Option<Vec<String>> {
    if let (Some(kind), Some(id)) = (&filter.resource_type, &filter.resource_id) {
        return Some(vec![resource_term(kind, id)]);
    }
    if let Some(subject) = &filter.subject_id {
        return Some(vec![term(Field::Subject, subject)]);
    }
    if let Some(actor) = &filter.actor_id {
        return Some(vec![term(Field::Actor, actor)]);
    }
    if let Some(team) = &filter.team_id {
        return Some(vec![term(Field::Team, team)]);
    }
    if let Some(status) = filter.status.as_deref().filter(|s| *s != COMMON_STATUS) {
        return Some(vec![term(Field::UnusualStatus, status)]);
    }
    if let Some(tag) = &filter.tag {
        return Some(vec![term(Field::Tag, tag)]);
    }
    if let Some(ActionFilter::Exact(action)) = &filter.action {
        return Some(vec![term(Field::Action, action)]);
    }
    match &filter.visible_teams {
        Some(teams) if !teams.is_empty() => {
            Some(teams.iter().map(|team| term(Field::Team, team)).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> StoredEntry {
        StoredEntry {
            seq: 7,
            id: "id".to_owned(),
            timestamp_micros: 0,
            actor_type: "service".to_owned(),
            actor_id: "svc-1".to_owned(),
            action: "payment.authorize".to_owned(),
            resource_type: "payment".to_owned(),
            resource_id: Some("pay-1".to_owned()),
            team_id: Some("payments".to_owned()),
            status: "success".to_owned(),
            subject_id: None,
            tags: vec!["pci-dss".to_owned(), "pci-dss".to_owned(), "sox".to_owned()],
            body: String::new(),
            leaf_hash: [0; 32],
            pruned: None,
        }
    }

    #[test]
    fn an_entry_has_a_term_per_indexed_value_each_once() {
        assert_eq!(
            terms(&entry()),
            [
                "a:svc-1",
                "c:payment.authorize",
                "r:payment\u{1f}pay-1",
                "m:payments",
                "g:pci-dss",
                "g:sox"
            ]
        );
        let mut failed = entry();
        failed.status = "failure".to_owned();
        failed.resource_id = None;
        failed.team_id = None;
        failed.subject_id = Some("subject-9".to_owned());
        failed.tags.clear();
        assert_eq!(
            terms(&failed),
            ["a:svc-1", "c:payment.authorize", "s:subject-9", "x:failure"]
        );
    }

    #[test]
    fn every_driving_term_is_a_term_of_each_entry_the_filter_matches() {
        let e = entry();
        let held = terms(&e);
        let filters = [
            EntryFilter {
                resource_type: Some("payment".to_owned()),
                resource_id: Some("pay-1".to_owned()),
                actor_id: Some("svc-1".to_owned()),
                ..EntryFilter::default()
            },
            EntryFilter {
                actor_id: Some("svc-1".to_owned()),
                ..EntryFilter::default()
            },
            EntryFilter {
                team_id: Some("payments".to_owned()),
                ..EntryFilter::default()
            },
            EntryFilter {
                tag: Some("sox".to_owned()),
                ..EntryFilter::default()
            },
            EntryFilter {
                action: Some(ActionFilter::Exact("payment.authorize".to_owned())),
                ..EntryFilter::default()
            },
            EntryFilter {
                visible_teams: Some(vec!["payments".to_owned(), "other".to_owned()]),
                ..EntryFilter::default()
            },
        ];
        for filter in filters {
            let driving = driving_terms(&filter).expect("indexed");
            assert!(
                driving.iter().any(|t| held.contains(t)),
                "{filter:?} drives by {driving:?}, not among {held:?}"
            );
        }
    }

    #[test]
    fn filters_the_index_cannot_narrow_scan() {
        for filter in [
            EntryFilter::default(),
            EntryFilter {
                status: Some("success".to_owned()),
                actor_type: Some("service".to_owned()),
                resource_type: Some("payment".to_owned()),
                action: Some(ActionFilter::Prefix("payment.".to_owned())),
                ..EntryFilter::default()
            },
            EntryFilter {
                visible_teams: Some(Vec::new()),
                ..EntryFilter::default()
            },
        ] {
            assert_eq!(driving_terms(&filter), None, "{filter:?}");
        }
    }

    #[test]
    fn fields_with_the_same_value_have_different_terms() {
        let same = EntryFilter {
            actor_id: Some("x".to_owned()),
            ..EntryFilter::default()
        };
        let team = EntryFilter {
            team_id: Some("x".to_owned()),
            ..EntryFilter::default()
        };
        assert_ne!(driving_terms(&same), driving_terms(&team));
    }
}
