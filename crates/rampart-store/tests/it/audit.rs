//! The audit log over real storage, on both backends: appends, group commit races, proofs,
//! queries, append-only enforcement, and verification that names every kind of tampering.

use std::sync::Arc;

use rampart_audit::checkpoint::LogSigner;
use rampart_audit::entry::{NewEntry, SubmittedBy};
use rampart_audit::store::{ActionFilter, AuditStore, EntryFilter};
use rampart_audit::tree::{verify_consistency, verify_inclusion};
use rampart_audit::{AuditLog, VerifyReport};
use rampart_store::Backend;
use serde_json::json;

use crate::fixture::Fixture;

on_both_backends!(
    appends_are_durable_and_provable,
    concurrent_writers_never_fork_the_log,
    queries_filter_and_paginate,
    audit_tables_are_append_only,
    edited_entry_is_named,
    deleted_entry_is_named,
    swapped_entries_are_named,
    truncated_tail_is_caught,
    replaced_checkpoint_is_caught,
    changes_commit_with_their_entries_or_not_at_all,
    reads_for_a_reader_apply_team_isolation_and_range_checks,
);

fn signer() -> LogSigner {
    LogSigner::from_seed("rampart.test/log", &[5; 32]).unwrap()
}

async fn open(f: &Fixture) -> AuditLog<rampart_store::Store> {
    f.store.migrate().await.unwrap();
    AuditLog::open(
        f.store.clone(),
        signer(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap()
}

fn event(i: usize, action: &str, tags: &[&str]) -> NewEntry {
    NewEntry::from_json(
        &json!({"actor": {"type": "user", "id": format!("u{}", i % 3)}, "action": action,
            "resource": {"type": "record", "id": format!("r{i}")}, "status": if i.is_multiple_of(2) { "success" } else { "failure" },
            "context": {"team_id": if i.is_multiple_of(2) { "payments" } else { "care" }},
            "compliance_tags": tags, "subject_id": format!("s{}", i % 4), "details": {"i": i}}),
        "",
    )
    .unwrap()
}

fn by() -> SubmittedBy {
    SubmittedBy {
        principal_id: "p1".into(),
        credential_id: Some("k1".into()),
    }
}

async fn fill(log: &AuditLog<rampart_store::Store>, n: usize) {
    let batch: Vec<NewEntry> = (0..n)
        .map(|i| event(i, "record.read", &["hipaa"]))
        .collect();
    log.append(batch, by()).await.unwrap();
}

async fn appends_are_durable_and_provable(f: Fixture) {
    let log = open(&f).await;
    let first = log
        .append(vec![event(0, "record.read", &[])], by())
        .await
        .unwrap();
    assert_eq!(first.tree_size, 1);
    assert_eq!(first.entries[0].seq, 0);
    // A batch large enough to complete stored tiles (level 8 = 256 leaves).
    let batch: Vec<NewEntry> = (1..700)
        .map(|i| event(i, "record.write", &["hipaa", "gdpr"]))
        .collect();
    let receipt = log.append(batch, by()).await.unwrap();
    assert_eq!(receipt.tree_size, 700);
    assert_eq!(receipt.entries.len(), 699);
    assert_eq!(receipt.entries.last().unwrap().seq, 699);

    let head = f.store.head().await.unwrap();
    assert_eq!(head.size, 700);
    let checkpoint = log.latest_checkpoint().await.unwrap();
    assert_eq!(checkpoint.tree_size, 700);
    assert_eq!(checkpoint.root_hash, head.root);
    log.verifier().verify_note(&checkpoint.note).unwrap();

    for seq in [0u64, 1, 255, 256, 511, 699] {
        let (leaf, path) = log.inclusion_proof(seq, 700).await.unwrap().unwrap();
        assert!(
            verify_inclusion(&leaf, seq, 700, &path, &head.root),
            "seq {seq}"
        );
    }
    let old = log.checkpoint_at(300).await.unwrap();
    let proof = log.consistency_proof(300, 700).await.unwrap().unwrap();
    assert!(verify_consistency(
        300,
        700,
        &old.root_hash,
        &head.root,
        &proof
    ));
    assert!(log.inclusion_proof(700, 700).await.unwrap().is_err());

    // A reopened log continues where the stored one ends.
    let again = AuditLog::open(
        f.store.clone(),
        signer(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap();
    let next = again
        .append(vec![event(1, "record.read", &[])], by())
        .await
        .unwrap();
    assert_eq!(next.entries[0].seq, 700);
    // Crossing a tile boundary (768) after the reopen: the partial tile reloaded from storage
    // must pack into the same tile an uninterrupted writer would have written.
    let more: Vec<NewEntry> = (0..100).map(|i| event(i, "record.read", &[])).collect();
    again.append(more, by()).await.unwrap();
    let head = f.store.head().await.unwrap();
    assert_eq!(head.size, 801);
    for seq in [700u64, 767, 768, 800] {
        let (leaf, path) = again.inclusion_proof(seq, 801).await.unwrap().unwrap();
        assert!(
            verify_inclusion(&leaf, seq, 801, &path, &head.root),
            "seq {seq}"
        );
    }
    let report = again.verify().await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.checked_entries, 801);
}

async fn concurrent_writers_never_fork_the_log(f: Fixture) {
    // Two logs over one database are two servers: they serialize on the head row.
    let a = open(&f).await;
    let b = AuditLog::open(
        f.store.clone(),
        signer(),
        Arc::new(time::OffsetDateTime::now_utc),
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40usize {
        let log = if i.is_multiple_of(2) {
            a.clone()
        } else {
            b.clone()
        };
        tasks.push(tokio::spawn(async move {
            log.append(
                vec![event(i, "record.read", &[]), event(i, "record.write", &[])],
                by(),
            )
            .await
            .unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let receipt = task.await.unwrap();
        // A request's entries stay together.
        assert_eq!(receipt.entries[1].seq, receipt.entries[0].seq + 1);
        seqs.extend(receipt.entries.iter().map(|e| e.seq));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..80).collect::<Vec<u64>>());
    let report = a.verify().await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.tree_size, 80);
}

async fn queries_filter_and_paginate(f: Fixture) {
    let log = open(&f).await;
    let batch: Vec<NewEntry> = (0..30)
        .map(|i| {
            event(
                i,
                if i < 10 {
                    "payment.authorize"
                } else if i < 20 {
                    "payment.refund"
                } else {
                    "paymentx.other"
                },
                if i.is_multiple_of(5) {
                    &["pci-dss"]
                } else {
                    &[]
                },
            )
        })
        .collect();
    log.append(batch, by()).await.unwrap();
    let query = |filter: EntryFilter| {
        let store = f.store.clone();
        async move {
            store
                .query(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.seq)
                .collect::<Vec<u64>>()
        }
    };
    let base = EntryFilter {
        limit: 100,
        ..EntryFilter::default()
    };
    assert_eq!(
        query(EntryFilter {
            action: Some(ActionFilter::Prefix("payment.".into())),
            ..base.clone()
        })
        .await,
        (0..20).collect::<Vec<_>>()
    );
    assert_eq!(
        query(EntryFilter {
            action: Some(ActionFilter::Exact("payment.refund".into())),
            ..base.clone()
        })
        .await,
        (10..20).collect::<Vec<_>>()
    );
    assert_eq!(
        query(EntryFilter {
            tag: Some("pci-dss".into()),
            ..base.clone()
        })
        .await,
        vec![0, 5, 10, 15, 20, 25]
    );
    assert_eq!(
        query(EntryFilter {
            actor_id: Some("u1".into()),
            to_seq: Some(10),
            ..base.clone()
        })
        .await,
        vec![1, 4, 7, 10]
    );
    assert_eq!(
        query(EntryFilter {
            status: Some("failure".into()),
            team_id: Some("care".into()),
            from_seq: Some(25),
            ..base.clone()
        })
        .await,
        vec![25, 27, 29]
    );
    assert_eq!(
        query(EntryFilter {
            subject_id: Some("s3".into()),
            resource_id: Some("r7".into()),
            ..base.clone()
        })
        .await,
        vec![7]
    );
    assert_eq!(
        query(EntryFilter {
            resource_type: Some("nothing".into()),
            ..base.clone()
        })
        .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        query(EntryFilter {
            actor_type: Some("user".into()),
            limit: 3,
            descending: true,
            ..base.clone()
        })
        .await,
        vec![29, 28, 27]
    );
    assert_eq!(
        query(EntryFilter {
            limit: 3,
            descending: true,
            after_seq: Some(27),
            ..base.clone()
        })
        .await,
        vec![26, 25, 24]
    );
    assert_eq!(
        query(EntryFilter {
            limit: 2,
            after_seq: Some(3),
            ..base.clone()
        })
        .await,
        vec![4, 5]
    );
    let now = time::OffsetDateTime::now_utc();
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap();
    assert_eq!(
        query(EntryFilter {
            since_micros: Some(micros + 60_000_000),
            ..base.clone()
        })
        .await,
        Vec::<u64>::new()
    );
    assert_eq!(
        query(EntryFilter {
            until_micros: Some(micros + 60_000_000),
            limit: 1,
            ..base.clone()
        })
        .await,
        vec![0]
    );
}

async fn audit_tables_are_append_only(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 3).await;
    for sql in [
        "UPDATE audit_entries SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_head SET size = 1",
    ] {
        let error = f.try_exec_raw(sql).await.expect_err(sql);
        assert!(
            error.contains("append-only") || error.contains("cannot shrink"),
            "{sql}: {error}"
        );
    }
    if f.store.backend() == Backend::Postgres {
        let error = f
            .try_exec_raw("TRUNCATE audit_entries")
            .await
            .expect_err("truncate");
        assert!(error.contains("append-only"), "{error}");
    }
    assert!(log.verify().await.unwrap().ok);
}

/// What an attacker with the database owner's rights does first.
async fn drop_guards(f: &Fixture) {
    match f.store.backend() {
        Backend::Sqlite => {
            for table in ["audit_entries", "audit_checkpoints"] {
                f.exec_raw(&format!(
                    "DROP TRIGGER {table}_no_update; DROP TRIGGER {table}_no_delete;"
                ))
                .await;
            }
            f.exec_raw("DROP TRIGGER audit_head_only_grows").await;
        }
        Backend::Postgres => {
            f.exec_raw(
                "ALTER TABLE audit_entries DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; ALTER TABLE audit_head DISABLE TRIGGER USER;",
            )
            .await;
        }
    }
}

fn assert_named(report: &VerifyReport, seq: Option<u64>, words: &str) {
    assert!(!report.ok, "tampering went unnoticed");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.problem.contains(words) && (seq.is_none() || p.seq == seq)),
        "expected a problem at {seq:?} with '{words}', got {:#?}",
        report.problems
    );
}

async fn edited_entry_is_named(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 20).await;
    drop_guards(&f).await;
    f.exec_raw("UPDATE audit_entries SET body = replace(body, '\"record.read\"', '\"record.delete\"') WHERE seq = 7").await;
    assert_named(
        &log.verify().await.unwrap(),
        Some(7),
        "does not match its leaf hash",
    );
}

async fn deleted_entry_is_named(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 20).await;
    drop_guards(&f).await;
    f.exec_raw("DELETE FROM audit_entries WHERE seq = 11").await;
    let report = log.verify().await.unwrap();
    assert_named(&report, Some(12), "entries 11..11 are missing");
    assert_named(&report, None, "19 are stored");
}

