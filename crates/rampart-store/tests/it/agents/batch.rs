//! Decided actions recorded in the audit writer's batch transaction, on both backends: batches
//! prepared by hand as the log's writer prepares them (so which requests share one is certain)
//! and given to `AuditStore::append`, which records their actions together, with the outcome
//! of recording them one by one in request order: the first action over its cap refuses the
//! batch (nothing written), buckets of several agents and minutes, denied actions stored but
//! not counted, deliveries, other changes in the same batch, batches beyond one insert.

use std::sync::Arc;

use rampart_agents::{AgentChange, AgentStore, Status, hour_window_start, minute_of};
use rampart_audit::checkpoint::{Checkpoint, LogSigner};
use rampart_audit::entry::{NewEntry, SubmittedBy, format_timestamp};
use rampart_audit::store::{AppendBatch, AppendError, AuditStore, SignedCheckpoint, StoredEntry};
use rampart_audit::tiles::{TileBuffers, is_stored_level};
use rampart_audit::tree::{CompactRange, leaf_hash};
use rampart_monitor::{Delivery, EventType, MonitorStore};
use rampart_store::{Store, StoreChange, StoreError};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{T0, action, another_agent, apply, id, migrated, record};
use crate::fixture::Fixture;

on_both_backends!(
    the_first_action_over_its_cap_refuses_the_batch,
    actions_of_several_agents_and_minutes_count_in_their_buckets,
    denied_actions_in_a_batch_are_stored_not_counted,
    pending_actions_in_a_batch_queue_their_deliveries,
    actions_ride_with_other_changes_in_one_batch,
    batches_beyond_one_insert_are_recorded_whole,
);

fn signer() -> LogSigner {
    LogSigner::from_seed("rampart.test/log", &[5; 32]).unwrap()
}

/// The log's tree as the writer keeps it: the compact range and the partial tiles.
#[derive(Clone)]
struct Edge {
    range: CompactRange,
    buffers: TileBuffers,
}

/// Appends through `AuditStore::append` with batches prepared as the log's writer does, one
/// entry per request.
struct Writer {
    store: Store,
    edge: Edge,
}

impl Writer {
    fn new(f: &Fixture) -> Self {
        Self {
            store: f.store.clone(),
            edge: Edge {
                range: CompactRange::empty(),
                buffers: TileBuffers::default(),
            },
        }
    }

    /// The batch of `count` entries after the edge, and the edge after it.
    fn prepare(&self, count: usize) -> (AppendBatch, Edge) {
        let now = OffsetDateTime::now_utc();
        let now = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap();
        let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap();
        let timestamp = format_timestamp(now);
        let by = SubmittedBy {
            principal_id: "p1".into(),
            credential_id: None,
        };
        let expected_size = self.edge.range.size();
        let mut edge = self.edge.clone();
        let (mut entries, mut subtrees, mut packed_tiles) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..count {
            let new = NewEntry::from_json(
                &json!({"actor": {"type": "ai_agent", "id": "deploy-bot"}, "action": "agents.action",
                    "resource": {"type": "deployment", "id": format!("r{i}")}, "status": "success"}),
                "",
            )
            .unwrap();
            let seq = edge.range.size();
            let id = Uuid::now_v7().to_string();
            let body = String::from_utf8(new.canonical_json_at(seq, &id, &timestamp, &by).unwrap())
                .unwrap();
            let leaf = leaf_hash(body.as_bytes());
            packed_tiles.extend(edge.buffers.push(0, seq, leaf));
            let buffers = &mut edge.buffers;
            edge.range.push(leaf, |(level, index, hash)| {
                if is_stored_level(level) {
                    subtrees.push((level, index, hash));
                    packed_tiles.extend(buffers.push(level, index, hash));
                }
            });
            entries.push(StoredEntry {
                seq,
                id,
                timestamp_micros: micros,
                actor_type: new.actor.kind.clone(),
                actor_id: new.actor.id.clone(),
                action: new.action.clone(),
                resource_type: new.resource.kind.clone(),
                resource_id: new.resource.id.clone(),
                team_id: None,
                status: new.status.as_str().to_owned(),
                subject_id: None,
                tags: Vec::new(),
                body,
                leaf_hash: leaf,
                pruned: None,
            });
        }
        let (tree_size, root_hash) = (edge.range.size(), edge.range.root());
        let (note, signature) = signer().sign(&Checkpoint {
            origin: signer().verifier().name,
            tree_size,
            root_hash,
        });
        let batch = AppendBatch {
            expected_size,
            entries,
            subtrees,
            packed_tiles,
            head: rampart_audit::store::TreeHead {
                size: tree_size,
                root: root_hash,
            },
            checkpoint: SignedCheckpoint {
                tree_size,
                root_hash,
                timestamp: now,
                note,
                signature,
            },
        };
        (batch, edge)
    }

