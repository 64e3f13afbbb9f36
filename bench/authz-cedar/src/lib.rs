//! Rampart's role model translated to Cedar, and the grid that proves the two engines agree.
//!
//! The Cedar schema, policies and entities are generated from the same [`PolicyDocument`] that
//! Rampart compiles (the contract's YAML), so the two engines answer questions about one model:
//!
//! * a role is a `Role` entity whose parents are the roles it *inherits from*, so that a user
//!   holding `operator` is `in Role::"developer"` and `in Role::"viewer"` (Cedar's `in` is
//!   transitive);
//! * a role marked `bypass_team_isolation` also has `Capability::"bypass_team_isolation"` as a
//!   parent, so the flag is inherited with the role, as Rampart does;
//! * a user is a `User` entity whose parents are its roles, with `teams: Set<Team>` and
//!   `disabled: Bool`;
//! * a resource is a `Resource` entity with an optional `team: Team`;
//! * a permission `res:act` is `Action::"res:act"`, a member of the action group
//!   `Action::"res:*"`, itself a member of `Action::"*"`;
//! * each (role, permission) pair is one `permit` whose action scope is `action == …` for an exact
//!   permission and `action in …` for `res:*` and `*`.
//!
//! Team isolation is written two ways ([`TeamStyle`]): as a condition on every permit
//! (the model of the brief), or as one `forbid … unless` policy (Cedar's usual idiom). Both are
//! checked against Rampart over the same grid.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use rampart_access::{Policy, PolicyDocument, Subject};

/// The contract's default role model, as YAML (API.md).
pub const CONTRACT_YAML: &str = r#"
roles:
  viewer:           {permissions: [audit:read, keys:read, events:read, traces:read, metrics:read, dashboards:read, anomalies:read, investigations:read]}
  developer:        {inherits: [viewer], permissions: [dashboards:write, queries:execute, investigations:create, feedback:submit, keys:encrypt, authz:check, privacy:redact]}
  operator:         {inherits: [developer], permissions: [actions:approve, actions:reject, runbooks:execute, alerts:acknowledge, audit:write, cards:tokenize]}
  admin:            {inherits: [operator], bypass_team_isolation: true, mfa_required: true, permissions: ["*"]}
  security_auditor: {bypass_team_isolation: true, permissions: [audit:read, audit:export, access_logs:read, security_events:read]}
"#;

/// Actions that no role but `admin` (through `*`) grants, added to the universe so that the grid
/// also asks about permissions the policy never names.
pub const EXTRA_ACTIONS: &[&str] = &[
    "keys:decrypt",
    "keys:rotate",
    "audit:delete",
    "billing:refund",
    "anything:at_all",
];

/// A role that no policy defines, held by some principals of the grid.
pub const UNKNOWN_ROLE: &str = "nobody";

/// The teams of the grid.
pub const TEAMS: &[&str] = &["payments", "search", "billing"];

/// The id of the capability entity that marks roles bypassing team isolation.
pub const BYPASS: &str = "bypass_team_isolation";

/// Where team isolation is written in Cedar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamStyle {
    /// `permit (…) unless { resource has team && !principal.teams.contains(resource.team) &&
    /// !(principal in Capability::"bypass_team_isolation") };` on every permit.
    PermitWhen,
    /// Unconditional permits and one `forbid (…) when { resource has team &&
    /// !principal.teams.contains(resource.team) } unless { principal in Capability::… };`.
    Forbid,
}

impl TeamStyle {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            TeamStyle::PermitWhen => "team check in each permit's condition",
            TeamStyle::Forbid => "team check as one `forbid … unless`",
        }
    }
}

/// The Rampart policy of the contract, checked to be the crate's default policy.
pub fn rampart_policy() -> Policy {
    let parsed = Policy::from_yaml(CONTRACT_YAML).expect("the contract's YAML compiles");
    assert_eq!(
        parsed.document(),
        Policy::default_policy().document(),
        "the contract's YAML is Policy::default_policy()"
    );
    parsed
}

/// Every concrete action the model knows: the exact permissions the policy names, and
/// [`EXTRA_ACTIONS`], sorted.
pub fn action_universe(document: &PolicyDocument) -> Vec<String> {
    let mut actions: BTreeSet<String> = document
        .roles
        .values()
        .flat_map(|r| r.permissions.iter())
        .filter(|p| !p.contains('*'))
        .cloned()
        .collect();
    actions.extend(EXTRA_ACTIONS.iter().map(|s| (*s).to_owned()));
    actions.into_iter().collect()
}

