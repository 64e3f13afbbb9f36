//! The role policy: roles with inherited permissions, compiled once so that a decision is a few
//! hash lookups, and the decisions themselves, with team isolation.
//!
//! Permissions are `resource:action`; `*` matches everything and `resource:*` every action on a
//! resource. A policy is written as YAML (the `policy_file` setting) or JSON (`PUT /v1/policy`)
//! in one shape: `roles: {name: {inherits, permissions, bypass_team_isolation, mfa_required}}`.
//! A role has everything its parents have, flags included: a role that inherits `admin` also
//! bypasses team isolation and also needs a second factor.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// One role as written in a policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Roles whose permissions this role also has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
    /// Permissions granted directly.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Members reach resources of every team.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bypass_team_isolation: bool,
    /// Members must use a second factor at login.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_required: bool,
}

/// A policy as written: `{"roles": {...}}` (YAML or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The roles by name.
    pub roles: BTreeMap<String, Role>,
}

/// Why a policy does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A role inherits from a role that does not exist.
    #[error("role '{role}' inherits from unknown role '{parent}'")]
    UnknownParent {
        /// The role.
        role: String,
        /// The missing parent.
        parent: String,
    },
    /// Inheritance loops.
    #[error("role inheritance has a cycle: {}", cycle.join(" -> "))]
    Cycle {
        /// The roles in the loop, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// A permission is not `resource:action`, `resource:*` or `*`.
    #[error("role '{role}' has an invalid permission '{permission}'")]
    BadPermission {
        /// The role.
        role: String,
        /// The permission.
        permission: String,
    },
    /// A role name is empty, too long, or has characters other than `A-Za-z0-9_.-`.
    #[error("invalid role name '{0}' (1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-')")]
    BadRoleName(String),
    /// The document does not parse.
    #[error("the policy does not parse: {0}")]
    Parse(String),
    /// The policy has no roles.
    #[error("the policy defines no roles")]
    Empty,
    /// A list is beyond its bound (roles per policy, permissions or parents per role).
    #[error("{what}: at most {max}")]
    TooMany {
        /// Which list (`roles`, `roles.<name>.permissions`, `roles.<name>.inherits`).
        what: String,
        /// Its bound.
        max: usize,
    },
}

/// Most roles a policy may define.
pub const MAX_ROLES: usize = 200;
/// Most permissions (and most parents) one role may list.
pub const MAX_ROLE_ENTRIES: usize = 200;

/// Drops repeated items, keeping the first of each.
fn dedup(items: &mut Vec<String>) {
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

#[derive(Debug, Clone, Default)]
struct Compiled {
    all: bool,
    resources: HashSet<String>,
    exact: HashSet<String>,
    bypass_team_isolation: bool,
    mfa_required: bool,
}

impl Compiled {
    fn add(&mut self, permission: &str) {
        if permission == "*" {
            self.all = true;
        } else if let Some(resource) = permission.strip_suffix(":*") {
            self.resources.insert(resource.to_owned());
        } else {
            self.exact.insert(permission.to_owned());
        }
    }

    fn grants(&self, permission: &str) -> bool {
        self.all
            || self.exact.contains(permission)
            || permission
                .split_once(':')
                .is_some_and(|(resource, _)| self.resources.contains(resource))
    }
}

/// A compiled role policy.
#[derive(Debug, Clone)]
pub struct Policy {
    roles: HashMap<String, Compiled>,
    document: PolicyDocument,
}

/// The outcome of an authorization question, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why, in words.
    pub reason: String,
    /// The role that granted the permission (also set when team isolation then denied it).
    pub matched_role: Option<String>,
}

/// Who asks, for a decision.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The principal's roles.
    pub roles: &'a [String],
    /// The principal's teams.
    pub teams: &'a [String],
    /// Whether the principal is disabled.
    pub disabled: bool,
}

fn valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Whether `permission` is `resource:action`, `resource:*` or `*`, of at most
/// [`MAX_PERMISSION_LEN`] bytes.
pub fn is_valid_permission(permission: &str) -> bool {
    valid_permission(permission)
}

/// Longest permission accepted (`resource:action`).
pub const MAX_PERMISSION_LEN: usize = 128;

fn valid_permission(permission: &str) -> bool {
    if permission.len() > MAX_PERMISSION_LEN {
        return false;
    }
    let part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    permission == "*"
        || permission
            .split_once(':')
            .is_some_and(|(r, a)| part(r) && (a == "*" || part(a)))
}