    /// One attempt: the requests' entries and changes in one batch.
    async fn append(
        &mut self,
        changes: &[Option<&StoreChange>],
    ) -> Result<(), AppendError<StoreError>> {
        let (batch, edge) = self.prepare(changes.len());
        self.store.append(&batch, changes).await?;
        self.edge = edge;
        Ok(())
    }

    /// As the log's writer commits a batch: a refused request is dropped and the rest prepared
    /// again. Whether each request was written.
    async fn commit(&mut self, changes: &[Option<&StoreChange>]) -> Vec<bool> {
        let mut active: Vec<usize> = (0..changes.len()).collect();
        let mut written = vec![false; changes.len()];
        while !active.is_empty() {
            let subset: Vec<Option<&StoreChange>> = active.iter().map(|&i| changes[i]).collect();
            match self.append(&subset).await {
                Ok(()) => {
                    for &i in &active {
                        written[i] = true;
                    }
                    break;
                }
                Err(AppendError::Refused { index, reason }) => {
                    assert!(!reason.is_empty());
                    active.remove(index);
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        written
    }
}

fn some(changes: &[StoreChange]) -> Vec<Option<&StoreChange>> {
    changes.iter().map(Some).collect()
}

fn refused_at(result: Result<(), AppendError<StoreError>>) -> usize {
    match result {
        Err(AppendError::Refused { index, reason }) => {
            assert_eq!(reason, "the agent has reached its hourly cap");
            index
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The count stored in `agent`'s bucket of `minute` (0 without one).
async fn bucket(f: &Fixture, agent: Uuid, minute: i64) -> i64 {
    f.scalar(&format!(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM agent_action_counts WHERE agent_id = '{agent}' AND minute = {minute}"
    ))
    .await
}

/// The log as stored is whole: every entry, tile and checkpoint the batches wrote.
async fn log_verifies(f: &Fixture) {
    let log =
        rampart_audit::AuditLog::open(f.store.clone(), signer(), Arc::new(OffsetDateTime::now_utc))
            .await
            .unwrap();
    assert!(log.verify().await.unwrap().ok);
}

async fn the_first_action_over_its_cap_refuses_the_batch(f: Fixture) {
    let people = migrated(&f).await;
    let (s, agent) = (&f.store, people.agent);
    let window = hour_window_start(T0);
    let mut writer = Writer::new(&f);
    // Five actions of one agent with a cap of three: the fourth (index 3) is the first over.
    let changes: Vec<StoreChange> = (1..=5)
        .map(|n| record(&action(n, agent, Status::Allowed, T0), Some(3)))
        .collect();
    assert_eq!(refused_at(writer.append(&some(&changes)).await), 3);
    // Nothing written: no action, no count, no entry.
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 0);
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM agent_action_counts").await,
        0
    );
    assert_eq!(f.scalar("SELECT COUNT(*) FROM audit_entries").await, 0);
    assert_eq!(s.head().await.unwrap().size, 0);
    // Without it, the fifth is refused in its turn; then the first three commit.
    let mut rest = some(&changes);
    rest.remove(3);
    assert_eq!(refused_at(writer.append(&rest).await), 3);
    rest.remove(3);
    writer.append(&rest).await.unwrap();
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 3);
    assert_eq!(bucket(&f, agent, minute_of(T0)).await, 3);
    for n in 1..=3 {
        assert_eq!(
            s.action(&id(n)).await.unwrap().unwrap().status,
            Status::Allowed
        );
    }
    assert_eq!(s.action(&id(4)).await.unwrap(), None);
    assert_eq!(s.action(&id(5)).await.unwrap(), None);
    assert_eq!(s.head().await.unwrap().size, 3);
    // Stored counts and the batch's add up: with three stored and a cap of five, the second
    // action of the batch is the last one allowed (a plain append in between counts nothing).
    let later = T0 + Duration::minutes(1);
    let capped = |n| record(&action(n, agent, Status::Allowed, later), Some(5));
    let (a, b, c) = (capped(6), capped(7), capped(8));
    let batch = vec![Some(&a), None, Some(&b), Some(&c)];
    assert_eq!(refused_at(writer.append(&batch).await), 3);
    assert_eq!(writer.commit(&batch).await, vec![true, true, true, false]);
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 5);
    assert_eq!(bucket(&f, agent, minute_of(later)).await, 2);
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 5);
    assert_eq!(s.head().await.unwrap().size, 6);
    log_verifies(&f).await;
}

async fn actions_of_several_agents_and_minutes_count_in_their_buckets(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let (a, b) = (people.agent, another_agent(&f, "other-bot").await);
    let window = hour_window_start(T0);
    // One already stored in a's bucket of T0: the batch adds to it.
    assert!(apply(&f, record(&action(1, a, Status::Allowed, T0), None)).await);
    let at = |minutes: i64| T0 + Duration::minutes(minutes);
    let old = T0 - Duration::hours(2);
    let changes = vec![
        record(&action(2, a, Status::Allowed, at(0)), Some(4)),
        record(&action(3, b, Status::Allowed, old), None),
        record(&action(4, a, Status::PendingApproval, at(-30)), None),
        record(&action(5, b, Status::Allowed, old), None),
        // b's window (from T0's) leaves out the two old ones: one more is allowed.
        record(&action(6, b, Status::Allowed, at(0)), Some(1)),
        record(&action(7, a, Status::Allowed, at(1)), Some(4)),
        record(&action(8, b, Status::Allowed, at(1)), None),
    ];
    writer_commits_all(&f, &changes).await;
    assert_eq!(bucket(&f, a, minute_of(T0)).await, 2);
    assert_eq!(bucket(&f, a, minute_of(at(-30))).await, 1);
    assert_eq!(bucket(&f, a, minute_of(at(1))).await, 1);
    assert_eq!(bucket(&f, b, minute_of(old)).await, 2);
    assert_eq!(bucket(&f, b, minute_of(T0)).await, 1);
    assert_eq!(bucket(&f, b, minute_of(at(1))).await, 1);
    assert_eq!(s.actions_counted(a, window).await.unwrap(), 4);
    assert_eq!(s.actions_counted(b, window).await.unwrap(), 2);
    assert_eq!(s.actions_counted(b, 0).await.unwrap(), 4);
    assert_eq!(s.actions_counted(a, minute_of(at(1))).await.unwrap(), 1);
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 8);
    // a is now at its cap of four and b at its cap of two (counting the uncapped): each
    // agent's next capped action is refused, whichever comes first.
    let (over_b, over_a) = (
        record(&action(9, b, Status::Allowed, at(2)), Some(2)),
        record(&action(10, a, Status::Allowed, at(2)), Some(4)),
    );
    let mut writer = Writer::new(&f);
    writer.edge = edge_of(&f).await;
    assert_eq!(
        refused_at(writer.append(&[None, Some(&over_b), Some(&over_a)]).await),
        1
    );
    assert_eq!(
        refused_at(writer.append(&[Some(&over_a), Some(&over_b)]).await),
        0
    );
    assert_eq!(s.actions_counted(a, window).await.unwrap(), 4);
    assert_eq!(s.actions_counted(b, window).await.unwrap(), 2);
    log_verifies(&f).await;
}