fn resource_of(action: &str) -> &str {
    action.split_once(':').map_or(action, |(r, _)| r)
}

fn quote(s: &str) -> String {
    // Role names and permissions are [A-Za-z0-9_.:*-]: nothing to escape, but stay safe.
    format!("{s:?}")
}

fn uid(type_name: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(type_name).expect("a valid type name"),
        EntityId::new(id),
    )
}

/// Rampart's role model in Cedar: schema, policies and the entities that do not depend on who
/// asks (roles, the capability, teams, resources, actions).
pub struct CedarModel {
    /// How team isolation is written.
    pub style: TeamStyle,
    /// The schema, in Cedar's schema syntax.
    pub schema_text: String,
    /// The policies, in Cedar's syntax.
    pub policies_text: String,
    /// The parsed schema (used to validate the policies and the entities).
    pub schema: Schema,
    /// The parsed policies.
    pub policies: PolicySet,
    /// Roles, capability, teams, resources and action entities.
    pub static_entities: Vec<Entity>,
    /// The concrete actions.
    pub actions: Vec<String>,
}

impl CedarModel {
    /// Translates `document` (with `actions` as the universe of concrete actions).
    pub fn new(document: &PolicyDocument, actions: &[String], style: TeamStyle) -> Self {
        let resources: BTreeSet<&str> = actions
            .iter()
            .map(|a| resource_of(a))
            .chain(
                document
                    .roles
                    .values()
                    .flat_map(|r| r.permissions.iter())
                    .filter_map(|p| p.strip_suffix(":*")),
            )
            .collect();

        // Schema.
        let mut schema_text = String::from(
            "entity Capability;\n\
             entity Team;\n\
             entity Role in [Role, Capability];\n\
             entity User in [Role] { teams: Set<Team>, disabled: Bool };\n\
             entity Resource { team?: Team };\n\
             action \"*\";\n",
        );
        for r in &resources {
            let _ = writeln!(
                schema_text,
                "action {} in [\"*\"];",
                quote(&format!("{r}:*"))
            );
        }
        for a in actions {
            let _ = writeln!(
                schema_text,
                "action {} in [{}] appliesTo {{ principal: User, resource: Resource }};",
                quote(a),
                quote(&format!("{}:*", resource_of(a)))
            );
        }
        let (schema, warnings) =
            Schema::from_cedarschema_str(&schema_text).expect("the generated schema parses");
        let warnings: Vec<String> = warnings.map(|w| w.to_string()).collect();
        assert!(warnings.is_empty(), "schema warnings: {warnings:?}");

        // Policies.
        // `!(resource has team) || principal.teams.contains(resource.team) || …` is the same
        // condition, but Cedar's strict validator does not carry `has` through a negation and
        // refuses the access to the optional `team`; through `&&` it does.
        let team_condition = format!(
            "resource has team && !principal.teams.contains(resource.team) && !(principal in Capability::{})",
            quote(BYPASS)
        );
        let mut policies_text = String::new();
        let _ = writeln!(
            policies_text,
            "@id(\"disabled\")\nforbid (principal, action, resource) when {{ principal.disabled }};\n"
        );
        if style == TeamStyle::Forbid {
            let _ = writeln!(
                policies_text,
                "@id(\"team_isolation\")\nforbid (principal, action, resource)\n  \
                 when {{ resource has team && !principal.teams.contains(resource.team) }}\n  \
                 unless {{ principal in Capability::{} }};\n",
                quote(BYPASS)
            );
        }
        for (name, role) in &document.roles {
            for permission in &role.permissions {
                let scope = if permission.contains('*') {
                    format!("action in Action::{}", quote(permission))
                } else {
                    format!("action == Action::{}", quote(permission))
                };
                let _ = write!(
                    policies_text,
                    "@id({})\npermit (principal in Role::{}, {scope}, resource)",
                    quote(&format!("{name}/{permission}")),
                    quote(name)
                );
                match style {
                    TeamStyle::PermitWhen => {
                        let _ = writeln!(policies_text, "\n  unless {{ {team_condition} }};\n");
                    }
                    TeamStyle::Forbid => {
                        let _ = writeln!(policies_text, ";\n");
                    }
                }
            }
        }
        let policies = PolicySet::from_str(&policies_text).expect("the generated policies parse");
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        let problems: Vec<String> = validation
            .validation_errors()
            .map(|e| e.to_string())
            .chain(validation.validation_warnings().map(|w| w.to_string()))
            .collect();
        assert!(
            problems.is_empty(),
            "the generated policies do not validate against the schema (strict): {problems:#?}\n{policies_text}"
        );

        // Entities that do not depend on who asks.
        let mut static_entities = Vec::new();
        static_entities.push(Entity::new_no_attrs(
            uid("Capability", BYPASS),
            HashSet::new(),
        ));
        for (name, role) in &document.roles {
            let mut parents: HashSet<EntityUid> =
                role.inherits.iter().map(|p| uid("Role", p)).collect();
            if role.bypass_team_isolation {
                parents.insert(uid("Capability", BYPASS));
            }
            static_entities.push(Entity::new_no_attrs(uid("Role", name), parents));
        }
        for team in TEAMS {
            static_entities.push(Entity::new_no_attrs(uid("Team", team), HashSet::new()));
        }
        for resource in resources_of_grid() {
            static_entities.push(resource.entity());
        }
        // Action entities, with their groups as parents. (With a schema, Cedar can add them
        // itself; they are written out so that the entity store is the same with or without.)
        static_entities.push(Entity::new_no_attrs(uid("Action", "*"), HashSet::new()));
        for r in &resources {
            static_entities.push(Entity::new_no_attrs(
                uid("Action", &format!("{r}:*")),
                HashSet::from([uid("Action", "*")]),
            ));
        }
        for a in actions {
            static_entities.push(Entity::new_no_attrs(
                uid("Action", a),
                HashSet::from([uid("Action", &format!("{}:*", resource_of(a)))]),
            ));
        }

        Self {
            style,
            schema_text,
            policies_text,
            schema,
            policies,
            static_entities,
            actions: actions.to_vec(),
        }
    }

