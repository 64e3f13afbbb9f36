//! Audit pruning on both backends: pruned entries leave queries, counts and the query index
//! (at every index state, and after a rebuild) but stay in the log, marked; the database allows
//! exactly the pruned form below a prune horizon that never moves backwards; and the log over
//! a pruned store still verifies, proves and exports.

use rampart_audit::store::{AuditStore, EntryFilter};
use rampart_audit::tree::{verify_consistency, verify_inclusion};
use rampart_audit::{ReadError, Verifier};
use rampart_store::Backend;
use time::OffsetDateTime;

use crate::audit_index::{ENTRIES, assert_queries, filled};
use crate::fixture::Fixture;

on_both_backends!(
    pruned_entries_leave_queries_counts_and_the_index,
    the_database_allows_only_the_pruned_form_below_the_horizon,
    a_pruned_log_verifies_proves_and_exports,
);

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// How many postings name one of `seqs`.
async fn postings_of(f: &Fixture, seqs: &[u64]) -> i64 {
    let list: Vec<String> = seqs.iter().map(u64::to_string).collect();
    f.scalar_index(&format!(
        "SELECT COUNT(*) FROM audit_postings WHERE seq IN ({})",
        list.join(", ")
    ))
    .await
}

/// Entries pruned below the indexed size (their postings written) and above it (not yet).
const PRUNED: [u64; 8] = [0, 1, 9, 25, 46, 60, 77, 99];

async fn pruned_entries_leave_queries_counts_and_the_index(f: Fixture) {
    let _log = filled(&f).await;
    f.store.index_audit_entries(47).await.unwrap();
    assert!(postings_of(&f, &PRUNED[..5]).await > 0);

    let pruned = f
        .store
        .prune_audit_entries(100, &PRUNED, at(), "dc_test")
        .await
        .unwrap();
    assert_eq!(pruned, 8);
    assert_eq!(f.store.audit_prune_horizon().await.unwrap(), 100);
    assert_eq!(postings_of(&f, &PRUNED).await, 0);
    // Pruning again changes nothing.
    assert_eq!(
        f.store
            .prune_audit_entries(100, &PRUNED[..2], at(), "dc_other")
            .await
            .unwrap(),
        0
    );

    // entries() and leaves() keep them, marked; their content is gone.
    let entries = f.store.entries(0..ENTRIES as u64).await.unwrap();
    let leaves = f.store.leaves(0..ENTRIES as u64).await.unwrap();
    assert_eq!((entries.len(), leaves.len()), (ENTRIES, ENTRIES));
    for (entry, leaf) in entries.iter().zip(&leaves) {
        assert_eq!(entry.seq, leaf.seq);
        assert_eq!(entry.leaf_hash, leaf.leaf_hash);
        if PRUNED.contains(&entry.seq) {
            let mark = entry.pruned.as_ref().expect("marked pruned");
            assert_eq!(
                (mark.pruned_at, mark.certificate_id.as_str()),
                (at(), "dc_test")
            );
            assert!(leaf.pruned && leaf.body.is_empty() && entry.body.is_empty());
            assert_eq!(
                (entry.action.as_str(), &entry.team_id, &entry.subject_id),
                ("", &None, &None)
            );
            assert!(entry.tags.is_empty());
            assert_eq!(entry.id.len(), 36, "the id is kept");
        } else {
            assert!(entry.pruned.is_none() && !leaf.pruned && !entry.body.is_empty());
        }
    }

    // Queries and counts skip them, whichever part (postings or scan) would have found them.
    assert_queries(&f.store, "pruned, 47 indexed").await;
    let every = EntryFilter {
        limit: 1000,
        ..EntryFilter::default()
    };
    let seqs: Vec<u64> = f
        .store
        .query(&every)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs.len(), ENTRIES - PRUNED.len());
    assert!(!seqs.iter().any(|s| PRUNED.contains(s)));
    assert_eq!(
        f.store.count(&every).await.unwrap(),
        (ENTRIES - PRUNED.len()) as u64
    );

    // The indexer reads the pruned rows above the indexed size and posts nothing for them;
    // it ends a pass on a pruned row (99) and the next pass finds the index matching.
    let progress = f.store.index_audit_entries(53).await.unwrap();
    assert_eq!((progress.indexed_size, progress.rebuilt), (100, false));
    assert_eq!(postings_of(&f, &PRUNED).await, 0);
    let progress = f.store.index_audit_entries(1_000).await.unwrap();
    assert_eq!(
        (progress.indexed_size, progress.rebuilt),
        (ENTRIES as u64, false)
    );
    assert_queries(&f.store, "pruned, all indexed").await;

    // A posting a crash left behind (pruned after the indexer read the row) finds nothing.
    f.exec_raw_index("INSERT INTO audit_postings (term, seq) VALUES ('a:u0', 0)")
        .await;
    let u0 = EntryFilter {
        actor_id: Some("u0".into()),
        limit: 1000,
        ..EntryFilter::default()
    };
    assert!(!f.store.query(&u0).await.unwrap().iter().any(|e| e.seq == 0));
    assert_queries(&f.store, "pruned, a stale posting").await;

    // A rebuilt index posts nothing for them either.
    f.exec_raw_index("UPDATE audit_index_state SET last_leaf = NULL")
        .await;
    let progress = f.store.index_audit_entries(1_000).await.unwrap();
    assert!(progress.rebuilt);
    assert_eq!(postings_of(&f, &PRUNED).await, 0);
    assert_queries(&f.store, "pruned, rebuilt").await;
}

