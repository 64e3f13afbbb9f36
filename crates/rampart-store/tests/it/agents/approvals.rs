//! After an action is recorded, on both backends: answers (a 2-of-2 quorum, stale counts,
//! the same approver twice, expired or settled actions, concurrent answers with one winner),
//! the execution token used once, the result reported once, pending actions expired.

use rampart_agents::{
    ActionResult, AgentChange, AgentStore, Approval, ApprovalVerdict, ResultStatus, Status,
};
use rampart_store::StoreChange;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{T0, action, apply, id, migrated, record, refused};
use crate::fixture::Fixture;

on_both_backends!(
    two_of_two_approvals_need_distinct_current_answers,
    answers_after_expiry_or_settlement_are_refused,
    concurrent_answers_have_one_winner,
    execution_tokens_are_used_once,
    results_are_reported_once,
    pending_actions_expire_once_their_time_is_up,
);

fn answer(
    n: u128,
    approver: Uuid,
    verdict: ApprovalVerdict,
    expected_answers: u32,
    status: Status,
    at: OffsetDateTime,
) -> (StoreChange, Approval) {
    let approval = Approval {
        approver_id: approver,
        verdict,
        comment: Some(format!("{} at {at}", verdict.as_str())),
        at,
    };
    let change = StoreChange::from(AgentChange::Answer {
        action_id: id(n),
        approval: approval.clone(),
        expected_answers,
        status,
    });
    (change, approval)
}

fn use_token(n: u128, at: OffsetDateTime) -> StoreChange {
    StoreChange::from(AgentChange::UseToken {
        action_id: id(n),
        at,
    })
}

fn result(
    n: u128,
    status: ResultStatus,
    by: Uuid,
    at: OffsetDateTime,
) -> (StoreChange, ActionResult) {
    let result = ActionResult {
        status,
        details: json!({"message": "rolled back to v41", "pods": 12}),
        reported_by: by,
        at,
    };
    let change = StoreChange::from(AgentChange::RecordResult {
        action_id: id(n),
        result: result.clone(),
    });
    (change, result)
}

fn expire(ns: &[u128], at: OffsetDateTime) -> StoreChange {
    StoreChange::from(AgentChange::Expire {
        action_ids: ns.iter().map(|n| id(*n)).collect(),
        at,
    })
}

async fn two_of_two_approvals_need_distinct_current_answers(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let [alice, bob, carol] = people.approvers;
    let mut pending = action(1, people.agent, Status::PendingApproval, T0);
    assert!(apply(&f, record(&pending, None)).await);
    let at1 = T0 + Duration::minutes(5);
    let (first, a1) = answer(
        1,
        alice,
        ApprovalVerdict::Approve,
        0,
        Status::PendingApproval,
        at1,
    );
    assert!(apply(&f, first.clone()).await);
    pending.approvals.push(a1.clone());
    // Still pending: its status (and so updated_at) did not change.
    assert_eq!(s.action(&id(1)).await.unwrap(), Some(pending.clone()));
    // The same answer again, or the same approver with the current count: refused.
    refused(&f, first).await;
    let at2 = T0 + Duration::minutes(6);
    let (again, _) = answer(1, alice, ApprovalVerdict::Approve, 1, Status::Approved, at2);
    assert_eq!(
        again.refusal(),
        "the action was answered, approved, rejected or expired meanwhile"
    );
    refused(&f, again).await;
    // A stale count: the caller saw no answer, there is one.
    let (stale, _) = answer(
        1,
        bob,
        ApprovalVerdict::Approve,
        0,
        Status::PendingApproval,
        at2,
    );
    refused(&f, stale).await;
    let (second, a2) = answer(1, bob, ApprovalVerdict::Approve, 1, Status::Approved, at2);
    assert!(apply(&f, second).await);
    pending.approvals.push(a2);
    pending.status = Status::Approved;
    pending.updated_at = at2;
    assert_eq!(s.action(&id(1)).await.unwrap(), Some(pending.clone()));
    // Approved: no more answers.
    let (late, _) = answer(1, carol, ApprovalVerdict::Reject, 2, Status::Rejected, at2);
    refused(&f, late).await;
    assert_eq!(s.action(&id(1)).await.unwrap(), Some(pending));
    // One rejection rejects.
    assert!(
        apply(
            &f,
            record(&action(2, people.agent, Status::PendingApproval, T0), None)
        )
        .await
    );
    let (no, _) = answer(2, carol, ApprovalVerdict::Reject, 0, Status::Rejected, at1);
    assert!(apply(&f, no).await);
    let rejected = s.action(&id(2)).await.unwrap().unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    assert_eq!(rejected.updated_at, at1);
    assert_eq!(rejected.approvals[0].verdict, ApprovalVerdict::Reject);
    // An unknown action takes no answer.
    let (unknown, _) = answer(
        99,
        alice,
        ApprovalVerdict::Approve,
        0,
        Status::Approved,
        at1,
    );
    refused(&f, unknown).await;
}