async fn swapped_entries_are_named(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 20).await;
    drop_guards(&f).await;
    // Swap the content of rows 3 and 4, hashes included, as a careful attacker would.
    f.exec_raw(
        "UPDATE audit_entries SET seq = -1 WHERE seq = 3; UPDATE audit_entries SET seq = 3 WHERE seq = 4; UPDATE audit_entries SET seq = 4 WHERE seq = -1;",
    )
    .await;
    let report = log.verify().await.unwrap();
    assert_named(&report, Some(3), "says it is entry 4");
    assert_named(&report, None, "differs from the stored head");
}

async fn truncated_tail_is_caught(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 20).await;
    drop_guards(&f).await;
    // Cut the last five entries and rewind the head to match: only the checkpoint remembers.
    f.exec_raw("DELETE FROM audit_entries WHERE seq >= 15; UPDATE audit_head SET size = 15")
        .await;
    let report = log.verify().await.unwrap();
    assert_named(&report, None, "covers 20 entries but only 15 are stored");
}

async fn replaced_checkpoint_is_caught(f: Fixture) {
    let log = open(&f).await;
    fill(&log, 20).await;
    drop_guards(&f).await;
    // Re-sign the checkpoint with another key: the log's key no longer verifies it.
    let forger = LogSigner::from_seed("rampart.test/log", &[6; 32]).unwrap();
    let head = f.store.head().await.unwrap();
    let (note, _) = forger.sign(&rampart_audit::Checkpoint {
        origin: "rampart.test/log".into(),
        tree_size: 20,
        root_hash: head.root,
    });
    f.exec_raw(&format!(
        "UPDATE audit_checkpoints SET note = '{}' WHERE tree_size = 20",
        note.replace('\'', "''")
    ))
    .await;
    assert_named(&log.verify().await.unwrap(), None, "no signature by key");
}

