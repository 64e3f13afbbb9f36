//! AI-agent governance's storage on both backends: guardrails by compare-and-set on their
//! version, actions recorded under the hourly cap (denied ones not counted, old buckets not
//! counted, then forgotten) with their `approval.requested` deliveries, listing by agent,
//! status and team with paging by id, and the triggers that keep actions and approvals.
//! Approvals, token use, results and expiry are in `agents/approvals.rs`; actions recorded in
//! the audit writer's batches in `agents/batch.rs`.

use rampart_access::{Principal, PrincipalKind};
use rampart_agents::{
    Action, ActionFilter, ActionId, AgentChange, AgentStore, GuardrailsDocument, Status, Target,
    hour_window_start, minute_of,
};
use rampart_monitor::{Delivery, EventType, MonitorStore};
use rampart_store::StoreChange;
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::fixture::Fixture;

mod approvals;
mod batch;

on_both_backends!(
    guardrails_are_compare_and_set,
    the_hourly_cap_counts_actions_that_are_not_denied,
    concurrent_actions_never_pass_the_cap,
    actions_round_trip_with_their_deliveries,
    actions_are_listed_by_agent_status_and_team,
    actions_and_approvals_refuse_changes_behind_the_store,
);

pub(crate) const T0: OffsetDateTime = datetime!(2026-12-05 10:00:00 UTC);

/// The principals of a test: an agent, its owner and three approvers.
pub(crate) struct People {
    pub agent: Uuid,
    pub owner: Uuid,
    pub approvers: [Uuid; 3],
}

fn principal(name: &str, kind: PrincipalKind) -> Principal {
    Principal {
        id: Uuid::now_v7(),
        kind,
        name: name.to_owned(),
        email: None,
        roles: vec!["viewer".to_owned()],
        teams: Vec::new(),
        disabled: false,
        created_at: T0,
        subject_id: None,
        owner_id: None,
    }
}

/// Migrates and creates the principals (an action's agent must be one).
pub(crate) async fn migrated(f: &Fixture) -> People {
    f.store.migrate().await.expect("migrates");
    let agent = principal("deploy-bot", PrincipalKind::AiAgent);
    let owner = principal("owner", PrincipalKind::User);
    let approvers = ["alice", "bob", "carol"].map(|n| principal(n, PrincipalKind::User));
    for p in [&agent, &owner].into_iter().chain(&approvers) {
        f.store.create_principal(p, None).await.expect("creates");
    }
    People {
        agent: agent.id,
        owner: owner.id,
        approvers: approvers.map(|p| p.id),
    }
}

/// Another agent principal.
pub(crate) async fn another_agent(f: &Fixture, name: &str) -> Uuid {
    let agent = principal(name, PrincipalKind::AiAgent);
    f.store
        .create_principal(&agent, None)
        .await
        .expect("creates");
    agent.id
}

/// The action id numbered `n` (ids sort as the numbers do).
pub(crate) fn id(n: u128) -> ActionId {
    ActionId::parse(&format!("act_{n:032x}")).expect("valid id")
}

/// An action `n` of `agent` in `status`, decided at `at`.
pub(crate) fn action(n: u128, agent: Uuid, status: Status, at: OffsetDateTime) -> Action {
    let parameters = json!({"to": "v41", "n": n.to_string()});
    let pending = status == Status::PendingApproval;
    Action {
        id: id(n),
        agent_id: agent,
        submitted_by: agent,
        owner_id: None,
        action: "rollback".to_owned(),
        target: Target {
            kind: "deployment".to_owned(),
            id: "checkout".to_owned(),
            team_id: None,
        },
        parameters_sha256: rampart_agents::parameters_sha256(&parameters).expect("hashes"),
        parameters,
        blast_radius: [("traffic_percent".to_owned(), 5.0)].into_iter().collect(),
        status,
        reason: format!("decided {}", status.as_str()),
        approvals_required: if pending { 2 } else { 0 },
        approvals: Vec::new(),
        created_at: at,
        expires_at: pending.then(|| at + Duration::hours(1)),
        updated_at: at,
        token_used_at: None,
        result: None,
    }
}

/// Records `action` with `cap`, counted from the window of its `created_at`.
pub(crate) fn record(action: &Action, cap: Option<u64>) -> StoreChange {
    StoreChange::from(AgentChange::RecordAction {
        action: Box::new(action.clone()),
        cap,
        window_start: hour_window_start(action.created_at),
        deliveries: Vec::new(),
    })
}

/// Applies `change`; whether it was applied.
pub(crate) async fn apply(f: &Fixture, change: StoreChange) -> bool {
    f.store.apply(&change).await.expect("applies")
}