async fn answers_after_expiry_or_settlement_are_refused(f: Fixture) {
    let people = migrated(&f).await;
    let [alice, ..] = people.approvers;
    // Pending until T0 + 1 h.
    assert!(
        apply(
            &f,
            record(&action(1, people.agent, Status::PendingApproval, T0), None)
        )
        .await
    );
    let end = T0 + Duration::hours(1);
    for at in [end, end + Duration::minutes(1)] {
        let (late, _) = answer(
            1,
            alice,
            ApprovalVerdict::Approve,
            0,
            Status::PendingApproval,
            at,
        );
        refused(&f, late).await;
    }
    let (in_time, _) = answer(
        1,
        alice,
        ApprovalVerdict::Approve,
        0,
        Status::PendingApproval,
        end - Duration::seconds(1),
    );
    assert!(apply(&f, in_time).await);
    // Allowed, denied and expired actions are not pending.
    assert!(
        apply(
            &f,
            record(&action(2, people.agent, Status::Allowed, T0), None)
        )
        .await
    );
    assert!(
        apply(
            &f,
            record(&action(3, people.agent, Status::Denied, T0), None)
        )
        .await
    );
    assert!(
        apply(
            &f,
            record(&action(4, people.agent, Status::PendingApproval, T0), None)
        )
        .await
    );
    assert!(apply(&f, expire(&[4], end)).await);
    for n in [2, 3, 4] {
        let (answer, _) = answer(n, alice, ApprovalVerdict::Approve, 0, Status::Approved, T0);
        refused(&f, answer).await;
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_approvals").await, 1);
}

async fn concurrent_answers_have_one_winner(f: Fixture) {
    let people = migrated(&f).await;
    let mut three = action(1, people.agent, Status::PendingApproval, T0);
    three.approvals_required = 3;
    assert!(apply(&f, record(&three, None)).await);
    // Each approver saw no answer: only one of them may count.
    let nodes = [
        f.store.clone(),
        f.another_node().await,
        f.another_node().await,
    ];
    let mut tasks = Vec::new();
    for (i, approver) in people.approvers.into_iter().enumerate() {
        let store = nodes[i].clone();
        let (change, _) = answer(
            1,
            approver,
            ApprovalVerdict::Approve,
            0,
            Status::PendingApproval,
            T0 + Duration::minutes(1),
        );
        tasks.push(tokio::spawn(async move { store.apply(&change).await }));
    }
    let mut applied = 0;
    for task in tasks {
        if task.await.unwrap().expect("applies or refuses") {
            applied += 1;
        }
    }
    assert_eq!(applied, 1);
    let stored = f.store.action(&id(1)).await.unwrap().unwrap();
    assert_eq!(stored.approvals.len(), 1);
    assert_eq!(stored.status, Status::PendingApproval);
}

async fn execution_tokens_are_used_once(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let [alice, bob, _] = people.approvers;
    assert!(
        apply(
            &f,
            record(&action(1, people.agent, Status::Allowed, T0), None)
        )
        .await
    );
    let used_at = T0 + Duration::seconds(30);
    let once = use_token(1, used_at);
    assert!(apply(&f, once.clone()).await);
    assert_eq!(once.refusal(), "the execution token was already used");
    refused(&f, once).await;
    refused(&f, use_token(1, used_at + Duration::seconds(1))).await;
    let stored = s.action(&id(1)).await.unwrap().unwrap();
    assert_eq!(stored.token_used_at, Some(used_at));
    assert_eq!(stored.updated_at, used_at);
    assert_eq!(stored.status, Status::Allowed);
    // Denied and pending actions have no token to use; approved ones do.
    assert!(
        apply(
            &f,
            record(&action(2, people.agent, Status::Denied, T0), None)
        )
        .await
    );
    assert!(
        apply(
            &f,
            record(&action(3, people.agent, Status::PendingApproval, T0), None)
        )
        .await
    );
    refused(&f, use_token(2, used_at)).await;
    refused(&f, use_token(3, used_at)).await;
    refused(&f, use_token(99, used_at)).await;
    for (i, approver) in [alice, bob].into_iter().enumerate() {
        let status = if i == 0 {
            Status::PendingApproval
        } else {
            Status::Approved
        };
        let (change, _) = answer(
            3,
            approver,
            ApprovalVerdict::Approve,
            u32::try_from(i).unwrap(),
            status,
            T0,
        );
        assert!(apply(&f, change).await);
    }
    assert!(apply(&f, use_token(3, used_at)).await);
    refused(&f, use_token(3, used_at)).await;
}

async fn results_are_reported_once(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let reporter = people.owner;
    assert!(
        apply(
            &f,
            record(&action(1, people.agent, Status::Allowed, T0), None)
        )
        .await
    );
    assert!(apply(&f, use_token(1, T0)).await);
    let at = T0 + Duration::minutes(2);
    let (done, reported) = result(1, ResultStatus::Succeeded, reporter, at);
    assert!(apply(&f, done.clone()).await);
    let stored = s.action(&id(1)).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Executed);
    assert_eq!(stored.result, Some(reported));
    assert_eq!(stored.updated_at, at);
    assert_eq!(done.refusal(), "the action's result was already reported");
    refused(&f, done).await;
    let (other, _) = result(1, ResultStatus::Failed, reporter, at);
    refused(&f, other).await;
    assert_eq!(s.action(&id(1)).await.unwrap().unwrap(), stored);
    // A failure fails the action.
    assert!(
        apply(
            &f,
            record(&action(2, people.agent, Status::Allowed, T0), None)
        )
        .await
    );
    let (failed, reported) = result(2, ResultStatus::Failed, reporter, at);
    assert!(apply(&f, failed).await);
    let stored = s.action(&id(2)).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.result),
        (Status::Failed, Some(reported))
    );
    // Only an action that may execute has a result.
    assert!(
        apply(
            &f,
            record(&action(3, people.agent, Status::Denied, T0), None)
        )
        .await
    );
    assert!(
        apply(
            &f,
            record(&action(4, people.agent, Status::PendingApproval, T0), None)
        )
        .await
    );
    for n in [3, 4, 99] {
        let (change, _) = result(n, ResultStatus::Succeeded, reporter, at);
        refused(&f, change).await;
    }
    // A result missing a part reads as an error, not a panic.
    f.exec_raw("UPDATE agent_actions SET result_by = NULL WHERE result_by IS NOT NULL")
        .await;
    assert!(s.action(&id(1)).await.is_err());
}