/// Commits `changes` in one batch after what is stored, expecting every one applied.
async fn writer_commits_all(f: &Fixture, changes: &[StoreChange]) {
    let mut writer = Writer::new(f);
    writer.edge = edge_of(f).await;
    writer.append(&some(changes)).await.unwrap();
}

/// The edge of the stored log (the tests' logs stay below one tile).
async fn edge_of(f: &Fixture) -> Edge {
    let size = f.store.head().await.unwrap().size;
    assert!(size < 256, "the tests' logs stay below one tile");
    let mut edge = Edge {
        range: CompactRange::empty(),
        buffers: TileBuffers::default(),
    };
    let leaves = f.store.hashes(0, 0..size).await.unwrap();
    for (seq, leaf) in leaves {
        assert!(edge.buffers.push(0, seq, leaf).is_none());
        edge.range.push(leaf, |_| {});
    }
    edge
}

async fn denied_actions_in_a_batch_are_stored_not_counted(f: Fixture) {
    let people = migrated(&f).await;
    let (s, agent) = (&f.store, people.agent);
    let window = hour_window_start(T0);
    let with_cap = |n, status| record(&action(n, agent, status, T0), Some(1));
    let changes = vec![
        with_cap(1, Status::Denied),
        with_cap(2, Status::Denied),
        with_cap(3, Status::Allowed),
        with_cap(4, Status::Denied),
        record(&action(5, agent, Status::Denied, T0), None),
    ];
    writer_commits_all(&f, &changes).await;
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 1);
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 5);
    for n in [1, 2, 4, 5] {
        assert_eq!(
            s.action(&id(n)).await.unwrap().unwrap().status,
            Status::Denied
        );
    }
    // At the cap, a denial still goes through; the allowed action beside it does not.
    let (denied, allowed) = (with_cap(6, Status::Denied), with_cap(7, Status::Allowed));
    let mut writer = Writer::new(&f);
    writer.edge = edge_of(&f).await;
    assert_eq!(
        writer.commit(&[Some(&allowed), Some(&denied)]).await,
        vec![false, true]
    );
    assert_eq!(
        s.action(&id(6)).await.unwrap().unwrap().status,
        Status::Denied
    );
    assert_eq!(s.action(&id(7)).await.unwrap(), None);
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 1);
    assert_eq!(bucket(&f, agent, minute_of(T0)).await, 1);
    log_verifies(&f).await;
}