/// Applies `change`, expecting a refusal with the change's reason.
pub(crate) async fn refused(f: &Fixture, change: StoreChange) {
    assert!(
        !f.store.apply(&change).await.expect("applies"),
        "{change:?}"
    );
    assert!(!change.refusal().is_empty());
}

async fn guardrails_are_compare_and_set(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    assert!(s.guardrails(people.agent).await.unwrap().is_none());
    let first = GuardrailsDocument {
        max_actions_per_hour: Some(50),
        auto_approve: vec!["create_ticket".into()],
        ..GuardrailsDocument::default()
    }
    .validate()
    .unwrap();
    let set = |guardrails: &rampart_agents::Guardrails, expected_version: u64| {
        StoreChange::from(AgentChange::SetGuardrails {
            agent_id: people.agent,
            guardrails: guardrails.clone(),
            expected_version,
            by: people.owner,
            at: T0,
        })
    };
    assert!(apply(&f, set(&first, 0)).await);
    assert_eq!(
        s.guardrails(people.agent).await.unwrap(),
        Some((first.clone(), 1))
    );
    // A second "first" set is stale.
    let change = set(&first, 0);
    assert_eq!(change.refusal(), "the guardrails were changed meanwhile");
    refused(&f, change).await;
    let second = GuardrailsDocument {
        require_approval: vec!["rollback".into()],
        approvals_required: Some(2),
        ..GuardrailsDocument::default()
    }
    .validate()
    .unwrap();
    assert!(apply(&f, set(&second, 1)).await);
    refused(&f, set(&first, 1)).await;
    refused(&f, set(&first, 3)).await;
    assert_eq!(
        s.guardrails(people.agent).await.unwrap(),
        Some((second.clone(), 2))
    );
    assert_eq!(
        f.text(&format!(
            "SELECT updated_by FROM agent_guardrails WHERE agent_id = '{}'",
            people.agent
        ))
        .await,
        Some(people.owner.to_string())
    );
    // Guardrails are an agent's: the agent must be a principal.
    let mut stranger = set(&first, 0);
    if let StoreChange::Agents(AgentChange::SetGuardrails { agent_id, .. }) = &mut stranger {
        *agent_id = Uuid::now_v7();
    }
    assert!(f.store.apply(&stranger).await.is_err());
    // Stored guardrails that no longer read are an error, not a panic.
    f.exec_raw("UPDATE agent_guardrails SET document = '{\"max_actions\": 1}'")
        .await;
    assert!(s.guardrails(people.agent).await.is_err());
}

async fn the_hourly_cap_counts_actions_that_are_not_denied(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let agent = people.agent;
    let window = hour_window_start(T0);
    // Two hours ago: a bucket before the window, which never counts.
    assert!(
        apply(
            &f,
            record(
                &action(1, agent, Status::Allowed, T0 - Duration::hours(2)),
                None
            )
        )
        .await
    );
    // No cap: counted all the same (the cap may be set later).
    assert!(
        apply(
            &f,
            record(
                &action(2, agent, Status::Allowed, T0 - Duration::minutes(30)),
                None
            )
        )
        .await
    );
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 1);
    assert!(
        apply(
            &f,
            record(&action(3, agent, Status::PendingApproval, T0), Some(3))
        )
        .await
    );
    // Denied actions are recorded but not counted, even with a cap.
    for n in 4..8 {
        assert!(apply(&f, record(&action(n, agent, Status::Denied, T0), Some(3))).await);
    }
    assert!(apply(&f, record(&action(8, agent, Status::Allowed, T0), Some(3))).await);
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 3);
    // The fourth in the window is refused, and not recorded.
    let fourth = record(
        &action(9, agent, Status::Allowed, T0 + Duration::seconds(1)),
        Some(3),
    );
    assert_eq!(fourth.refusal(), "the agent has reached its hourly cap");
    refused(&f, fourth).await;
    assert_eq!(s.action(&id(9)).await.unwrap(), None);
    // An action dated before the window counts as one more in it.
    let backdated = |cap| {
        StoreChange::from(AgentChange::RecordAction {
            action: Box::new(action(15, agent, Status::Allowed, T0 - Duration::hours(2))),
            cap: Some(cap),
            window_start: window,
            deliveries: Vec::new(),
        })
    };
    refused(&f, backdated(3)).await;
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 3);
    // A denial is still recorded; another agent has its own count.
    assert!(apply(&f, record(&action(10, agent, Status::Denied, T0), None)).await);
    let other = another_agent(&f, "other-bot").await;
    assert!(apply(&f, record(&action(11, other, Status::Allowed, T0), Some(1))).await);
    refused(&f, record(&action(12, other, Status::Allowed, T0), Some(1))).await;
    // A higher cap lets it through.
    assert!(apply(&f, record(&action(13, agent, Status::Allowed, T0), Some(4))).await);
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 4);
    assert_eq!(s.actions_counted(agent, 0).await.unwrap(), 5);
    // An hour on, the window has moved past the first ones.
    let later = T0 + Duration::minutes(75);
    assert!(
        apply(
            &f,
            record(&action(14, agent, Status::Allowed, later), Some(1))
        )
        .await
    );
    assert_eq!(
        s.actions_counted(agent, hour_window_start(later))
            .await
            .unwrap(),
        1
    );
    // Old buckets are forgotten; the window's stay.
    s.forget_counts(window).await.unwrap();
    assert_eq!(
        f.scalar(&format!(
            "SELECT COUNT(*) FROM agent_action_counts WHERE minute < {window}"
        ))
        .await,
        0
    );
    assert_eq!(s.actions_counted(agent, 0).await.unwrap(), 4 + 1);
    assert_eq!(s.actions_counted(agent, window).await.unwrap(), 5);
    assert_eq!(
        f.scalar(&format!(
            "SELECT count FROM agent_action_counts WHERE agent_id = '{agent}' AND minute = {}",
            minute_of(T0)
        ))
        .await,
        3
    );
    // Every recorded action is kept, counted or not.
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 12);
}