fn principal(name: &str) -> rampart_access::Principal {
    rampart_access::Principal {
        id: uuid::Uuid::now_v7(),
        kind: rampart_access::PrincipalKind::User,
        name: name.to_owned(),
        email: None,
        roles: vec!["viewer".into()],
        teams: vec![],
        disabled: false,
        created_at: time::OffsetDateTime::now_utc(),
        subject_id: None,
        owner_id: None,
    }
}

/// A change rides in the transaction of its entry: both are written, or (refused) neither; and
/// changes batched with plain appends and other changes: a refused one costs only itself.
async fn changes_commit_with_their_entries_or_not_at_all(f: Fixture) {
    use rampart_store::StoreChange;
    let log = open(&f).await;
    let alice = principal("alice");
    log.append_with(
        vec![event(0, "principals.create", &[])],
        by(),
        StoreChange::from(rampart_access::IdentityChange::CreatePrincipal {
            principal: alice.clone(),
            password_hash: None,
        }),
    )
    .await
    .unwrap();
    assert!(f.store.principal(alice.id).await.unwrap().is_some());
    assert_eq!(log.head().await.unwrap().size, 1);

    // The name is taken: the change is refused, and its entry is not written either.
    let impostor = principal("alice");
    let refused = log
        .append_with(
            vec![event(1, "principals.create", &[])],
            by(),
            StoreChange::from(rampart_access::IdentityChange::CreatePrincipal {
                principal: impostor.clone(),
                password_hash: None,
            }),
        )
        .await;
    assert!(
        matches!(refused, Err(rampart_audit::LogError::Refused(_))),
        "{refused:?}"
    );
    assert!(f.store.principal(impostor.id).await.unwrap().is_none());
    assert_eq!(log.head().await.unwrap().size, 1);

    // Twenty plain appends and ten changes (two of them refused) at once.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let name = if i < 6 {
                    "alice".to_owned()
                } else {
                    format!("user{i}")
                };
                log.append_with(
                    vec![event(i, "principals.create", &[])],
                    by(),
                    StoreChange::from(rampart_access::IdentityChange::CreatePrincipal {
                        principal: principal(&name),
                        password_hash: None,
                    }),
                )
                .await
                .is_ok()
            } else {
                log.append(vec![event(i, "record.read", &[])], by())
                    .await
                    .is_ok()
            }
        }));
    }
    let mut written = 0;
    for task in tasks {
        if task.await.unwrap() {
            written += 1;
        }
    }
    assert_eq!(written, 28, "two changes reuse the taken name");
    assert_eq!(log.head().await.unwrap().size, 29);
    assert!(log.verify().await.unwrap().ok);
    let created = f.store.list_principals(None, 100).await.unwrap();
    assert_eq!(created.len(), 9, "alice and the eight new names");
}