/// The pruned form of seq `seq` as raw SQL, with each `(column, value)` of `changes` set
/// instead of (or beside) what pruning sets.
fn raw_prune(seq: u64, changes: &[(&str, &str)]) -> String {
    let mut set = vec![
        ("body", "''"),
        ("actor_type", "''"),
        ("actor_id", "''"),
        ("action", "''"),
        ("resource_type", "''"),
        ("resource_id", "NULL"),
        ("team_id", "NULL"),
        ("status", "''"),
        ("subject_id", "NULL"),
        ("tags", "'[]'"),
        ("pruned_at", "1"),
        ("certificate_id", "'dc_raw'"),
    ];
    for &(column, value) in changes {
        match set.iter_mut().find(|(c, _)| *c == column) {
            Some(pair) => pair.1 = value,
            None => set.push((column, value)),
        }
    }
    let set: Vec<String> = set.iter().map(|(c, v)| format!("{c} = {v}")).collect();
    format!(
        "UPDATE audit_entries SET {} WHERE seq = {seq}",
        set.join(", ")
    )
}

async fn refused(f: &Fixture, sql: &str, words: &str) {
    let error = f.try_exec_raw(sql).await.expect_err(sql);
    assert!(error.contains(words), "{sql}: {error}");
}

async fn the_database_allows_only_the_pruned_form_below_the_horizon(f: Fixture) {
    let log = filled(&f).await;
    assert_eq!(f.store.audit_prune_horizon().await.unwrap(), 0);
    assert_eq!(
        f.store
            .prune_audit_entries(10, &[2, 3], at(), "dc_1")
            .await
            .unwrap(),
        2
    );
    assert_eq!(f.store.audit_prune_horizon().await.unwrap(), 10);

    // At or above the horizon, even in exactly the pruned form.
    refused(&f, &raw_prune(10, &[]), "append-only").await;
    refused(&f, &raw_prune(50, &[]), "append-only").await;
    // Below it, anything but the pruned form: a kept column changed, content left, no mark.
    let ts = f.scalar("SELECT ts FROM audit_entries WHERE seq = 5").await;
    let later = (ts + 1).to_string();
    for changes in [
        vec![(
            "leaf_hash",
            "(SELECT leaf_hash FROM audit_entries WHERE seq = 6)",
        )],
        vec![("ts", later.as_str())],
        vec![("id", "'another'")],
        vec![("body", "'{}'")],
        vec![("action", "'record.read'")],
        vec![("certificate_id", "NULL")],
        vec![("pruned_at", "NULL")],
    ] {
        refused(&f, &raw_prune(5, &changes), "append-only").await;
    }
    refused(
        &f,
        "UPDATE audit_entries SET pruned_at = 1, certificate_id = 'dc_raw' WHERE seq = 5",
        "append-only",
    )
    .await;
    // A pruned entry is pruned once: its mark cannot be rewritten.
    refused(
        &f,
        "UPDATE audit_entries SET certificate_id = 'dc_forged' WHERE seq = 2",
        "append-only",
    )
    .await;
    // Never deleted, pruned or not.
    refused(&f, "DELETE FROM audit_entries WHERE seq = 2", "append-only").await;
    refused(
        &f,
        "DELETE FROM audit_entries WHERE seq = 50",
        "append-only",
    )
    .await;
    // The horizon never moves backwards, nor past the log, nor goes away.
    refused(
        &f,
        "UPDATE audit_prune_horizon SET below_seq = 5",
        "prune horizon",
    )
    .await;
    refused(
        &f,
        &format!("UPDATE audit_prune_horizon SET below_seq = {}", ENTRIES + 1),
        "prune horizon",
    )
    .await;
    refused(&f, "DELETE FROM audit_prune_horizon", "prune horizon").await;
    // Through the store a lower horizon is no change, not a move back.
    assert_eq!(
        f.store
            .prune_audit_entries(4, &[], at(), "dc_2")
            .await
            .unwrap(),
        0
    );
    assert_eq!(f.store.audit_prune_horizon().await.unwrap(), 10);
    // A seq at or above the horizon given refuses the whole pruning: nothing changes.
    assert!(
        f.store
            .prune_audit_entries(12, &[11, 15], at(), "dc_3")
            .await
            .is_err()
    );
    assert_eq!(f.store.audit_prune_horizon().await.unwrap(), 10);
    let entries = f.store.entries(11..12).await.unwrap();
    assert!(
        entries[0].pruned.is_none(),
        "the refused pruning left seq 11"
    );

    // The exact pruned form below the horizon is what the database allows (the control).
    f.exec_raw(&raw_prune(5, &[])).await;
    let report = log.verify().await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.pruned_entries, 3);
    if f.store.backend() == Backend::Postgres {
        refused(&f, "TRUNCATE audit_prune_horizon", "append-only").await;
    }
}