async fn concurrent_actions_never_pass_the_cap(f: Fixture) {
    let people = migrated(&f).await;
    let nodes = [
        f.store.clone(),
        f.another_node().await,
        f.another_node().await,
    ];
    let mut tasks = Vec::new();
    for n in 0..12u128 {
        let store = nodes[(n % 3) as usize].clone();
        let change = record(&action(100 + n, people.agent, Status::Allowed, T0), Some(5));
        tasks.push(tokio::spawn(async move { store.apply(&change).await }));
    }
    let mut applied = 0;
    for task in tasks {
        if task.await.unwrap().expect("applies or refuses") {
            applied += 1;
        }
    }
    assert_eq!(applied, 5);
    assert_eq!(
        f.store
            .actions_counted(people.agent, hour_window_start(T0))
            .await
            .unwrap(),
        5
    );
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 5);
}

async fn actions_round_trip_with_their_deliveries(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let mut pending = action(1, people.agent, Status::PendingApproval, T0);
    pending.owner_id = Some(people.owner);
    pending.target.team_id = Some("payments".into());
    pending.parameters = json!({"to": "v41", "nested": {"list": [1, 2.5, null, "ü"]}});
    pending.parameters_sha256 = rampart_agents::parameters_sha256(&pending.parameters).unwrap();
    let body = json!({"type": "approval.requested", "action_id": pending.id.as_str()}).to_string();
    let deliveries = vec![
        Delivery::new(
            "d-1".into(),
            "w1".into(),
            EventType::ApprovalRequested,
            body.clone(),
            T0,
        ),
        Delivery::new(
            "d-2".into(),
            "w2".into(),
            EventType::ApprovalRequested,
            body,
            T0,
        ),
    ];
    let change = StoreChange::from(AgentChange::RecordAction {
        action: Box::new(pending.clone()),
        cap: Some(10),
        window_start: hour_window_start(T0),
        deliveries: deliveries.clone(),
    });
    assert!(apply(&f, change).await);
    assert_eq!(s.action(&pending.id).await.unwrap(), Some(pending.clone()));
    assert_eq!(s.action(&id(2)).await.unwrap(), None);
    assert_eq!(
        s.list_deliveries("w1", 10).await.unwrap(),
        vec![deliveries[0].clone()]
    );
    assert_eq!(
        s.delivery("w2", "d-2").await.unwrap(),
        Some(deliveries[1].clone())
    );
    assert_eq!(
        s.delivery("w1", "d-1").await.unwrap().unwrap().event,
        EventType::ApprovalRequested
    );
    // A refused action queues nothing.
    let over = StoreChange::from(AgentChange::RecordAction {
        action: Box::new(action(3, people.agent, Status::PendingApproval, T0)),
        cap: Some(1),
        window_start: hour_window_start(T0),
        deliveries: vec![Delivery::new(
            "d-3".into(),
            "w1".into(),
            EventType::ApprovalRequested,
            "{}".into(),
            T0,
        )],
    });
    refused(&f, over).await;
    assert_eq!(s.delivery("w1", "d-3").await.unwrap(), None);
    // An id is recorded once.
    assert!(f.store.apply(&record(&pending, None)).await.is_err());
    // Stored rows that no longer read are errors, not panics.
    f.exec_raw("UPDATE agent_actions SET target = 'not json'")
        .await;
    assert!(s.action(&pending.id).await.is_err());
}