    /// The entity store for these principals: the static entities and one `User` per principal.
    /// Users, roles, teams and resources are validated against the schema first.
    pub fn entities(&self, principals: &[Principal]) -> Entities {
        let non_actions: Vec<Entity> = self
            .static_entities
            .iter()
            .filter(|e| e.uid().type_name().to_string() != "Action")
            .cloned()
            .chain(principals.iter().map(Principal::entity))
            .collect();
        // Conformance check only: with a schema Cedar adds the schema's action entities itself.
        Entities::from_entities(non_actions, Some(&self.schema))
            .expect("the entities conform to the schema");
        Entities::from_entities(
            self.static_entities
                .iter()
                .cloned()
                .chain(principals.iter().map(Principal::entity)),
            None,
        )
        .expect("the entities are consistent")
    }
}

/// One principal: roles, teams, and whether it is disabled.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The Cedar entity id.
    pub id: String,
    /// Its roles, in order.
    pub roles: Vec<String>,
    /// Its teams.
    pub teams: Vec<String>,
    /// Disabled principals are always denied.
    pub disabled: bool,
    /// `User::"<id>"`.
    pub uid: EntityUid,
}

impl Principal {
    /// A principal named after what it holds.
    pub fn new(roles: Vec<String>, teams: Vec<String>, disabled: bool) -> Self {
        let id = format!(
            "u[{}][{}]{}",
            roles.join("+"),
            teams.join("+"),
            if disabled { "disabled" } else { "" }
        );
        let uid = uid("User", &id);
        Self {
            id,
            roles,
            teams,
            disabled,
            uid,
        }
    }

    /// The `User` entity.
    pub fn entity(&self) -> Entity {
        let teams = RestrictedExpression::new_set(
            self.teams
                .iter()
                .map(|t| RestrictedExpression::new_entity_uid(uid("Team", t))),
        );
        let attrs = HashMap::from([
            ("teams".to_owned(), teams),
            (
                "disabled".to_owned(),
                RestrictedExpression::new_bool(self.disabled),
            ),
        ]);
        let parents = self.roles.iter().map(|r| uid("Role", r)).collect();
        Entity::new(self.uid.clone(), attrs, parents).expect("a valid user entity")
    }

    /// The Rampart subject.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            roles: &self.roles,
            teams: &self.teams,
            disabled: self.disabled,
        }
    }
}

/// One resource: its team, if it has one.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    /// The Cedar entity id.
    pub id: String,
    /// The owning team.
    pub team: Option<String>,
    /// `Resource::"<id>"`.
    pub uid: EntityUid,
}

impl ResourceSpec {
    fn new(team: Option<&str>) -> Self {
        let id = format!("r[{}]", team.unwrap_or(""));
        let uid = uid("Resource", &id);
        Self {
            id,
            team: team.map(str::to_owned),
            uid,
        }
    }