impl Policy {
    /// Compiles roles: flattens inheritance, refusing unknown parents and cycles.
    /// Lists are bounded ([`MAX_ROLES`], [`MAX_ROLE_ENTRIES`]) and de-duplicated.
    pub fn compile(roles: &BTreeMap<String, Role>) -> Result<Self, PolicyError> {
        if roles.is_empty() {
            return Err(PolicyError::Empty);
        }
        if roles.len() > MAX_ROLES {
            return Err(PolicyError::TooMany {
                what: "roles".to_owned(),
                max: MAX_ROLES,
            });
        }
        let mut roles = roles.clone();
        for (name, role) in &mut roles {
            for (what, list) in [
                ("permissions", &mut role.permissions),
                ("inherits", &mut role.inherits),
            ] {
                if list.len() > MAX_ROLE_ENTRIES {
                    return Err(PolicyError::TooMany {
                        what: format!("roles.{name}.{what}"),
                        max: MAX_ROLE_ENTRIES,
                    });
                }
                dedup(list);
            }
        }
        let roles = &roles;
        for (name, role) in roles {
            if !valid_role_name(name) {
                return Err(PolicyError::BadRoleName(name.clone()));
            }
            for permission in &role.permissions {
                if !valid_permission(permission) {
                    return Err(PolicyError::BadPermission {
                        role: name.clone(),
                        permission: permission.clone(),
                    });
                }
            }
            for parent in &role.inherits {
                if !roles.contains_key(parent) {
                    return Err(PolicyError::UnknownParent {
                        role: name.clone(),
                        parent: parent.clone(),
                    });
                }
            }
        }
        let mut compiled = HashMap::new();
        for name in roles.keys() {
            let mut set = Compiled::default();
            let mut path = vec![name.clone()];
            collect(roles, name, &mut set, &mut path)?;
            compiled.insert(name.clone(), set);
        }
        Ok(Self {
            roles: compiled,
            document: PolicyDocument {
                roles: roles.clone(),
            },
        })
    }