async fn a_pruned_log_verifies_proves_and_exports(f: Fixture) {
    let log = filled(&f).await;
    let before = log.latest_checkpoint().await.unwrap();
    let leaves = f.store.leaves(0..ENTRIES as u64).await.unwrap();
    f.store
        .prune_audit_entries(100, &PRUNED, at(), "dc_test")
        .await
        .unwrap();

    let report = log.verify().await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.pruned_entries, PRUNED.len() as u64);
    assert_eq!(report.checked_entries, (ENTRIES - PRUNED.len()) as u64);

    for seq in [9u64, 10] {
        let proof = log.prove_inclusion(seq, None).await.unwrap();
        assert_eq!(
            proof.leaf_hash,
            leaves[usize::try_from(seq).unwrap()].leaf_hash
        );
        assert!(verify_inclusion(
            &proof.leaf_hash,
            seq,
            ENTRIES as u64,
            &proof.hashes,
            &before.root_hash
        ));
    }
    match log.entry_for(9, None).await {
        Err(ReadError::Pruned { seq: 9, pruned, .. }) => {
            assert_eq!(pruned.certificate_id, "dc_test");
        }
        other => panic!("{other:?}"),
    }

    // The log grows on; the checkpoint from before the prune is consistent with the new one.
    log.append(
        vec![
            rampart_audit::NewEntry::from_json(
                &serde_json::json!({"actor": {"type": "user", "id": "u1"}, "action": "record.read",
                    "resource": {"type": "record"}, "status": "success"}),
                "",
            )
            .unwrap(),
        ],
        rampart_audit::SubmittedBy::rampart(),
    )
    .await
    .unwrap();
    let after = log.latest_checkpoint().await.unwrap();
    let proof = log.prove_consistency(ENTRIES as u64, None).await.unwrap();
    assert!(verify_consistency(
        ENTRIES as u64,
        after.tree_size,
        &before.root_hash,
        &after.root_hash,
        &proof.hashes
    ));

    let plan = log.plan_export(None, None).await.unwrap();
    let text = log.export_lines(plan.range.clone(), None).await.unwrap() + &plan.trailer;
    assert_eq!(text.matches("\"pruned\":true").count(), PRUNED.len());
    let mut verifier = Verifier::new();
    verifier.read_all(text.as_bytes(), |_| {}).unwrap();
    let report = verifier.finish(Some(log.verifier()));
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.pruned_entries, PRUNED.len() as u64);
}