/// The query side: a reader limited to its teams sees only their entries (lists, single reads,
/// exports with withheld lines), and sizes or seqs outside the log are named, never a failure.
async fn reads_for_a_reader_apply_team_isolation_and_range_checks(f: Fixture) {
    use rampart_audit::{MAX_SEQ, ReadError};
    let log = open(&f).await;
    fill(&log, 6).await; // even seqs: payments, odd: care
    let payments = Some(vec!["payments".to_owned()]);
    let filter = EntryFilter {
        limit: 100,
        ..EntryFilter::default()
    };
    let seen = log
        .entries_for(filter.clone(), payments.clone())
        .await
        .unwrap();
    assert_eq!(seen.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(
        log.entries_for(filter.clone(), None).await.unwrap().len(),
        6
    );
    let other = EntryFilter {
        team_id: Some("care".into()),
        ..filter
    };
    assert!(matches!(
        log.entries_for(other, payments.clone()).await,
        Err(ReadError::OtherTeam(team)) if team == "care"
    ));

    let teams = payments.as_deref();
    assert_eq!(log.entry_for(2, teams).await.unwrap().seq, 2);
    assert!(matches!(
        log.entry_for(1, teams).await,
        Err(ReadError::NoEntry(1))
    ));
    assert_eq!(log.entry_for(1, None).await.unwrap().seq, 1);
    assert!(matches!(
        log.entry_for(6, None).await,
        Err(ReadError::NoEntry(6))
    ));
    for seq in [MAX_SEQ, u64::MAX] {
        assert!(matches!(
            log.entry_for(seq, None).await,
            Err(ReadError::Unreachable)
        ));
    }

    let lines = log.export_lines(0..6, teams).await.unwrap();
    let withheld = lines
        .lines()
        .filter(|l| l.contains("\"withheld\":true"))
        .count();
    assert_eq!((lines.lines().count(), withheld), (6, 3), "{lines}");
    let plan = log.plan_export(Some(1), Some(4)).await.unwrap();
    assert_eq!(plan.range, 1..5);
    assert!(plan.trailer.ends_with('\n') && plan.trailer.contains("left_hashes"));
    for (from, to, field) in [(None, Some(6), "to_seq"), (Some(5), Some(3), "from_seq")] {
        assert!(matches!(
            log.plan_export(from, to).await,
            Err(ReadError::OutOfRange { field: f, .. }) if f == field
        ));
    }

    let proof = log.prove_inclusion(3, None).await.unwrap();
    assert_eq!((proof.seq, proof.tree_size), (3, 6));
    for (seq, size, field) in [
        (0, Some(7), "tree_size"),
        (6, None, "seq"),
        (MAX_SEQ, Some(6), "seq"),
    ] {
        assert!(matches!(
            log.prove_inclusion(seq, size).await,
            Err(ReadError::OutOfRange { field: f, .. }) if f == field
        ));
    }
    assert_eq!(log.prove_consistency(2, None).await.unwrap().to, 6);
    for (from, to, field) in [(1, Some(MAX_SEQ), "to"), (7, None, "from")] {
        assert!(matches!(
            log.prove_consistency(from, to).await,
            Err(ReadError::OutOfRange { field: f, .. }) if f == field
        ));
    }
}
