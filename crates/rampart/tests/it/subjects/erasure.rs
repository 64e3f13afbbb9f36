//! The end-to-end proof on SQLite: 10,000 entries of one subject (and others of
//! another), an export that verifies, an erasure, and then every check of the issue.

use reqwest::Method;
use serde_json::{Value, json};

use super::{append_all, cli_verify, entries_of, event, found_in_files, public_key, rt, start};
use crate::support::{rampart, run, text};

const SUBJECT: &str = "subject-erased-0001";
const OTHER: &str = "subject-kept-0002";

#[test]
fn subjects_erasure_shreds_personal_data_and_keeps_the_log_verifiable() {
    let env = start(&[]);
    // Recognizable bytes that may exist only sealed, and must be unreadable after erasure.
    let canary = format!("CanaryErased{}", std::process::id());
    let kept = format!("CanaryKept{}", std::process::id());
    let source = format!("CanarySource{}", std::process::id());
    rt().block_on(async {
        let mine: Vec<Value> = (0..10_000)
            .map(|n| {
                event(
                    SUBJECT,
                    json!({"email": format!("{canary}-{n}@example.com"), "diagnosis": canary}),
                    n,
                )
            })
            .collect();
        append_all(&env, mine).await;
        let theirs: Vec<Value> = (0..50)
            .map(|n| event(OTHER, json!({"email": format!("{kept}@example.com")}), n))
            .collect();
        append_all(&env, theirs).await;
        for (purpose, given) in [
            ("analytics", true),
            ("marketing", true),
            ("analytics", false),
        ] {
            let answer = env
                .admin(
                    Method::POST,
                    &format!("/v1/subjects/{SUBJECT}/consents"),
                    Some(json!({"purpose": purpose, "given": given,
                        "source": format!("{source}-form"), "policy_version": "2026-05"})),
                )
                .await;
            assert_eq!(answer.status, 201, "{}", answer.body);
        }

        // Stored sealed: the leaf covers the ciphertext; the reader with gdpr:read sees it.
        let before = entries_of(&env, SUBJECT).await;
        let sealed = |entries: &[Value]| {
            entries
                .iter()
                .filter(|e| e.get("personal").is_some())
                .count()
        };
        assert_eq!(sealed(&before), 10_000);
        // The consent changes are the subject's entries too (without personal data).
        assert_eq!(before.len(), 10_003);
        let first = &before[0];
        assert!(
            first["personal"]["sealed"]
                .as_str()
                .unwrap()
                .starts_with("rampart:v1:"),
            "{first}"
        );
        assert!(
            first["personal"]["subject_key"]
                .as_str()
                .unwrap()
                .starts_with("sk_")
        );
        assert_eq!(
            first["personal_plain"]["email"],
            format!("{canary}-0@example.com")
        );
        let in_clear = found_in_files(env.dir.path(), &canary);
        assert!(
            in_clear.is_empty(),
            "personal data stored in clear in {in_clear:?}"
        );

        // The export holds every consent and entry of the subject and nothing of another.
        let key = public_key(&env).await;
        let export = env
            .admin(Method::GET, &format!("/v1/subjects/{SUBJECT}/export"), None)
            .await;
        assert_eq!(export.status, 200, "{}", export.body);
        let exported = export.body["audit_entries"].as_array().unwrap();
        assert_eq!(exported.len(), 10_003);
        assert_eq!(sealed(exported), 10_000);
        assert!(exported.iter().all(|e| e["subject_id"] == SUBJECT));
        assert_eq!(
            export.body["consents"]["history"].as_array().unwrap().len(),
            3
        );
        assert_eq!(
            export.body["consents"]["current"]["analytics"]["given"],
            false
        );
        assert!(!export.body.to_string().contains(&kept));
        assert!(!export.body.to_string().contains(OTHER));
        let (ok, out) = cli_verify("verify-export", &export.body, &key);
        assert!(ok, "{out}");
        let mut tampered = export.body.clone();
        tampered["audit_entries"][3]["personal_plain"]["email"] = json!("someone@else");
        let (ok, out) = cli_verify("verify-export", &tampered, &key);
        assert!(!ok, "a changed export must not verify: {out}");

        // Erasure: Rampart's part at once, the application's store by confirmation.
        let started = std::time::Instant::now();
        let answer = env
            .admin(
                Method::POST,
                &format!("/v1/subjects/{SUBJECT}/erasure"),
                Some(json!({"reason": "Art. 17 request 2026-12-05", "stores": ["scans-db"]})),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(answer.status, 202, "{}", answer.body);
        assert_eq!(answer.body["status"], "pending");
        let id = answer.body["id"].as_str().unwrap().to_owned();
        eprintln!("erasure of 10,000 entries over HTTP: {took:?}");
        let again = env
            .admin(
                Method::POST,
                &format!("/v1/subjects/{SUBJECT}/erasure"),
                Some(json!({"reason": "asked twice", "stores": ["scans-db"]})),
            )
            .await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(
            again.body["id"],
            id.as_str(),
            "a second request answers the first"
        );

        // The log still verifies, online and as an offline export.
        let verify = env.admin(Method::POST, "/v1/audit/verify", None).await;
        assert_eq!(verify.status, 200, "{}", verify.body);
        assert_eq!(verify.body["ok"], true, "{}", verify.body);
        let ndjson = env
            .http
            .get(format!("{}/v1/audit/export", env.base))
            .bearer_auth(&env.admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("audit.ndjson");
        std::fs::write(&file, &ndjson).unwrap();
        let output = run(rampart()
            .args(["audit", "verify"])
            .arg(&file)
            .args(["--public-key", &key]));
        assert!(output.status.success(), "{:?}", text(&output));

        // Every entry of the subject reads [ERASED]; the other subject's still read in clear.
        let after = entries_of(&env, SUBJECT).await;
        assert_eq!(sealed(&after), 10_000);
        assert!(
            after
                .iter()
                .filter(|e| e.get("personal").is_some())
                .all(|e| e["personal_plain"] == "[ERASED]")
        );
        let others = entries_of(&env, OTHER).await;
        assert!(
            others
                .iter()
                .all(|e| e["personal_plain"]["email"] == format!("{kept}@example.com"))
        );
        let consents = env
            .admin(
                Method::GET,
                &format!("/v1/subjects/{SUBJECT}/consents"),
                None,
            )
            .await;
        assert_eq!(
            consents.body["history"].as_array().unwrap().len(),
            0,
            "{}",
            consents.body
        );

        // The certificate: every store named, pending until the application confirms.
        let certificate = env
            .admin(Method::GET, &format!("/v1/erasures/{id}"), None)
            .await;
        assert_eq!(certificate.status, 200, "{}", certificate.body);
        assert_eq!(certificate.body["status"], "pending");
        assert_eq!(
            certificate.body["actions"][0]["store"],
            "rampart.audit.personal"
        );
        // The subject's entries when it was erased: 10,000, 3 consents, the export.
        assert_eq!(certificate.body["actions"][0]["entries"], 10_004);
        assert_eq!(certificate.body["actions"][0]["method"], "key destroyed");
        assert_eq!(certificate.body["actions"][1]["records"], 3);
        assert!(!certificate.body.to_string().contains(SUBJECT));
        let confirm = env
            .admin(
                Method::POST,
                &format!("/v1/erasures/{id}/confirmations"),
                Some(json!({"store": "scans-db", "records_deleted": 12})),
            )
            .await;
        assert_eq!(confirm.status, 201, "{}", confirm.body);
        assert_eq!(confirm.body["status"], "completed");
        assert_eq!(confirm.body["actions"][4]["records_deleted"], 12);
        let (ok, out) = cli_verify("verify-certificate", &confirm.body, &key);
        assert!(ok, "{out}");
        let mut forged = confirm.body.clone();
        forged["actions"][4]["records_deleted"] = json!(13);
        let (ok, _) = cli_verify("verify-certificate", &forged, &key);
        assert!(!ok, "a changed certificate must not verify");

        // No byte of the erased personal data is left anywhere in the data dir.
        for needle in [&canary, &source] {
            let found = found_in_files(env.dir.path(), needle);
            assert!(found.is_empty(), "{needle} found in {found:?}");
        }
        assert!(!env.server.stdout().contains(&canary));
        assert!(!env.server.stderr().contains(&canary));
    });
}
