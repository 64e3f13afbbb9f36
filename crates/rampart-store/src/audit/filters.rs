//! The SQL of `GET /v1/audit/entries` filters, shared by the scan of the entries and the walk of
//! the query index's postings.

use rampart_audit::store::{ActionFilter, EntryFilter};
use sqlx::QueryBuilder;

use super::{READ_COLUMNS, seq_i64};
use crate::StoreError;

/// The entry columns a read loads, each prefixed (`e.seq, e.id, ...`) for a join.
pub(super) fn prefixed_columns(prefix: &str) -> String {
    READ_COLUMNS
        .split(", ")
        .map(|column| format!("{prefix}{column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Appends `AND ...` for every filter of `filter` but the seq bounds, on entry columns named
/// with `prefix` (`""` or `"e."`), and excludes pruned entries: no filter ever matches one (a
/// posting left behind by a pruning that crashed names an entry skipped here). The query must
/// already have a `WHERE`.
pub(super) fn push_filters<DB>(
    q: &mut QueryBuilder<DB>,
    filter: &EntryFilter,
    prefix: &str,
    is_postgres: bool,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'t> &'t str: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> i32: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    q.push(format!(" AND {prefix}pruned_at IS NULL"));
    let text_filters = [
        ("actor_id", &filter.actor_id),
        ("actor_type", &filter.actor_type),
        ("resource_type", &filter.resource_type),
        ("resource_id", &filter.resource_id),
        ("team_id", &filter.team_id),
        ("status", &filter.status),
        ("subject_id", &filter.subject_id),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            q.push(format!(" AND {prefix}{column} = "))
                .push_bind(value.as_str());
        }
    }
    match &filter.action {
        Some(ActionFilter::Exact(action)) => {
            q.push(format!(" AND {prefix}action = "))
                .push_bind(action.as_str());
        }
        Some(ActionFilter::Prefix(action_prefix)) => {
            // Byte-exact and case-sensitive on both backends, whatever the collation.
            let len = i32::try_from(action_prefix.chars().count()).unwrap_or(i32::MAX);
            q.push(format!(" AND substr({prefix}action, 1, "))
                .push_bind(len)
                .push(") = ")
                .push_bind(action_prefix.as_str());
        }
        None => {}
    }
    if let Some(tag) = &filter.tag {
        // `tags` is a JSON array of strings: match an element exactly.
        if is_postgres {
            q.push(format!(" AND {prefix}tags::jsonb @> jsonb_build_array("))
                .push_bind(tag.as_str())
                .push("::text)");
        } else {
            q.push(format!(
                " AND EXISTS (SELECT 1 FROM json_each({prefix}tags) WHERE json_each.value = "
            ))
            .push_bind(tag.as_str())
            .push(")");
        }
    }
    if let Some(teams) = &filter.visible_teams {
        if teams.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            q.push(format!(" AND {prefix}team_id IN ("));
            let mut separated = q.separated(", ");
            for team in teams {
                separated.push_bind(team.as_str());
            }
            separated.push_unseparated(")");
        }
    }
    if let Some(since) = filter.since_micros {
        q.push(format!(" AND {prefix}ts >= ")).push_bind(since);
    }
    if let Some(until) = filter.until_micros {
        q.push(format!(" AND {prefix}ts <= ")).push_bind(until);
    }
    Ok(())
}

/// Appends `AND ...` for the seq bounds of `filter` (`from_seq`, `to_seq`, the cursor) on the
/// `seq` of the table named with `prefix`.
pub(super) fn push_seq_bounds<DB>(
    q: &mut QueryBuilder<DB>,
    filter: &EntryFilter,
    prefix: &str,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    if let Some(from) = filter.from_seq.map(seq_i64).transpose()? {
        q.push(format!(" AND {prefix}seq >= ")).push_bind(from);
    }
    if let Some(to) = filter.to_seq.map(seq_i64).transpose()? {
        q.push(format!(" AND {prefix}seq <= ")).push_bind(to);
    }
    if let Some(after) = filter.after_seq.map(seq_i64).transpose()? {
        q.push(if filter.descending {
            format!(" AND {prefix}seq < ")
        } else {
            format!(" AND {prefix}seq > ")
        })
        .push_bind(after);
    }
    Ok(())
}

/// Appends the order (by `seq` of the table named with `prefix`) and the limit.
pub(super) fn push_order<DB>(q: &mut QueryBuilder<DB>, filter: &EntryFilter, prefix: &str)
where
    DB: sqlx::Database,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    q.push(if filter.descending {
        format!(" ORDER BY {prefix}seq DESC")
    } else {
        format!(" ORDER BY {prefix}seq ASC")
    });
    q.push(" LIMIT ").push_bind(i64::from(filter.limit));
}