async fn pending_actions_expire_once_their_time_is_up(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    // Expiring at T0 + 1 h, + 1 h 10 min, + 1 h 20 min; one allowed action besides.
    for n in 1..=3u128 {
        let at = T0 + Duration::minutes(10 * (i64::try_from(n).unwrap() - 1));
        assert!(
            apply(
                &f,
                record(&action(n, people.agent, Status::PendingApproval, at), None)
            )
            .await
        );
    }
    assert!(
        apply(
            &f,
            record(&action(4, people.agent, Status::Allowed, T0), None)
        )
        .await
    );
    let ids = |actions: Vec<rampart_agents::Action>| -> Vec<_> {
        actions.into_iter().map(|a| a.id).collect()
    };
    let hour = T0 + Duration::hours(1);
    assert!(
        s.expired_pending(hour - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ids(s.expired_pending(hour, 10).await.unwrap()), [id(1)]);
    let later = hour + Duration::minutes(15);
    assert_eq!(
        ids(s.expired_pending(later, 10).await.unwrap()),
        [id(1), id(2)]
    );
    assert_eq!(ids(s.expired_pending(later, 1).await.unwrap()), [id(1)]);
    // All or nothing: action 3 is not due yet, so action 1 stays pending too.
    let early = expire(&[1, 2, 3], later);
    assert_eq!(early.refusal(), "an action was answered meanwhile");
    refused(&f, early).await;
    assert_eq!(
        s.action(&id(1)).await.unwrap().unwrap().status,
        Status::PendingApproval
    );
    // An allowed action never expires.
    refused(&f, expire(&[1, 4], later)).await;
    assert!(apply(&f, expire(&[2, 1, 2], later)).await);
    for n in [1, 2] {
        let stored = s.action(&id(n)).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.updated_at), (Status::Expired, later));
    }
    assert_eq!(
        s.action(&id(3)).await.unwrap().unwrap().status,
        Status::PendingApproval
    );
    // Expired once; then no longer listed as due.
    refused(&f, expire(&[1], later)).await;
    assert!(apply(&f, expire(&[], later)).await);
    assert_eq!(
        ids(s
            .expired_pending(hour + Duration::hours(1), 10)
            .await
            .unwrap()),
        [id(3)]
    );
}
