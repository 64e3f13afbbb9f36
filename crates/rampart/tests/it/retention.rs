//! Issue 18: retention on the real binary, over HTTP. Policies keep their modes (a compliance
//! one is never shortened or removed, a governance one is shortened only with
//! `retention:override`, each change audited); a disposal run prunes audit entries past
//! retention while a legal hold on a tag keeps its entries, the log still verifies, and the
//! signed certificate's counts and seq range match what was pruned; a run killed with SIGKILL
//! is resumed to the same certificate, nothing pruned twice, nothing held pruned.

use reqwest::Method;
use serde_json::{Value, json};

use crate::subjects::{append_all, public_key};
use crate::support::{rampart, run, text};
use crate::threat::{Env, rt, start};

/// `n` events; every third carries the `mifid2` tag.
fn events(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let tags = if i % 3 == 0 {
                json!(["mifid2"])
            } else {
                json!(["ops"])
            };
            json!({"actor": {"type": "user", "id": format!("u{}", i % 5)}, "action": "report.view",
                   "resource": {"type": "report", "id": format!("r{i}")}, "status": "success",
                   "compliance_tags": tags})
        })
        .collect()
}

async fn put_policy(env: &Env, data_type: &str, body: Value) -> (u16, Value) {
    let answer = env
        .admin(
            Method::PUT,
            &format!("/v1/retention/policies/{data_type}"),
            Some(body),
        )
        .await;
    (answer.status, answer.body)
}