    /// Parses and compiles a YAML policy (`roles:` at the top).
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        let document: PolicyDocument =
            serde_yaml_ng::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        Self::compile(&document.roles)
    }

    /// Parses and compiles a JSON policy (`{"roles": {...}}`).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, PolicyError> {
        let document =
            PolicyDocument::deserialize(value).map_err(|e| PolicyError::Parse(e.to_string()))?;
        Self::compile(&document.roles)
    }

    /// The policy as written (for `GET /v1/policy` and storage).
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// Whether some role of `roles` requires a second factor.
    pub fn mfa_required(&self, roles: &[String]) -> bool {
        roles
            .iter()
            .any(|r| self.roles.get(r.as_str()).is_some_and(|c| c.mfa_required))
    }

    /// Whether some role of `roles` bypasses team isolation.
    pub fn bypasses_team_isolation(&self, roles: &[String]) -> bool {
        roles.iter().any(|r| {
            self.roles
                .get(r.as_str())
                .is_some_and(|c| c.bypass_team_isolation)
        })
    }

    /// Whether `role` exists in this policy.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains_key(role)
    }

    /// Whether a holder gives at least what `role` gives: `holds` answers for each permission
    /// of `role` (inherited ones included; a wildcard as itself, e.g. `keys:*` or `*`) whether
    /// the holder has it (its roles and, for a scoped credential, its scopes), and
    /// `holder_bypasses` says whether it bypasses team isolation, which a role that does must
    /// be matched in. A caller lacking some role of a principal must not disable, demote or
    /// strip the factor of that principal. An unknown role is covered only by `*`.
    pub fn covers(&self, role: &str, holds: impl Fn(&str) -> bool, holder_bypasses: bool) -> bool {
        let Some(compiled) = self.roles.get(role) else {
            return holds("*");
        };
        if compiled.bypass_team_isolation && !holder_bypasses {
            return false;
        }
        if compiled.all {
            return holds("*");
        }
        compiled
            .resources
            .iter()
            .map(|resource| format!("{resource}:*"))
            .chain(compiled.exact.iter().cloned())
            .all(|permission| holds(&permission))
    }

    /// Decides whether `subject` may do `permission` on a resource of `resource_team` (if the
    /// resource belongs to a team). Allowed only when some role of the subject grants the
    /// permission and, for a team's resource, the subject is in the team or holds a role that
    /// bypasses team isolation.
    pub fn decide(
        &self,
        subject: Subject<'_>,
        permission: &str,
        resource_team: Option<&str>,
    ) -> Decision {
        let deny = |reason: String, matched_role: Option<&str>| Decision {
            allowed: false,
            reason,
            matched_role: matched_role.map(str::to_owned),
        };
        if subject.disabled {
            return deny("the principal is disabled".to_owned(), None);
        }
        if !valid_permission(permission) || permission.contains('*') {
            return deny(
                format!("'{permission}' is not an action of the form resource:action"),
                None,
            );
        }
        let Some(role) = self.grants(subject.roles, permission) else {
            return deny(
                format!("no role of the principal grants '{permission}'"),
                None,
            );
        };
        match resource_team {
            None => Decision {
                allowed: true,
                reason: format!("role '{role}' grants '{permission}'"),
                matched_role: Some(role.to_owned()),
            },
            Some(team) if subject.teams.iter().any(|t| t == team) => Decision {
                allowed: true,
                reason: format!(
                    "role '{role}' grants '{permission}' and the principal is a member of team '{team}'"
                ),
                matched_role: Some(role.to_owned()),
            },
            Some(team) => match subject.roles.iter().find(|r| {
                self.roles
                    .get(r.as_str())
                    .is_some_and(|c| c.bypass_team_isolation)
            }) {
                Some(bypass) => Decision {
                    allowed: true,
                    reason: format!(
                        "role '{role}' grants '{permission}'; role '{bypass}' bypasses team isolation for team '{team}'"
                    ),
                    matched_role: Some(role.to_owned()),
                },
                None => deny(
                    format!(
                        "role '{role}' grants '{permission}', but the resource belongs to team '{team}' and the principal is not a member (team isolation)"
                    ),
                    Some(role),
                ),
            },
        }
    }

    /// The default policy of API.md.
    pub fn default_policy() -> Self {
        let role = |inherits: &[&str], permissions: &[&str], bypass: bool, mfa: bool| Role {
            inherits: inherits.iter().map(|s| (*s).to_owned()).collect(),
            permissions: permissions.iter().map(|s| (*s).to_owned()).collect(),
            bypass_team_isolation: bypass,
            mfa_required: mfa,
        };
        let mut roles = BTreeMap::new();
        roles.insert(
            "viewer".to_owned(),
            role(
                &[],
                &[
                    "audit:read",
                    "keys:read",
                    "events:read",
                    "traces:read",
                    "metrics:read",
                    "dashboards:read",
                    "anomalies:read",
                    "investigations:read",
                ],
                false,
                false,
            ),
        );
        roles.insert(
            "developer".to_owned(),
            role(
                &["viewer"],
                &[
                    "dashboards:write",
                    "queries:execute",
                    "investigations:create",
                    "feedback:submit",
                    "keys:encrypt",
                    "authz:check",
                    "privacy:redact",
                ],
                false,
                false,
            ),
        );
        roles.insert(
            "operator".to_owned(),
            role(
                &["developer"],
                &[
                    "actions:approve",
                    "actions:reject",
                    "runbooks:execute",
                    "alerts:acknowledge",
                    "audit:write",
                    "cards:tokenize",
                ],
                false,
                false,
            ),
        );
        roles.insert("admin".to_owned(), role(&["operator"], &["*"], true, true));
        roles.insert(
            "security_auditor".to_owned(),
            role(
                &[],
                &[
                    "audit:read",
                    "audit:export",
                    "access_logs:read",
                    "security_events:read",
                    // API.md "Contract additions": the auditor reads what monitoring,
                    // compliance and data-subject requests produce.
                    "security:read",
                    "incidents:read",
                    "compliance:read",
                    "gdpr:read",
                ],
                true,
                false,
            ),
        );
        // The default policy is a constant of this crate; its tests prove it compiles.
        Self::compile(&roles).unwrap_or(Self {
            roles: HashMap::new(),
            document: PolicyDocument::default(),
        })
    }

    /// The first of `roles` that grants `permission`, if any.
    pub fn grants<'r>(&self, roles: &'r [String], permission: &str) -> Option<&'r str> {
        roles
            .iter()
            .find(|role| {
                self.roles
                    .get(role.as_str())
                    .is_some_and(|c| c.grants(permission))
            })
            .map(String::as_str)
    }
}

fn collect(
    roles: &BTreeMap<String, Role>,
    name: &str,
    set: &mut Compiled,
    path: &mut Vec<String>,
) -> Result<(), PolicyError> {
    let Some(role) = roles.get(name) else {
        return Ok(());
    };
    for permission in &role.permissions {
        set.add(permission);
    }
    set.bypass_team_isolation |= role.bypass_team_isolation;
    set.mfa_required |= role.mfa_required;
    for parent in &role.inherits {
        if path.contains(parent) {
            let mut cycle: Vec<String> =
                path.iter().skip_while(|r| *r != parent).cloned().collect();
            cycle.push(parent.clone());
            return Err(PolicyError::Cycle { cycle });
        }
        path.push(parent.clone());
        collect(roles, parent, set, path)?;
        path.pop();
    }
    Ok(())
}

/// Whether a key's scopes allow `permission` (`None`: the key is not narrowed).
pub fn scopes_allow(scopes: Option<&[String]>, permission: &str) -> bool {
    let Some(scopes) = scopes else { return true };
    let mut compiled = Compiled::default();
    for scope in scopes {
        compiled.add(scope);
    }
    compiled.grants(permission)
}

#[cfg(test)]
mod tests;
