//! The role policy: roles with inherited permissions, compiled once so that a decision is a few
//! set lookups.
//!
//! Permissions are `resource:action`; `*` matches everything and `resource:*` every action on a
//! resource. This module holds API.md's default policy; loading other policies (YAML, `PUT
//! /v1/policy`) and team isolation come with the identity and access issue.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One role as written in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Roles whose permissions this role also has.
    pub inherits: Vec<String>,
    /// Permissions granted directly.
    pub permissions: Vec<String>,
    /// Members reach resources of every team.
    pub bypass_team_isolation: bool,
    /// Members must use a second factor at login.
    pub mfa_required: bool,
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
}

#[derive(Debug, Clone, Default)]
struct Compiled {
    all: bool,
    resources: BTreeSet<String>,
    exact: BTreeSet<String>,
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
}

fn valid_permission(permission: &str) -> bool {
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
    pub fn compile(roles: &BTreeMap<String, Role>) -> Result<Self, PolicyError> {
        for (name, role) in roles {
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
        Ok(Self { roles: compiled })
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
                ],
                true,
                false,
            ),
        );
        // The default policy is a constant of this crate; its tests prove it compiles.
        Self::compile(&roles).unwrap_or(Self {
            roles: HashMap::new(),
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
mod tests {
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
}
