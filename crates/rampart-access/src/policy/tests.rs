use super::*;

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn default_policy_inherits_and_matches_wildcards() {
    let policy = Policy::default_policy();
    assert_eq!(
        policy.grants(&roles(&["viewer"]), "audit:read"),
        Some("viewer")
    );
    assert_eq!(policy.grants(&roles(&["viewer"]), "audit:write"), None);
    assert_eq!(
        policy.grants(&roles(&["operator"]), "audit:write"),
        Some("operator")
    );
    assert_eq!(
        policy.grants(&roles(&["operator"]), "audit:read"),
        Some("operator")
    );
    assert_eq!(policy.grants(&roles(&["operator"]), "audit:export"), None);
    assert_eq!(
        policy.grants(&roles(&["admin"]), "anything:at_all"),
        Some("admin")
    );
    assert_eq!(
        policy.grants(&roles(&["security_auditor"]), "audit:export"),
        Some("security_auditor")
    );
    assert_eq!(policy.grants(&roles(&["nobody"]), "audit:read"), None);
    assert_eq!(policy.grants(&[], "audit:read"), None);
}

#[test]
fn cycles_unknown_parents_and_bad_permissions_are_refused() {
    let role = |inherits: &[&str], permissions: &[&str]| Role {
        inherits: inherits.iter().map(|s| (*s).to_owned()).collect(),
        permissions: permissions.iter().map(|s| (*s).to_owned()).collect(),
        bypass_team_isolation: false,
        mfa_required: false,
    };
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), role(&["b"], &[]));
    map.insert("b".to_owned(), role(&["a"], &[]));
    assert!(matches!(
        Policy::compile(&map),
        Err(PolicyError::Cycle { .. })
    ));
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), role(&["ghost"], &[]));
    assert!(matches!(
        Policy::compile(&map),
        Err(PolicyError::UnknownParent { .. })
    ));
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), role(&[], &["no colon"]));
    assert!(matches!(
        Policy::compile(&map),
        Err(PolicyError::BadPermission { .. })
    ));
}

#[test]
fn scopes_narrow_keys() {
    let scopes = vec!["audit:write".to_owned(), "keys:*".to_owned()];
    assert!(scopes_allow(Some(&scopes), "audit:write"));
    assert!(scopes_allow(Some(&scopes), "keys:decrypt"));
    assert!(!scopes_allow(Some(&scopes), "audit:read"));
    assert!(scopes_allow(None, "audit:read"));
    assert!(!scopes_allow(Some(&[]), "audit:read"));
}

/// API.md's default policy, as its YAML, with the permissions its "Contract additions"
/// give `security_auditor`.
const API_MD_DEFAULT: &str = r#"
roles:
  viewer:           {permissions: [audit:read, keys:read, events:read, traces:read, metrics:read, dashboards:read, anomalies:read, investigations:read]}
  developer:        {inherits: [viewer], permissions: [dashboards:write, queries:execute, investigations:create, feedback:submit, keys:encrypt, authz:check, privacy:redact]}
  operator:         {inherits: [developer], permissions: [actions:approve, actions:reject, runbooks:execute, alerts:acknowledge, audit:write, cards:tokenize]}
  admin:            {inherits: [operator], bypass_team_isolation: true, mfa_required: true, permissions: ["*"]}
  security_auditor: {bypass_team_isolation: true, permissions: [audit:read, audit:export, access_logs:read, security_events:read, security:read, incidents:read, compliance:read, gdpr:read]}
"#;

#[test]
fn the_yaml_of_api_md_is_the_default_policy() {
    let parsed = Policy::from_yaml(API_MD_DEFAULT).expect("parses");
    assert_eq!(parsed.document(), Policy::default_policy().document());
    let json = serde_json::to_value(parsed.document()).expect("serializes");
    let again = Policy::from_json(&json).expect("round trips");
    assert_eq!(again.document(), parsed.document());
    assert!(parsed.mfa_required(&roles(&["admin"])));
    assert!(!parsed.mfa_required(&roles(&["operator"])));
    assert!(parsed.bypasses_team_isolation(&roles(&["security_auditor"])));
}

#[test]
fn bad_documents_are_refused_with_the_reason() {
    for (text, needle) in [
        ("roles: {a: {inherits: [a]}}", "cycle"),
        ("roles: {a: {permisions: [x:y]}}", "unknown field"),
        ("roles: {}", "no roles"),
        ("rolez: {}", "unknown field"),
        (
            "roles: {'bad name': {permissions: [a:b]}}",
            "invalid role name",
        ),
        (
            "roles: {a: {permissions: ['a:b:c d']}}",
            "invalid permission",
        ),
        ("- just a list", "parse"),
    ] {
        let error = Policy::from_yaml(text).expect_err(text).to_string();
        assert!(error.contains(needle), "{text}: {error}");
    }
}

fn subject<'a>(roles: &'a [String], teams: &'a [String]) -> Subject<'a> {
    Subject {
        roles,
        teams,
        disabled: false,
    }
}