    /// The `Resource` entity.
    pub fn entity(&self) -> Entity {
        let attrs: HashMap<String, RestrictedExpression> = self
            .team
            .iter()
            .map(|t| {
                (
                    "team".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Team", t)),
                )
            })
            .collect();
        Entity::new(self.uid.clone(), attrs, HashSet::new()).expect("a valid resource entity")
    }
}

/// The resources of the grid: one without a team, and one per team in [`TEAMS`].
pub fn resources_of_grid() -> Vec<ResourceSpec> {
    std::iter::once(None)
        .chain(TEAMS.iter().map(|t| Some(*t)))
        .map(ResourceSpec::new)
        .collect()
}

/// The principals of the grid: every subset of the policy's roles plus [`UNKNOWN_ROLE`], times
/// every team set of size 0, 1 and 2 drawn from the first two teams, times enabled/disabled.
pub fn principals_of_grid(document: &PolicyDocument, with_disabled: bool) -> Vec<Principal> {
    let role_names: Vec<String> = document
        .roles
        .keys()
        .cloned()
        .chain(std::iter::once(UNKNOWN_ROLE.to_owned()))
        .collect();
    let team_sets: Vec<Vec<String>> = vec![
        vec![],
        vec![TEAMS[0].to_owned()],
        vec![TEAMS[1].to_owned()],
        vec![TEAMS[0].to_owned(), TEAMS[1].to_owned()],
    ];
    let mut principals = Vec::new();
    for mask in 0u32..(1 << role_names.len()) {
        let roles: Vec<String> = role_names
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, r)| r.clone())
            .collect();
        for teams in &team_sets {
            for disabled in [false, true] {
                if disabled && !with_disabled {
                    continue;
                }
                principals.push(Principal::new(roles.clone(), teams.clone(), disabled));
            }
        }
    }
    principals
}

/// The result of comparing the engines over the grid.
#[derive(Debug, Default, Clone)]
pub struct Equivalence {
    /// Questions asked of both engines.
    pub checked: usize,
    /// How many Rampart allowed.
    pub allowed: usize,
    /// Questions where the engines disagreed, or Cedar reported an evaluation error (first 20).
    pub mismatches: Vec<String>,
    /// How many mismatches in all.
    pub mismatch_count: usize,
}

/// Asks both engines every (principal × action × resource) question of the grid and compares
/// allow/deny. Cedar evaluation errors count as mismatches.
pub fn check_equivalence(
    policy: &Policy,
    model: &CedarModel,
    entities: &Entities,
    principals: &[Principal],
    resources: &[ResourceSpec],
) -> Equivalence {
    let authorizer = Authorizer::new();
    let mut result = Equivalence::default();
    for p in principals {
        for action in &model.actions {
            for r in resources {
                let rampart = policy.decide(p.subject(), action, r.team.as_deref());
                let request = Request::new(
                    p.uid.clone(),
                    uid("Action", action),
                    r.uid.clone(),
                    Context::empty(),
                    Some(&model.schema),
                )
                .expect("the request conforms to the schema");
                let response = authorizer.is_authorized(&request, &model.policies, entities);
                let cedar = response.decision() == Decision::Allow;
                let errors: Vec<String> = response
                    .diagnostics()
                    .errors()
                    .map(|e| e.to_string())
                    .collect();
                result.checked += 1;
                result.allowed += usize::from(rampart.allowed);
                if cedar != rampart.allowed || !errors.is_empty() {
                    result.mismatch_count += 1;
                    if result.mismatches.len() < 20 {
                        result.mismatches.push(format!(
                            "{} {action} {}: rampart {} ({}), cedar {} {errors:?}",
                            p.id, r.id, rampart.allowed, rampart.reason, cedar
                        ));
                    }
                }
            }
        }
    }
    result
}

/// A (principal, action, resource) question by index.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// Index into the principals.
    pub principal: usize,
    /// Index into the actions.
    pub action: usize,
    /// Index into the resources.
    pub resource: usize,
}

/// `n` questions drawn with a fixed seed (splitmix64), uniformly over principals, actions and
/// resources.
pub fn question_mix(
    n: usize,
    principals: usize,
    actions: usize,
    resources: usize,
) -> Vec<Question> {
    let mut state: u64 = 0x5eed_cafe_f00d_d00d;
    let mut next = move |bound: usize| {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        usize::try_from(z % bound as u64).expect("fits")
    };
    (0..n)
        .map(|_| Question {
            principal: next(principals),
            action: next(actions),
            resource: next(resources),
        })
        .collect()
}
