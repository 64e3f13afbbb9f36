//! The startup check of the benchmark, as a test: Rampart and both Cedar encodings of its role
//! model give the same allow/deny on every question of the grid.

use rampart_authz_cedar_bench::{
    CedarModel, TeamStyle, action_universe, check_equivalence, principals_of_grid,
    rampart_policy, resources_of_grid,
};

#[test]
fn cedar_and_rampart_agree_on_the_grid() {
    let policy = rampart_policy();
    let document = policy.document().clone();
    let actions = action_universe(&document);
    let resources = resources_of_grid();
    let principals = principals_of_grid(&document, true);
    for style in [TeamStyle::PermitWhen, TeamStyle::Forbid] {
        let model = CedarModel::new(&document, &actions, style);
        let entities = model.entities(&principals);
        let eq = check_equivalence(&policy, &model, &entities, &principals, &resources);
        assert_eq!(eq.mismatch_count, 0, "{}: {:#?}", style.label(), eq.mismatches);
        assert_eq!(eq.checked, principals.len() * actions.len() * resources.len());
        assert!(eq.checked >= 10_000, "{} combinations", eq.checked);
        assert!(eq.allowed > 0 && eq.allowed < eq.checked);
    }
}