fn delivery(id: &str, webhook: &str, n: u128) -> Delivery {
    let body = json!({"type": "approval.requested", "action_id": super::id(n).as_str()});
    Delivery::new(
        id.into(),
        webhook.into(),
        EventType::ApprovalRequested,
        body.to_string(),
        T0,
    )
}

async fn pending_actions_in_a_batch_queue_their_deliveries(f: Fixture) {
    let people = migrated(&f).await;
    let (s, agent) = (&f.store, people.agent);
    let pending = |n, cap, deliveries| {
        StoreChange::from(AgentChange::RecordAction {
            action: Box::new(action(n, agent, Status::PendingApproval, T0)),
            cap,
            window_start: hour_window_start(T0),
            deliveries,
        })
    };
    let first = vec![delivery("d-1", "w1", 1), delivery("d-2", "w2", 1)];
    let third = vec![delivery("d-3", "w1", 3)];
    let changes = vec![
        pending(1, Some(3), first.clone()),
        record(&action(2, agent, Status::Allowed, T0), Some(3)),
        pending(3, Some(3), third.clone()),
    ];
    writer_commits_all(&f, &changes).await;
    assert_eq!(
        s.list_deliveries("w1", 10).await.unwrap(),
        vec![third[0].clone(), first[0].clone()],
        "newest first, then by id"
    );
    assert_eq!(
        s.delivery("w2", "d-2").await.unwrap(),
        Some(first[1].clone())
    );
    assert_eq!(
        s.action(&id(3)).await.unwrap().unwrap().status,
        Status::PendingApproval
    );
    // A refused action queues nothing; the one before it in the batch does.
    let (fourth, fifth) = (
        pending(4, Some(4), vec![delivery("d-4", "w2", 4)]),
        pending(5, Some(4), vec![delivery("d-5", "w2", 5)]),
    );
    let mut writer = Writer::new(&f);
    writer.edge = edge_of(&f).await;
    assert_eq!(
        writer.commit(&[Some(&fourth), Some(&fifth)]).await,
        vec![true, false]
    );
    assert!(s.delivery("w2", "d-4").await.unwrap().is_some());
    assert_eq!(s.delivery("w2", "d-5").await.unwrap(), None);
    assert_eq!(s.action(&id(5)).await.unwrap(), None);
    log_verifies(&f).await;
}

