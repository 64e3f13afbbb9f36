//! The startup check of the benchmark, as a test: Rampart and both Cedar encodings of its role
//! model give the same allow/deny on every question of the grid. Run with
//! `cargo test --release` (Cedar is slow unoptimized).

use rampart_access::Policy;
use rampart_authz_cedar_bench::{
    CedarModel, TeamStyle, action_universe, check_equivalence, principals_of_grid, rampart_policy,
    resources_of_grid,
};

fn assert_equivalent(policy: &Policy, min_checks: usize) {
    let document = policy.document().clone();
    let actions = action_universe(&document);
    let resources = resources_of_grid();
    let principals = principals_of_grid(&document, true);
    for style in [TeamStyle::PermitWhen, TeamStyle::Forbid] {
        let model = CedarModel::new(&document, &actions, style);
        let entities = model.entities(&principals);
        let eq = check_equivalence(policy, &model, &entities, &principals, &resources);
        assert_eq!(
            eq.mismatch_count,
            0,
            "{}: {:#?}",
            style.label(),
            eq.mismatches
        );
        assert_eq!(
            eq.checked,
            principals.len() * actions.len() * resources.len()
        );
        assert!(eq.checked >= min_checks, "{} combinations", eq.checked);
        assert!(eq.allowed > 0 && eq.allowed < eq.checked);
    }
}

#[test]
fn cedar_and_rampart_agree_on_the_default_policy() {
    assert_equivalent(&rampart_policy(), 50_000);
}

/// The default policy has no `resource:*` permission and no role inheriting a bypassing role:
/// this one has both, so the translation of `res:*` to an action group and the inheritance of
/// `bypass_team_isolation` through `Capability` are checked too.
#[test]
fn cedar_and_rampart_agree_on_wildcards_and_inherited_bypass() {
    let policy = Policy::from_yaml(
        r#"
roles:
  reader:    {permissions: [audit:read, keys:read]}
  keyops:    {inherits: [reader], permissions: ["keys:*", cards:tokenize]}
  root:      {bypass_team_isolation: true, permissions: ["*"]}
  superuser: {inherits: [root], permissions: []}
  auditor:   {bypass_team_isolation: true, permissions: ["audit:*"]}
  junior:    {inherits: [auditor], permissions: [events:read]}
"#,
    )
    .expect("the test policy compiles");
    assert_equivalent(&policy, 30_000);
}
