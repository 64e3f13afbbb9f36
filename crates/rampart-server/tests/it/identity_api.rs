//! Identity and access over the API: principals, passwords and login, lockout, TOTP, sessions,
//! API keys (scopes, expiry, allowlists, rotation), authorize with team isolation, the policy,
//! rate limits and introspection.

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use rampart_access::totp::{Totp, TotpSecret};
use serde_json::{Value, json};

use crate::harness::{App, Reply};

const GOOD_PASSWORD: &str = "correct-Horse-battery-9";

async fn user(app: &App, name: &str, roles: &[&str], teams: &[&str]) -> String {
    let reply = app
        .post(
            "/v1/principals",
            json!({"type": "user", "name": name, "email": format!("{name}@example.com"),
                   "password": GOOD_PASSWORD, "roles": roles, "teams": teams}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn login(app: &App, name: &str, password: &str, totp: Option<&str>) -> Reply {
    let mut body = json!({"name": name, "password": password});
    if let Some(code) = totp {
        body["totp"] = json!(code);
    }
    app.call_from(
        "192.0.2.10",
        Method::POST,
        "/v1/auth/login",
        None,
        Some(body),
    )
    .await
}

/// The bootstrap admin is an API key, one factor: a test that makes keys for admins with it
/// lifts the admin role's `mfa_required` first (the rule itself is tested in `api_key_rules`).
async fn admin_without_mfa(app: &App) {
    let mut document = app.get("/v1/policy").await.body;
    document["roles"]["admin"]["mfa_required"] = json!(false);
    let replaced = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(document))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
}

fn problem_type(reply: &Reply) -> &str {
    reply.body["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn principals_are_created_read_changed_and_disabled() {
    let app = App::new().await;
    let created = app
        .post(
            "/v1/principals",
            json!({"type": "user", "name": "alice", "email": "alice@example.com", "password": GOOD_PASSWORD, "roles": ["operator"], "teams": ["payments"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["type"], "user");
    assert_eq!(created.body["has_password"], true);
    assert!(!created.text.contains(GOOD_PASSWORD));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let again = app
        .post(
            "/v1/principals",
            json!({"name": "alice", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    for (body, field, needle) in [
        (
            json!({"name": "bob", "password": "short-1A"}),
            "password",
            "at least 12",
        ),
        (
            json!({"name": "bob", "password": "Password123!"}),
            "password",
            "common",
        ),
        (
            json!({"name": "bobby", "password": "Bobby-the-builder-77"}),
            "password",
            "name",
        ),
        (
            json!({"name": "bob", "roles": ["wizard"]}),
            "roles",
            "not a role",
        ),
        (
            json!({"name": "bob", "type": "robot"}),
            "type",
            "user, service",
        ),
        (json!({"name": "b b"}), "name", "characters"),
        (json!({"name": "bob", "email": "nope"}), "email", "email"),
        (json!({"name": "bob", "shoe": 42}), "shoe", "not a field"),
    ] {
        let reply = app.post("/v1/principals", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["errors"][0]["field"], field, "{}", reply.text);
        assert!(reply.text.contains(needle), "{needle}: {}", reply.text);
        assert!(!reply.text.contains("short-1A") && !reply.text.contains("Password123!"));
    }
    let read = app.get(&format!("/v1/principals/{id}")).await;
    assert_eq!(read.body["name"], "alice");
    let page = app.get("/v1/principals?limit=2").await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    assert!(page.body["next_cursor"].is_string());
    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/principals/{id}"),
            Some(&app.admin),
            Some(json!({"roles": ["developer"], "teams": ["search"]})),
        )
        .await;
    assert_eq!(patched.body["roles"], json!(["developer"]));
    assert_eq!(patched.body["teams"], json!(["search"]));

    let session = login(&app, "alice", GOOD_PASSWORD, None).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    let token = session.body["token"].as_str().unwrap().to_owned();
    let disabled = app
        .call(
            Method::DELETE,
            &format!("/v1/principals/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(disabled.body["disabled"], true);
    // History stays; the session and any login stop at once.
    assert_eq!(
        app.get(&format!("/v1/principals/{id}")).await.body["disabled"],
        true
    );
    let whoami = app
        .call(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(whoami.status, StatusCode::UNAUTHORIZED);
    let refused = login(&app, "alice", GOOD_PASSWORD, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // A viewer cannot manage principals.
    let denied = app
        .call(
            Method::POST,
            "/v1/principals",
            Some(&app.viewer),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn login_gives_a_session_that_logout_and_idleness_end() {
    let app = App::with_env(&[("RAMPART_SESSION_IDLE_SECONDS", "2")]).await;
    let id = user(&app, "carol", &["developer"], &[]).await;
    let session = login(&app, "carol", GOOD_PASSWORD, None).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    let token = session.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("v4.public."));
    assert!(session.body["expires_at"].as_str().unwrap().ends_with('Z'));
    let whoami = app
        .call(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(whoami.status, StatusCode::OK, "{}", whoami.text);
    assert_eq!(whoami.body["principal_id"], id.as_str());
    let out = app
        .call(Method::POST, "/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.body["revoked"], true);
    let after = app
        .call(Method::GET, "/v1/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    // A tampered token is refused like any bad credential.
    let mut tampered = token.clone().into_bytes();
    tampered[30] ^= 1;
    let tampered = String::from_utf8(tampered).unwrap();
    let bad = app
        .call(Method::GET, "/v1/auth/whoami", Some(&tampered), None)
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    // Idle timeout: 2 s here.
    let idle = login(&app, "carol", GOOD_PASSWORD, None).await;
    let idle = idle.body["token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = app
        .call(Method::GET, "/v1/auth/whoami", Some(&idle), None)
        .await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    // Logging out with an API key is a clear 422.
    let key_logout = app
        .call(Method::POST, "/v1/auth/logout", Some(&app.admin), None)
        .await;
    assert_eq!(key_logout.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer_in_about_the_same_time() {
    let app = App::new().await;
    let dave = user(&app, "dave", &["viewer"], &[]).await;
    let unknown = login(&app, "nobody-here", GOOD_PASSWORD, None).await;
    let wrong = login(&app, "dave", "Wrong-password-123", None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.body["type"], wrong.body["type"]);
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);
    assert_eq!(unknown.body["title"], wrong.body["title"]);
    // Timing: medians of alternating attempts (wrong passwords stay below the lockout).
    let mut unknown_times = Vec::new();
    let mut wrong_times = Vec::new();
    for i in 0..9 {
        let start = Instant::now();
        login(&app, &format!("ghost{i}"), "Wrong-password-123", None).await;
        unknown_times.push(start.elapsed());
        let start = Instant::now();
        login(&app, "dave", "Wrong-password-123", None).await;
        wrong_times.push(start.elapsed());
        app.post(&format!("/v1/principals/{dave}/unlock"), json!({}))
            .await;
    }
    unknown_times.sort();
    wrong_times.sort();
    let ratio = unknown_times[4].as_secs_f64() / wrong_times[4].as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "unknown {unknown_times:?} vs wrong {wrong_times:?}: ratio {ratio}"
    );
}

#[tokio::test]
async fn failed_logins_lock_the_account_until_it_expires_or_is_unlocked() {
    let app = App::with_env(&[
        ("RAMPART_MAX_LOGIN_ATTEMPTS", "3"),
        ("RAMPART_LOCKOUT_SECONDS", "2"),
    ])
    .await;
    let id = user(&app, "erin", &["viewer"], &[]).await;
    for _ in 0..2 {
        assert_eq!(
            login(&app, "erin", "Wrong-password-123", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let third = login(&app, "erin", "Wrong-password-123", None).await;
    assert_eq!(third.status, StatusCode::LOCKED, "{}", third.text);
    // Locked: even the right password gets 423.
    let locked = login(&app, "erin", GOOD_PASSWORD, None).await;
    assert_eq!(locked.status, StatusCode::LOCKED);
    assert!(app.get(&format!("/v1/principals/{id}")).await.body["locked_until"].is_string());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = login(&app, "erin", GOOD_PASSWORD, None).await;
    assert_eq!(expired.status, StatusCode::OK, "{}", expired.text);
    // Lock again, then an administrator unlocks (audited).
    for _ in 0..3 {
        login(&app, "erin", "Wrong-password-123", None).await;
    }
    assert_eq!(
        login(&app, "erin", GOOD_PASSWORD, None).await.status,
        StatusCode::LOCKED
    );
    let unlocked = app
        .post(&format!("/v1/principals/{id}/unlock"), json!({}))
        .await;
    assert_eq!(unlocked.status, StatusCode::OK, "{}", unlocked.text);
    assert_eq!(
        login(&app, "erin", GOOD_PASSWORD, None).await.status,
        StatusCode::OK
    );
    let entries = app
        .get("/v1/audit/entries?limit=1000&action=principals.unlock")
        .await;
    assert_eq!(
        entries.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        entries.text
    );
}

#[tokio::test]
async fn totp_is_required_for_mfa_roles_and_codes_work_once() {
    let app = App::new().await;
    let id = user(&app, "frank", &["admin"], &[]).await;
    let first = login(&app, "frank", GOOD_PASSWORD, None).await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert!(
        problem_type(&first).ends_with("/mfa-required"),
        "{}",
        first.text
    );
    assert!(first.text.contains("enroll"), "{}", first.text);
    // A wrong password says nothing about MFA.
    let wrong = login(&app, "frank", "Wrong-password-123", None).await;
    assert!(problem_type(&wrong).ends_with("/unauthenticated"));

    // Nobody enrols a second factor for someone else, not even an admin.
    let by_admin = app
        .post(&format!("/v1/principals/{id}/totp"), json!({}))
        .await;
    assert_eq!(by_admin.status, StatusCode::FORBIDDEN, "{}", by_admin.text);
    // The right password earned an enrollment session, good for nothing but enrolling.
    let enrollment = first.body["enrollment_token"].as_str().unwrap().to_owned();
    assert!(
        wrong.body.get("enrollment_token").is_none(),
        "{}",
        wrong.text
    );
    let elsewhere = app
        .call(Method::GET, "/v1/audit/entries", Some(&enrollment), None)
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.text
    );
    // Not even what a principal may do for itself: a key would outlive the missing factor.
    let own_key = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&enrollment),
            Some(json!({"name": "skip-mfa", "scopes": ["totp:enroll-self"]})),
        )
        .await;
    assert_eq!(own_key.status, StatusCode::FORBIDDEN, "{}", own_key.text);
    let enrolled = app
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp"),
            Some(&enrollment),
            Some(json!({})),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{}", enrolled.text);
    let secret_b32 = enrolled.body["secret_b32"].as_str().unwrap();
    assert!(
        enrolled.body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Rampart:frank?secret=")
    );
    let secret = TotpSecret::from_base32(secret_b32).unwrap();
    let now = || u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let wrong_code = app
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp/confirm"),
            Some(&enrollment),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(
        wrong_code.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong_code.text
    );
    let code = Totp::DEFAULT.code_at(&secret, now());
    let confirmed = app
        .call(
            Method::POST,
            &format!("/v1/principals/{id}/totp/confirm"),
            Some(&enrollment),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    // The code used to confirm cannot log in (no replay); the next step's code can.
    let replay = login(&app, "frank", GOOD_PASSWORD, Some(&code)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let next = Totp::DEFAULT.code_at(&secret, now() + 30);
    let ok = login(&app, "frank", GOOD_PASSWORD, Some(&next)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let again = login(&app, "frank", GOOD_PASSWORD, Some(&next)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a code works once");
    let missing = login(&app, "frank", GOOD_PASSWORD, None).await;
    assert!(problem_type(&missing).ends_with("/mfa-required"));
    let removed = app
        .call(
            Method::DELETE,
            &format!("/v1/principals/{id}/totp"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(removed.body["totp_enabled"], false);
}

#[tokio::test]
async fn api_keys_are_scoped_expire_rotate_and_respect_allowlists() {
    let app = App::new().await;
    let dev = user(&app, "gina", &["developer"], &[]).await;
    let created = app
        .post(
            "/v1/api-keys",
            json!({"principal_id": dev, "name": "ci", "scopes": ["keys:encrypt"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("rk_"));
    assert!(created.body["expires_at"].is_string());
    // Escalation: a scope the principal's roles do not grant.
    let escalate = app
        .post(
            "/v1/api-keys",
            json!({"principal_id": dev, "name": "x", "scopes": ["cards:detokenize"]}),
        )
        .await;
    assert_eq!(
        escalate.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        escalate.text
    );
    assert!(escalate.text.contains("cards:detokenize"));
    // A scoped key minting an unscoped (wider) key for itself.
    let wider = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&key),
            Some(json!({"scopes": ["*"], "name": "wider"})),
        )
        .await;
    assert_eq!(
        wider.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wider.text
    );
    // A principal cannot make keys for another without api_keys:manage.
    let other = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&key),
            Some(json!({"principal_id": app.viewer_id, "name": "x", "scopes": ["keys:encrypt"]})),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    // Use is counted without a write per request, and shows up after the flush.
    for _ in 0..3 {
        let who = app
            .call(Method::GET, "/v1/auth/whoami", Some(&key), None)
            .await;
        assert_eq!(who.status, StatusCode::OK);
    }
    // Uses not stored yet count already: the list is never stale on one node.
    let fresh = app.get(&format!("/v1/api-keys?principal_id={dev}")).await;
    assert_eq!(fresh.body["items"][0]["usage_count"], 5, "{}", fresh.text);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let listed = app.get(&format!("/v1/api-keys?principal_id={dev}")).await;
    let item = &listed.body["items"][0];
    // Five uses: the two refused requests above authenticated with the key too.
    assert_eq!(item["usage_count"], 5, "{}", listed.text);
    assert!(item["last_used_at"].is_string());
    assert!(!listed.text.contains(&key));

    // Rotation with a grace period: both work, then only the new one.
    let id = created.body["id"].as_str().unwrap();
    let rotated = app
        .post(
            &format!("/v1/api-keys/{id}/rotate"),
            json!({"grace_seconds": 2}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.text);
    let new_key = rotated.body["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated.body["rotated_from"], id);
    assert_eq!(rotated.body["scopes"], json!(["keys:encrypt"]));
    for k in [&key, &new_key] {
        assert_eq!(
            app.call(Method::GET, "/v1/auth/whoami", Some(k), None)
                .await
                .status,
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.call(Method::GET, "/v1/auth/whoami", Some(&key), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(Method::GET, "/v1/auth/whoami", Some(&new_key), None)
            .await
            .status,
        StatusCode::OK
    );

    // Revoked keys stop at once.
    let new_id = rotated.body["id"].as_str().unwrap();
    let revoked = app
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{new_id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(revoked.body["revoked"], true);
    assert_eq!(
        app.call(Method::GET, "/v1/auth/whoami", Some(&new_key), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Allowlists, v4 and v6.
    let fenced = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "principal_id": dev, "name": "fenced", "allowed_ips": ["10.0.0.0/8", "2001:db8::/32"]}),
        )
        .await;
    assert_eq!(fenced.status, StatusCode::CREATED, "{}", fenced.text);
    let fenced_key = fenced.body["key"].as_str().unwrap();
    for (ip, status) in [
        ("10.1.2.3", StatusCode::OK),
        ("2001:db8::7", StatusCode::OK),
        ("192.0.2.1", StatusCode::UNAUTHORIZED),
        ("2001:db9::1", StatusCode::UNAUTHORIZED),
    ] {
        let reply = app
            .call_from(ip, Method::GET, "/v1/auth/whoami", Some(fenced_key), None)
            .await;
        assert_eq!(reply.status, status, "{ip}");
    }
    let bad_cidr = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "name": "x", "allowed_ips": ["10.0.0.0/33"]}),
        )
        .await;
    assert_eq!(bad_cidr.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A device rotates its own key on each sync, without api_keys:manage.
    let device = app
        .post(
            "/v1/principals",
            json!({"type": "device", "name": "sensor-7", "roles": ["viewer"]}),
        )
        .await;
    let device_id = device.body["id"].as_str().unwrap();
    let device_key = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "principal_id": device_id, "name": "sync"}),
        )
        .await;
    let (dk_id, dk) = (
        device_key.body["id"].as_str().unwrap().to_owned(),
        device_key.body["key"].as_str().unwrap().to_owned(),
    );
    let synced = app
        .call(
            Method::POST,
            &format!("/v1/api-keys/{dk_id}/rotate"),
            Some(&dk),
            None,
        )
        .await;
    assert_eq!(synced.status, StatusCode::CREATED, "{}", synced.text);
    assert_eq!(
        app.call(Method::GET, "/v1/auth/whoami", Some(&dk), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn authorize_explains_decisions_keeps_teams_apart_and_audits_denials() {
    let app = App::new().await;
    let ops = user(&app, "hank", &["operator"], &["payments"]).await;
    let auditor = user(&app, "ivy", &["security_auditor"], &[]).await;
    let ask = |principal: &str, action: &str, team: Option<&str>| {
        let mut resource = json!({"type": "service", "id": "checkout"});
        if let Some(team) = team {
            resource["team_id"] = json!(team);
        }
        json!({"principal_id": principal, "action": action, "resource": resource})
    };
    let allowed = app
        .post(
            "/v1/authorize",
            ask(&ops, "actions:approve", Some("payments")),
        )
        .await;
    assert_eq!(allowed.body["allowed"], true, "{}", allowed.text);
    assert_eq!(allowed.body["matched_role"], "operator");
    let other_team = app
        .post(
            "/v1/authorize",
            ask(&ops, "actions:approve", Some("search")),
        )
        .await;
    assert_eq!(other_team.body["allowed"], false);
    assert!(
        other_team.body["reason"]
            .as_str()
            .unwrap()
            .contains("team isolation")
    );
    let not_granted = app
        .post("/v1/authorize", ask(&ops, "audit:export", None))
        .await;
    assert_eq!(not_granted.body["allowed"], false);
    assert_eq!(not_granted.body["matched_role"], Value::Null);
    let bypass = app
        .post(
            "/v1/authorize",
            ask(&auditor, "audit:export", Some("payments")),
        )
        .await;
    assert_eq!(bypass.body["allowed"], true);
    assert!(
        bypass.body["reason"]
            .as_str()
            .unwrap()
            .contains("bypasses team isolation")
    );
    let missing = app
        .post(
            "/v1/authorize",
            ask("00000000-0000-7000-8000-000000000000", "audit:read", None),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let entries = app.get("/v1/audit/entries?limit=1000").await;
    let items = entries.body["items"].as_array().unwrap();
    let denials = items.iter().filter(|e| e["action"] == "authz.deny").count();
    assert_eq!(denials, 2, "{}", entries.text);
    assert!(
        !items
            .iter()
            .any(|e| e["resource"]["id"] == "/v1/authorize" && e["status"] == "success")
    );
}

#[tokio::test]
async fn the_policy_is_read_replaced_and_refused_when_broken() {
    let app = App::new().await;
    let current = app.get("/v1/policy").await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.text);
    assert_eq!(current.body["source"], "default");
    assert!(current.body["roles"]["admin"]["mfa_required"] == true);
    let cycle = json!({"roles": {"admin": {"permissions": ["*"], "inherits": ["a"]}, "a": {"inherits": ["admin"]}}});
    let refused = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(cycle))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("cycle"), "{}", refused.text);
    let lockout = json!({"roles": {"admin": {"permissions": ["audit:read"]}}});
    let refused = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(lockout))
        .await;
    assert!(refused.text.contains("roles:manage"), "{}", refused.text);
    let ops = user(&app, "jack", &["operator"], &[]).await;
    let mut document = current.body.clone();
    document["roles"]["operator"]["permissions"]
        .as_array_mut()
        .unwrap()
        .push(json!("reports:export"));
    let replaced = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(document))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.body["source"], "api");
    assert_eq!(replaced.body["version"], 1);
    let decision = app
        .post(
            "/v1/authorize",
            json!({"principal_id": ops, "action": "reports:export"}),
        )
        .await;
    assert_eq!(decision.body["allowed"], true, "{}", decision.text);
    let viewer = app
        .call(Method::GET, "/v1/policy", Some(&app.viewer), None)
        .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logins_are_rate_limited_per_address_and_per_name() {
    let app = App::with_env(&[("RAMPART_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        let reply = login(&app, "nobody", "Wrong-password-123", None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let limited = login(&app, "nobody", "Wrong-password-123", None).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert!(limited.headers.contains_key("retry-after"));
    // Per name: another address still cannot hammer the same account.
    let other = app
        .call_from(
            "198.51.100.9",
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"name": "nobody", "password": "Wrong-password-123"})),
        )
        .await;
    assert_eq!(other.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn introspection_reports_active_credentials_only() {
    let app = App::new().await;
    let kate = user(&app, "kate", &["developer"], &[]).await;
    let token = login(&app, "kate", GOOD_PASSWORD, None).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let fenced = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "principal_id": kate, "name": "fenced", "allowed_ips": ["203.0.113.0/24"]}),
        )
        .await;
    let fenced_key = fenced.body["key"].as_str().unwrap().to_owned();
    for (credential, client_ip, active) in [
        (token.as_str(), None, true),
        (app.viewer.as_str(), None, true),
        (fenced_key.as_str(), Some("203.0.113.7"), true),
        (fenced_key.as_str(), None, false),
        (fenced_key.as_str(), Some("198.51.100.1"), false),
        ("rk_nope", None, false),
        ("v4.public.garbage", None, false),
    ] {
        let mut body = json!({"credential": credential});
        if let Some(ip) = client_ip {
            body["client_ip"] = json!(ip);
        }
        let reply = app.post("/v1/auth/introspect", body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.body["active"], active,
            "{credential} {client_ip:?}: {}",
            reply.text
        );
        if !active {
            assert_eq!(
                reply.body.as_object().unwrap().len(),
                1,
                "no reasons: {}",
                reply.text
            );
        }
    }
    let kate = app
        .post("/v1/auth/introspect", json!({"credential": token}))
        .await;
    assert_eq!(kate.body["name"], "kate");
    assert_eq!(kate.body["roles"], json!(["developer"]));
}

#[tokio::test]
async fn a_hash_made_with_old_parameters_is_replaced_at_the_next_login() {
    use rampart_access::password::{HashParams, PasswordHasher};
    let app = App::new().await;
    let id = user(&app, "lena", &["viewer"], &[]).await;
    let id = uuid::Uuid::parse_str(&id).unwrap();
    let weak = PasswordHasher::new(HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    let old = weak
        .hash(&secrecy::SecretString::from(GOOD_PASSWORD.to_owned()))
        .unwrap();
    app.state.store().set_password_hash(id, &old).await.unwrap();
    let ok = login(&app, "lena", GOOD_PASSWORD, None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let stored = app.state.store().principal(id).await.unwrap().unwrap();
    let hash = stored.password_hash.unwrap();
    assert_ne!(hash, old);
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    // And the new hash still logs in.
    assert_eq!(
        login(&app, "lena", GOOD_PASSWORD, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn limited_credentials_cannot_make_wider_ones() {
    let app = App::new().await;
    admin_without_mfa(&app).await;
    let admin_id = app.get("/v1/auth/whoami").await.body["principal_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An admin key scoped to users:manage cannot grant roles (that takes roles:manage).
    let scoped = app
        .post(
            "/v1/api-keys",
            json!({"name": "hr", "scopes": ["users:manage"]}),
        )
        .await;
    let hr = scoped.body["key"].as_str().unwrap().to_owned();
    let grant = app
        .call(
            Method::POST,
            "/v1/principals",
            Some(&hr),
            Some(json!({"name": "eve", "password": GOOD_PASSWORD, "roles": ["admin"]})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::FORBIDDEN, "{}", grant.text);
    // A key scoped to api_keys:manage cannot mint an unscoped key for someone else, nor scopes
    // it does not hold.
    let keyman = app
        .post(
            "/v1/api-keys",
            json!({"name": "km", "scopes": ["api_keys:manage"]}),
        )
        .await;
    let km = keyman.body["key"].as_str().unwrap().to_owned();
    let dev = user(&app, "zed", &["developer"], &[]).await;
    for body in [
        json!({"principal_id": dev, "name": "x"}),
        json!({"principal_id": dev, "name": "x", "scopes": ["keys:encrypt"]}),
        json!({"principal_id": admin_id, "name": "x"}),
    ] {
        let reply = app
            .call(Method::POST, "/v1/api-keys", Some(&km), Some(body.clone()))
            .await;
        assert!(reply.status.is_client_error(), "{body}: {}", reply.text);
    }
    // Junk scopes are refused.
    let junk = app
        .post("/v1/api-keys", json!({"name": "x", "scopes": [""]}))
        .await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A key made by an allowlisted, expiring key inherits both.
    let fenced = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "name": "f", "allowed_ips": ["10.0.0.0/8"], "expires_in_days": 1}),
        )
        .await;
    let fenced_key = fenced.body["key"].as_str().unwrap().to_owned();
    let child = app
        .call_from(
            "10.0.0.5",
            Method::POST,
            "/v1/api-keys",
            Some(&fenced_key),
            Some(json!({"scopes": ["*"], "name": "child"})),
        )
        .await;
    assert_eq!(child.status, StatusCode::CREATED, "{}", child.text);
    assert_eq!(child.body["allowed_ips"], json!(["10.0.0.0/8"]));
    assert_eq!(child.body["expires_at"], fenced.body["expires_at"]);
    let wider = app
        .call_from(
            "10.0.0.5",
            Method::POST,
            "/v1/api-keys",
            Some(&fenced_key),
            Some(json!({"scopes": ["*"], "name": "w", "allowed_ips": ["0.0.0.0/0"]})),
        )
        .await;
    assert_eq!(
        wider.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wider.text
    );
    // A key has one successor: rotating the same key twice is refused.
    let fenced_id = fenced.body["id"].as_str().unwrap();
    let first = app
        .post(
            &format!("/v1/api-keys/{fenced_id}/rotate"),
            json!({"grace_seconds": 60}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let second = app
        .post(
            &format!("/v1/api-keys/{fenced_id}/rotate"),
            json!({"grace_seconds": 60}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    // TOTP cannot be enrolled for oneself with an API key (a session proves presence).
    let zed_key = app
        .post(
            "/v1/api-keys",
            json!({"principal_id": dev, "name": "z", "scopes": ["keys:encrypt"]}),
        )
        .await;
    let zk = zed_key.body["key"].as_str().unwrap();
    // A key manages only itself, not its siblings (without api_keys:manage).
    let other = app
        .post(
            "/v1/api-keys",
            json!({"scopes": ["*"], "principal_id": dev, "name": "other"}),
        )
        .await;
    let other_id = other.body["id"].as_str().unwrap();
    let revoke_sibling = app
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{other_id}"),
            Some(zk),
            None,
        )
        .await;
    assert_eq!(
        revoke_sibling.status,
        StatusCode::FORBIDDEN,
        "{}",
        revoke_sibling.text
    );
    let enroll = app
        .call(
            Method::POST,
            &format!("/v1/principals/{dev}/totp"),
            Some(zk),
            None,
        )
        .await;
    assert_eq!(enroll.status, StatusCode::FORBIDDEN, "{}", enroll.text);
    let session = login(&app, "zed", GOOD_PASSWORD, None).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let enroll = app
        .call(
            Method::POST,
            &format!("/v1/principals/{dev}/totp"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(enroll.status, StatusCode::CREATED, "{}", enroll.text);
}

#[tokio::test]
async fn policies_keep_held_roles_and_managers_keep_to_their_teams() {
    let app = App::new().await;
    let mut document = app.get("/v1/policy").await.body;
    // Dropping a role principals hold is refused, naming it.
    let mut dropped = document.clone();
    dropped["roles"].as_object_mut().unwrap().remove("viewer");
    dropped["roles"]["developer"]["inherits"] = json!([]);
    let refused = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(dropped))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("viewer"), "{}", refused.text);
    // A user manager without roles:manage places principals only in its own teams.
    document["roles"]["hr"] = json!({"permissions": ["users:manage"]});
    let put = app
        .call(Method::PUT, "/v1/policy", Some(&app.admin), Some(document))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    user(&app, "henry", &["hr"], &["payments"]).await;
    let session = login(&app, "henry", GOOD_PASSWORD, None).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_team = app
        .call(
            Method::POST,
            "/v1/principals",
            Some(&session),
            Some(json!({"name": "sam", "teams": ["search"]})),
        )
        .await;
    assert_eq!(
        other_team.status,
        StatusCode::FORBIDDEN,
        "{}",
        other_team.text
    );
    let own_team = app
        .call(
            Method::POST,
            "/v1/principals",
            Some(&session),
            Some(json!({"name": "sam", "teams": ["payments"]})),
        )
        .await;
    assert_eq!(own_team.status, StatusCode::CREATED, "{}", own_team.text);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_of_these_issues() {
    let app = App::new().await;
    let doc = app.get("/openapi.json").await.body;
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/v1/keys", "post"),
        ("/v1/keys", "get"),
        ("/v1/keys/{name}", "get"),
        ("/v1/keys/{name}", "patch"),
        ("/v1/keys/{name}/rotate", "post"),
        ("/v1/keys/{name}/encrypt", "post"),
        ("/v1/keys/{name}/decrypt", "post"),
        ("/v1/keys/{name}/rewrap", "post"),
        ("/v1/keys/{name}/hmac", "post"),
        ("/v1/keys/{name}/verify-hmac", "post"),
        ("/v1/keys/{name}/sign", "post"),
        ("/v1/keys/{name}/verify", "post"),
        ("/v1/documents/encrypt", "post"),
        ("/v1/documents/decrypt", "post"),
        ("/v1/cards/tokenize", "post"),
        ("/v1/cards/detokenize", "post"),
        ("/v1/principals", "post"),
        ("/v1/principals", "get"),
        ("/v1/principals/{id}", "get"),
        ("/v1/principals/{id}", "patch"),
        ("/v1/principals/{id}", "delete"),
        ("/v1/principals/{id}/totp", "post"),
        ("/v1/principals/{id}/totp", "delete"),
        ("/v1/principals/{id}/totp/confirm", "post"),
        ("/v1/principals/{id}/unlock", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/introspect", "post"),
        ("/v1/api-keys", "post"),
        ("/v1/api-keys", "get"),
        ("/v1/api-keys/{id}", "delete"),
        ("/v1/api-keys/{id}/rotate", "post"),
        ("/v1/authorize", "post"),
        ("/v1/policy", "get"),
        ("/v1/policy", "put"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from /openapi.json"
        );
    }
}

#[tokio::test]
async fn a_policy_cannot_demand_a_factor_its_author_lacks() {
    let app = App::new().await;
    let mut document = app.get("/v1/policy").await.body;
    document["roles"]["policy_admin"] = json!({"permissions": ["roles:manage"]});
    let put = app
        .call(
            Method::PUT,
            "/v1/policy",
            Some(&app.admin),
            Some(document.clone()),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    user(&app, "pat", &["policy_admin"], &[]).await;
    let session = login(&app, "pat", GOOD_PASSWORD, None).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    document["roles"]["policy_admin"]["mfa_required"] = json!(true);
    let refused = app
        .call(Method::PUT, "/v1/policy", Some(&session), Some(document))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("second factor"), "{}", refused.text);
}

/// The entries recorded for the data subject `subject`, oldest first.
async fn subject_entries(app: &App, subject: &str) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/v1/audit/entries?subject_id={subject}&limit=1000"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

/// Issue 17: the application links a principal to a data subject (`subject_id`) when creating
/// it, reads the link back, changes and removes it; a bad subject id is refused by name and
/// changes nothing; the audit entries name the subject in their own `subject_id`, never in
/// `details`.
#[tokio::test]
async fn principals_are_linked_to_data_subjects_and_unlinked() {
    let app = App::new().await;
    let created = app
        .post(
            "/v1/principals",
            json!({"type": "user", "name": "dana", "subject_id": "cust-42"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["subject_id"], "cust-42");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let read = app.get(&format!("/v1/principals/{id}")).await;
    assert_eq!(read.body["subject_id"], "cust-42");
    let page = app.get("/v1/principals?limit=1000").await;
    let listed = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(listed["subject_id"], "cust-42");
    // Without a link the field is there, and null.
    let plain = app.post("/v1/principals", json!({"name": "erin"})).await;
    assert_eq!(plain.status, StatusCode::CREATED, "{}", plain.text);
    assert!(plain.body.as_object().unwrap().contains_key("subject_id"));
    assert_eq!(plain.body["subject_id"], Value::Null);

    let path = format!("/v1/principals/{id}");
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(&app.admin), Some(body));
    let relinked = patch(json!({"subject_id": "cust-43"})).await;
    assert_eq!(relinked.status, StatusCode::OK, "{}", relinked.text);
    assert_eq!(relinked.body["subject_id"], "cust-43");
    // 256 bytes (128 two-byte characters) is the longest id.
    let longest = "é".repeat(128);
    let long = patch(json!({"subject_id": longest})).await;
    assert_eq!(long.status, StatusCode::OK, "{}", long.text);
    assert_eq!(long.body["subject_id"], longest.as_str());
    let back = patch(json!({"subject_id": "cust-43"})).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);

    let too_long = "é".repeat(129);
    for bad in [
        json!(""),
        json!("x".repeat(257)),
        json!(too_long),
        json!("cust\u{7}42"),
        json!("cust\n42"),
        json!(42),
    ] {
        let refused = app
            .post(
                "/v1/principals",
                json!({"name": "frank", "subject_id": bad.clone()}),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            refused.text
        );
        assert_eq!(refused.body["errors"][0]["field"], "subject_id");
        assert!(!refused.text.contains("xxxxxxxx") && !refused.text.contains("éééé"));
        let changed = patch(json!({"subject_id": bad.clone(), "disabled": true})).await;
        assert_eq!(
            changed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            changed.text
        );
        assert_eq!(changed.body["errors"][0]["field"], "subject_id");
    }
    // Nothing was created or changed.
    let names: Vec<Value> = app.get("/v1/principals?limit=1000").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert!(!names.contains(&json!("frank")), "{names:?}");
    let unchanged = app.get(&format!("/v1/principals/{id}")).await;
    assert_eq!(unchanged.body["subject_id"], "cust-43");
    assert_eq!(unchanged.body["disabled"], false);

    let cleared = patch(json!({"subject_id": null})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    assert_eq!(cleared.body["subject_id"], Value::Null);
    assert_eq!(
        app.get(&format!("/v1/principals/{id}")).await.body["subject_id"],
        Value::Null
    );
    let stored = app
        .state
        .store()
        .principal(uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.principal.subject_id, None);

    // The entries: linked at creation (cust-42); relinked, then unlinked (cust-43).
    let first = subject_entries(&app, "cust-42").await;
    let actions: Vec<(&str, &str)> = first
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["details"]["subject_link"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("principals.create", "linked")]);
    let second = subject_entries(&app, "cust-43").await;
    let actions: Vec<(&str, &str)> = second
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["details"]["subject_link"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("principals.update", "relinked"),
            ("principals.update", "relinked"),
            ("principals.update", "unlinked"),
        ]
    );
    for entry in first.iter().chain(&second) {
        assert_eq!(entry["resource"]["id"], id.as_str());
        assert!(!entry["details"].to_string().contains("cust-4"), "{entry}");
    }
}