async fn actions_ride_with_other_changes_in_one_batch(f: Fixture) {
    let people = migrated(&f).await;
    let (s, agent) = (&f.store, people.agent);
    // An action recorded earlier, whose token the batch uses.
    assert!(apply(&f, record(&action(1, agent, Status::Allowed, T0), None)).await);
    let dave = super::principal("dave", rampart_access::PrincipalKind::User);
    let use_token = |n| {
        StoreChange::from(AgentChange::UseToken {
            action_id: id(n),
            at: T0 + Duration::minutes(1),
        })
    };
    let changes = [
        StoreChange::from(rampart_access::IdentityChange::CreatePrincipal {
            principal: dave.clone(),
            password_hash: None,
        }),
        record(&action(2, agent, Status::Allowed, T0), Some(3)),
        use_token(1),
        record(&action(3, agent, Status::PendingApproval, T0), Some(3)),
    ];
    let mut writer = Writer::new(&f);
    let batch = vec![
        Some(&changes[0]),
        None,
        Some(&changes[1]),
        Some(&changes[2]),
        Some(&changes[3]),
    ];
    writer.append(&batch).await.unwrap();
    assert!(s.principal(dave.id).await.unwrap().is_some());
    assert!(
        s.action(&id(1))
            .await
            .unwrap()
            .unwrap()
            .token_used_at
            .is_some()
    );
    assert!(s.action(&id(2)).await.unwrap().is_some());
    assert!(s.action(&id(3)).await.unwrap().is_some());
    assert_eq!(
        s.actions_counted(agent, hour_window_start(T0))
            .await
            .unwrap(),
        3
    );
    assert_eq!(s.head().await.unwrap().size, 5);
    // The first refusal in request order is named, whatever its kind: a token used twice
    // before an action over the cap, and after it.
    let (again, over) = (
        use_token(1),
        record(&action(4, agent, Status::Allowed, T0), Some(3)),
    );
    let fresh = use_token(2);
    match writer
        .append(&[Some(&fresh), Some(&again), None, Some(&over)])
        .await
    {
        Err(AppendError::Refused { index, reason }) => {
            assert_eq!(
                (index, reason.as_str()),
                (1, "the execution token was already used")
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        refused_at(
            writer
                .append(&[Some(&fresh), Some(&over), Some(&again)])
                .await
        ),
        1
    );
    assert!(
        s.action(&id(2))
            .await
            .unwrap()
            .unwrap()
            .token_used_at
            .is_none()
    );
    assert_eq!(
        writer
            .commit(&[Some(&over), Some(&fresh), Some(&again)])
            .await,
        vec![false, true, false]
    );
    assert!(
        s.action(&id(2))
            .await
            .unwrap()
            .unwrap()
            .token_used_at
            .is_some()
    );
    assert_eq!(s.action(&id(4)).await.unwrap(), None);
    assert_eq!(s.head().await.unwrap().size, 6);
    log_verifies(&f).await;
}

async fn batches_beyond_one_insert_are_recorded_whole(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let window = hour_window_start(T0);
    let mut agents = vec![people.agent];
    for i in 0..3 {
        agents.push(another_agent(&f, &format!("bot-{i}")).await);
    }
    // 1,200 actions (more than two inserts' rows) of four agents in turn, over three minutes;
    // each agent's every tenth denied, so 270 of its 300 count. The first agent's cap is 265:
    // its last five counted actions are refused, one round each; the others' 270 all go.
    let denied = |n: usize| (n / 4) % 10 == 9;
    let changes: Vec<StoreChange> = (0..1200usize)
        .map(|n| {
            let agent = agents[n % 4];
            let at = T0 + Duration::minutes(i64::try_from(n % 3).unwrap());
            let cap = if n % 4 == 0 { 265 } else { 270 };
            let status = if denied(n) {
                Status::Denied
            } else {
                Status::Allowed
            };
            record(&action(1000 + n as u128, agent, status, at), Some(cap))
        })
        .collect();
    let mut writer = Writer::new(&f);
    let outcome = writer.commit(&some(&changes)).await;
    let refused: Vec<usize> = (0..outcome.len()).filter(|&i| !outcome[i]).collect();
    let counted_first: Vec<usize> = (0..1200).step_by(4).filter(|&n| !denied(n)).collect();
    assert_eq!(refused, counted_first[265..].to_vec());
    assert_eq!(s.actions_counted(agents[0], window).await.unwrap(), 265);
    for agent in &agents[1..] {
        assert_eq!(s.actions_counted(*agent, window).await.unwrap(), 270);
    }
    assert_eq!(
        f.scalar("SELECT COUNT(*) FROM agent_actions").await,
        1200 - 5
    );
    assert_eq!(s.head().await.unwrap().size, 1200 - 5);
    log_verifies(&f).await;
}