/// Starts a real run; its id.
async fn start_run(env: &Env) -> String {
    let answer = env.admin(Method::POST, "/v1/retention/run", None).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

/// Polls the run until it is finished; the run.
async fn finished(env: &Env, id: &str) -> Value {
    for _ in 0..6000 {
        let answer = env
            .admin(Method::GET, &format!("/v1/retention/runs/{id}"), None)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        if answer.body["state"] == "finished" {
            return answer.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the run did not finish");
}

/// The audit step of a run.
fn audit_step(run: &Value) -> Value {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["data_type"] == "audit_entries")
        .cloned()
        .expect("an audit step")
}

/// For each seq below `end`: whether it reads as pruned (410) and its tags otherwise.
async fn states(env: &Env, end: u64) -> Vec<Option<Value>> {
    let mut out = Vec::new();
    for seq in 0..end {
        let answer = env
            .admin(Method::GET, &format!("/v1/audit/entries/{seq}"), None)
            .await;
        match answer.status {
            410 => {
                assert!(
                    answer.body["certificate_id"]
                        .as_str()
                        .unwrap()
                        .starts_with("dcert_")
                );
                out.push(None);
            }
            200 => out.push(Some(answer.body["compliance_tags"].clone())),
            other => panic!("seq {seq}: {other} {}", answer.body),
        }
    }
    out
}

#[test]
fn compliance_policies_are_never_shortened_and_governance_ones_only_with_override() {
    let env = start(&[]);
    rt().block_on(async {
        let (status, body) = put_policy(
            &env,
            "audit_entries:mifid2",
            json!({"retain_days": 2555, "mode": "compliance"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["retain_seconds"], 2555 * 86_400);
        for (change, body) in [
            (
                "shortened",
                json!({"retain_days": 2554, "mode": "compliance"}),
            ),
            (
                "weakened",
                json!({"retain_days": 2555, "mode": "governance"}),
            ),
        ] {
            let (status, answer) = put_policy(&env, "audit_entries:mifid2", body).await;
            assert_eq!(status, 409, "{change}: {answer}");
        }
        let removed = env
            .admin(
                Method::DELETE,
                "/v1/retention/policies/audit_entries:mifid2",
                None,
            )
            .await;
        assert_eq!(removed.status, 409, "{}", removed.body);
        let (status, _) = put_policy(
            &env,
            "audit_entries:mifid2",
            json!({"retain_days": 3000, "mode": "compliance"}),
        )
        .await;
        assert_eq!(status, 200, "a compliance policy may be lengthened");

        // Governance: a retention officer without retention:override may lengthen, not shorten.
        let (status, _) = put_policy(
            &env,
            "consents",
            json!({"retain_days": 365, "mode": "governance"}),
        )
        .await;
        assert_eq!(status, 200);
        let policy = env.admin(Method::GET, "/v1/policy", None).await;
        let mut roles = policy.body["roles"].as_object().unwrap().clone();
        roles.insert(
            "retention-officer".into(),
            json!({"permissions": ["retention:configure"]}),
        );
        let set = env
            .admin(Method::PUT, "/v1/policy", Some(json!({"roles": roles})))
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        let officer = env.user("officer", &["retention-officer"]).await;
        let key = env
            .api_key(&officer, "officer-key", &["retention:configure"])
            .await;
        let call = |body: Value| {
            let env = &env;
            let key = key.clone();
            async move {
                env.call(
                    Method::PUT,
                    "/v1/retention/policies/consents",
                    Some(&key),
                    None,
                    Some(body),
                )
                .await
            }
        };
        let longer = call(json!({"retain_days": 400, "mode": "governance"})).await;
        assert_eq!(longer.status, 200, "{}", longer.body);
        let shorter = call(json!({"retain_days": 30, "mode": "governance"})).await;
        assert_eq!(shorter.status, 403, "{}", shorter.body);
        // The admin holds retention:override: shortened, and audited with before and after.
        let (status, _) = put_policy(
            &env,
            "consents",
            json!({"retain_days": 30, "mode": "governance"}),
        )
        .await;
        assert_eq!(status, 200);
        let changes = env.audit_entries("retention.changed").await;
        let shortened = changes
            .iter()
            .find(|e| e["details"]["change"] == "shortened")
            .expect("the shortening is audited");
        assert_eq!(
            shortened["details"]["before"]["retain_seconds"],
            400 * 86_400
        );
        assert_eq!(shortened["details"]["after"]["retain_seconds"], 30 * 86_400);
        // Bad input is refused naming the field, and changes nothing.
        for (body, field) in [
            (json!({"mode": "governance"}), "retain_days"),
            (
                json!({"retain_days": 1, "retain_seconds": 1, "mode": "governance"}),
                "retain_days",
            ),
            (json!({"retain_days": 1}), "mode"),
            (json!({"retain_days": 1, "mode": "forever"}), "mode"),
            (
                json!({"retain_days": 40000, "mode": "governance"}),
                "retain_days",
            ),
        ] {
            let (status, answer) = put_policy(&env, "consents", body).await;
            assert_eq!(status, 422, "{answer}");
            assert!(answer.to_string().contains(field), "{answer}");
        }
        let (status, answer) = put_policy(
            &env,
            "everything",
            json!({"retain_days": 1, "mode": "governance"}),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        let listed = env.admin(Method::GET, "/v1/retention/policies", None).await;
        let consents = listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["data_type"] == "consents")
            .cloned()
            .unwrap();
        assert_eq!(consents["retain_seconds"], 30 * 86_400);
    });
}

#[test]
fn a_run_prunes_past_retention_keeps_held_tags_and_signs_a_matching_certificate() {
    let env = start(&[("RAMPART_RETENTION_BATCH_SIZE", "7")]);
    rt().block_on(async {
        append_all(&env, events(60)).await;
        let hold = env
            .admin(
                Method::POST,
                "/v1/legal-holds",
                Some(json!({"name": "MiFID review", "reason": "regulator request", "scope": {"tag": "mifid2"}})),
            )
            .await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let (status, body) =
            put_policy(&env, "audit_entries", json!({"retain_seconds": 0, "mode": "governance"})).await;
        assert_eq!(status, 200, "{body}");
        let dry = env.admin(Method::POST, "/v1/retention/run?dry_run=true", None).await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        assert_eq!(audit_step(&dry.body)["disposed"], 0);
        let done = finished(&env, &start_run(&env).await).await;
        let step = audit_step(&done);
        let end = step["progress"]["end_seq"].as_u64().unwrap();
        let states = states(&env, end).await;
        let pruned: Vec<u64> = (0..end)
            .zip(&states)
            .filter(|(_, state)| state.is_none())
            .map(|(seq, _)| seq)
            .collect();
        // Every entry kept carries the held tag; the neighbours are gone.
        for state in states.iter().flatten() {
            assert_eq!(state, &json!(["mifid2"]), "only held entries are kept");
        }
        assert_eq!(step["disposed"].as_u64().unwrap(), pruned.len() as u64);
        assert_eq!(step["held_back"].as_u64().unwrap(), 20);
        assert!(pruned.len() >= 40, "{done}");
        // The dry run counted what was due then: everything but its own request's entry.
        assert_eq!(
            dry.body["steps"][0]["due"].as_u64().unwrap() + 1,
            step["due"].as_u64().unwrap(),
            "the dry run counted the same"
        );

        let certificates = env.admin(Method::GET, "/v1/retention/certificates", None).await;
        let certificate = certificates.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["data_type"] == "audit_entries")
            .cloned()
            .expect("a certificate");
        assert_eq!(certificate["id"], step["certificate_id"]);
        assert_eq!(certificate["count"].as_u64().unwrap(), pruned.len() as u64);
        assert_eq!(certificate["first_seq"].as_u64().unwrap(), pruned[0]);
        assert_eq!(certificate["last_seq"].as_u64().unwrap(), *pruned.last().unwrap());
        assert_eq!(certificate["held_back"], 20);

        // The certificate verifies offline; one changed count does not.
        let key = public_key(&env).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("certificate.json");
        std::fs::write(&file, serde_json::to_vec(&certificate).unwrap()).unwrap();
        let ok = run(rampart().args(["retention", "verify-certificate"]).arg(&file).args(["--public-key", &key]));
        assert!(ok.status.success(), "{:?}", text(&ok));
        let mut forged = certificate.clone();
        forged["count"] = json!(1);
        std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
        let bad = run(rampart().args(["retention", "verify-certificate"]).arg(&file).args(["--public-key", &key]));
        assert!(!bad.status.success());

        // The log still verifies, the pruned entries included.
        let verified = env.admin(Method::POST, "/v1/audit/verify", None).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["ok"], true, "{}", verified.body);
    });
}

#[test]
fn a_run_killed_mid_way_resumes_to_a_complete_certificate() {
    let mut env = start(&[("RAMPART_RETENTION_BATCH_SIZE", "25")]);
    let id = rt().block_on(async {
        append_all(&env, events(6000)).await;
        let hold = env
            .admin(
                Method::POST,
                "/v1/legal-holds",
                Some(json!({"name": "MiFID review", "reason": "regulator request", "scope": {"tag": "mifid2"}})),
            )
            .await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let (status, _) =
            put_policy(&env, "audit_entries", json!({"retain_seconds": 0, "mode": "governance"})).await;
        assert_eq!(status, 200);
        let id = start_run(&env).await;
        // Kill it once it has pruned some and not all.
        loop {
            let answer = env
                .admin(Method::GET, &format!("/v1/retention/runs/{id}"), None)
                .await;
            let step = audit_step(&answer.body);
            if step["disposed"].as_u64().unwrap() > 0 {
                assert_ne!(answer.body["state"], "finished", "the run ended before the kill: {}", answer.body);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        id
    });
    env.kill_9_and_restart();
    rt().block_on(async {
        // A new request resumes the interrupted run.
        let again = start_run(&env).await;
        assert_eq!(
            again, id,
            "the interrupted run is resumed, not a new one started"
        );
        let done = finished(&env, &again).await;
        let step = audit_step(&done);
        let end = step["progress"]["end_seq"].as_u64().unwrap();
        let states = states(&env, end).await;
        let pruned = states.iter().filter(|s| s.is_none()).count() as u64;
        for state in states.iter().flatten() {
            assert_eq!(
                state,
                &json!(["mifid2"]),
                "nothing held is pruned, nothing due is left"
            );
        }
        assert_eq!(
            step["disposed"].as_u64().unwrap(),
            pruned,
            "nothing counted twice"
        );
        assert_eq!(step["held_back"].as_u64().unwrap(), 2000);
        let certificates = env
            .admin(Method::GET, "/v1/retention/certificates", None)
            .await;
        let certificate = &certificates.body["items"][0];
        assert_eq!(certificate["count"].as_u64().unwrap(), pruned);
        let verified = env.admin(Method::POST, "/v1/audit/verify", None).await;
        assert_eq!(verified.body["ok"], true, "{}", verified.body);
    });
}