#[test]
fn decisions_explain_themselves_and_keep_teams_apart() {
    let policy = Policy::default_policy();
    let operator = roles(&["operator"]);
    let payments = roles(&["payments"]);
    let allowed = policy.decide(
        subject(&operator, &payments),
        "actions:approve",
        Some("payments"),
    );
    assert!(allowed.allowed);
    assert_eq!(allowed.matched_role.as_deref(), Some("operator"));
    assert!(
        allowed.reason.contains("member of team 'payments'"),
        "{}",
        allowed.reason
    );
    let other = policy.decide(
        subject(&operator, &payments),
        "actions:approve",
        Some("search"),
    );
    assert!(!other.allowed);
    assert!(other.reason.contains("team isolation"), "{}", other.reason);
    let none = policy.decide(subject(&operator, &payments), "audit:export", None);
    assert!(!none.allowed);
    assert_eq!(none.matched_role, None);
    let admin = roles(&["admin"]);
    let bypass = policy.decide(subject(&admin, &[]), "actions:approve", Some("search"));
    assert!(bypass.allowed && bypass.reason.contains("bypasses team isolation"));
    let disabled = policy.decide(
        Subject {
            roles: &admin,
            teams: &[],
            disabled: true,
        },
        "audit:read",
        None,
    );
    assert!(!disabled.allowed);
    assert!(!policy.decide(subject(&admin, &[]), "audit:*", None).allowed);
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    const RESOURCES: [&str; 3] = ["audit", "keys", "cards"];
    const ACTIONS: [&str; 3] = ["read", "write", "manage"];

    fn permission() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => Just("*".to_owned()),
            3 => (0..3usize).prop_map(|r| format!("{}:*", RESOURCES[r])),
            8 => (0..3usize, 0..3usize).prop_map(|(r, a)| format!("{}:{}", RESOURCES[r], ACTIONS[a])),
        ]
    }

    /// Random acyclic policies: role i inherits only from roles with a smaller index.
    fn policy() -> impl Strategy<Value = BTreeMap<String, Role>> {
        prop::collection::vec(
            (
                prop::collection::vec(permission(), 0..4),
                prop::collection::vec(0..6usize, 0..3),
                prop::bool::weighted(0.2),
            ),
            1..6,
        )
        .prop_map(|specs| {
            specs
                .iter()
                .enumerate()
                .map(|(i, (permissions, parents, bypass))| {
                    let inherits = parents
                        .iter()
                        .filter(|p| **p < i)
                        .map(|p| format!("r{p}"))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    (
                        format!("r{i}"),
                        Role {
                            inherits,
                            permissions: permissions.clone(),
                            bypass_team_isolation: *bypass,
                            mfa_required: false,
                        },
                    )
                })
                .collect()
        })
    }

    /// Every permission a role has, by walking the written policy (a naive reference).
    fn reference_grants(roles: &BTreeMap<String, Role>, role: &str, permission: &str) -> bool {
        let Some(r) = roles.get(role) else {
            return false;
        };
        let (resource, _) = permission.split_once(':').unwrap_or((permission, ""));
        r.permissions
            .iter()
            .any(|p| p == "*" || p == permission || *p == format!("{resource}:*"))
            || r.inherits
                .iter()
                .any(|parent| reference_grants(roles, parent, permission))
    }

    fn reference_bypass(roles: &BTreeMap<String, Role>, role: &str) -> bool {
        roles.get(role).is_some_and(|r| {
            r.bypass_team_isolation || r.inherits.iter().any(|p| reference_bypass(roles, p))
        })
    }

    proptest! {
        #[test]
        fn allowed_only_when_a_role_grants_and_teams_hold(
            written in policy(),
            held in prop::collection::vec(0..7usize, 0..3),
            teams in prop::collection::vec(0..3usize, 0..2),
            resource in 0..3usize,
            action in 0..3usize,
            resource_team in prop::option::of(0..3usize),
        ) {
            let compiled = Policy::compile(&written).expect("acyclic policies compile");
            let roles: Vec<String> = held.iter().map(|i| format!("r{i}")).collect();
            let teams: Vec<String> = teams.iter().map(|t| format!("t{t}")).collect();
            let permission = format!("{}:{}", RESOURCES[resource], ACTIONS[action]);
            let team = resource_team.map(|t| format!("t{t}"));
            let decision = compiled.decide(
                Subject { roles: &roles, teams: &teams, disabled: false },
                &permission,
                team.as_deref(),
            );
            let granted = roles.iter().any(|r| reference_grants(&written, r, &permission));
            let in_team = team.as_ref().is_none_or(|t| teams.contains(t));
            let bypass = roles.iter().any(|r| reference_bypass(&written, r));
            prop_assert_eq!(decision.allowed, granted && (in_team || bypass));
            if decision.allowed {
                let matched = decision.matched_role.clone().expect("an allowed decision names its role");
                prop_assert!(roles.contains(&matched));
                prop_assert!(reference_grants(&written, &matched, &permission));
            }
            // Team isolation: without a bypassing role, another team's resource is never allowed.
            if !bypass && !in_team {
                prop_assert!(!decision.allowed);
            }
        }
    }
}