async fn actions_are_listed_by_agent_status_and_team(f: Fixture) {
    let people = migrated(&f).await;
    let s = &f.store;
    let other = another_agent(&f, "other-bot").await;
    let teams = [None, Some("payments"), Some("search")];
    let mut all = Vec::new();
    for n in 1..=9u128 {
        let agent = if n % 3 == 0 { other } else { people.agent };
        let status = [Status::Allowed, Status::PendingApproval, Status::Denied][(n % 3) as usize];
        let mut a = action(
            n,
            agent,
            status,
            T0 + Duration::seconds(i64::try_from(n).unwrap()),
        );
        a.target.team_id = teams[((n / 3) % 3) as usize].map(str::to_owned);
        assert!(apply(&f, record(&a, None)).await);
        all.push(a);
    }
    // Action 4 (pending) has an answer, loaded with the page.
    let approval = rampart_agents::Approval {
        approver_id: people.approvers[0],
        verdict: rampart_agents::ApprovalVerdict::Approve,
        comment: Some("fine".into()),
        at: T0 + Duration::minutes(1),
    };
    assert!(
        apply(
            &f,
            StoreChange::from(AgentChange::Answer {
                action_id: id(4),
                approval: approval.clone(),
                expected_answers: 0,
                status: Status::PendingApproval,
            })
        )
        .await
    );
    all[3].approvals.push(approval);
    let list = |filter: ActionFilter| async move {
        s.actions(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect::<Vec<_>>()
    };
    let ids = |ns: &[u128]| ns.iter().map(|n| id(*n)).collect::<Vec<_>>();
    let page = ActionFilter {
        limit: 100,
        ..ActionFilter::default()
    };
    // Newest first, with approvals.
    let everything = s.actions(&page).await.unwrap();
    let mut newest_first = all.clone();
    newest_first.reverse();
    assert_eq!(everything, newest_first);
    let agent = |id: Uuid| ActionFilter {
        agent_id: Some(id),
        ..page.clone()
    };
    assert_eq!(list(agent(other)).await, ids(&[9, 6, 3]));
    assert_eq!(list(agent(people.agent)).await, ids(&[8, 7, 5, 4, 2, 1]));
    let status = |status| ActionFilter {
        status: Some(status),
        ..page.clone()
    };
    assert_eq!(list(status(Status::PendingApproval)).await, ids(&[7, 4, 1]));
    assert_eq!(list(status(Status::Executed)).await, ids(&[]));
    let teams = |teams: &[&str]| ActionFilter {
        teams: Some(teams.iter().map(|t| (*t).to_owned()).collect()),
        ..page.clone()
    };
    // No team, or one of the reader's.
    assert_eq!(list(teams(&["payments"])).await, ids(&[9, 5, 4, 3, 2, 1]));
    assert_eq!(list(teams(&["payments", "search"])).await.len(), 9);
    assert_eq!(list(teams(&[])).await, ids(&[9, 2, 1]));
    let combined = ActionFilter {
        agent_id: Some(people.agent),
        status: Some(Status::PendingApproval),
        teams: Some(vec!["search".into()]),
        ..page.clone()
    };
    assert_eq!(list(combined).await, ids(&[7, 1]));
    // Paging by id.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let batch = list(ActionFilter {
            before: before.clone(),
            limit: 4,
            ..ActionFilter::default()
        })
        .await;
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 4);
        before = batch.last().cloned();
        seen.extend(batch);
    }
    assert_eq!(seen, ids(&[9, 8, 7, 6, 5, 4, 3, 2, 1]));
    let after_5 = ActionFilter {
        before: Some(id(5)),
        agent_id: Some(people.agent),
        limit: 2,
        ..ActionFilter::default()
    };
    assert_eq!(list(after_5).await, ids(&[4, 2]));
    assert!(list(ActionFilter::default()).await.is_empty());
}

async fn actions_and_approvals_refuse_changes_behind_the_store(f: Fixture) {
    let people = migrated(&f).await;
    let pending = action(1, people.agent, Status::PendingApproval, T0);
    assert!(apply(&f, record(&pending, None)).await);
    assert!(
        apply(
            &f,
            StoreChange::from(AgentChange::Answer {
                action_id: pending.id.clone(),
                approval: rampart_agents::Approval {
                    approver_id: people.approvers[0],
                    verdict: rampart_agents::ApprovalVerdict::Reject,
                    comment: None,
                    at: T0,
                },
                expected_answers: 0,
                status: Status::Rejected,
            })
        )
        .await
    );
    for sql in [
        "DELETE FROM agent_actions",
        "UPDATE agent_approvals SET verdict = 'approve'",
        "DELETE FROM agent_approvals",
    ] {
        let error = f.try_exec_raw(sql).await.expect_err(sql);
        assert!(
            error.contains("never") || error.contains("append-only"),
            "{sql}: {error}"
        );
    }
    assert_eq!(f.scalar("SELECT COUNT(*) FROM agent_actions").await, 1);
    assert_eq!(
        f.text("SELECT verdict FROM agent_approvals").await,
        Some("reject".to_owned())
    );
}
