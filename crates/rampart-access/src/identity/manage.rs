//! Who may manage whom: team isolation and role coverage.

use crate::{Caller, Policy, Principal};

use super::IdentityError;

/// Whether `caller` may act on `target` (change, disable, unlock it, or a key of it). A manager
/// acts on another principal only when that principal is in at least one team and all its teams
/// are among the manager's own (or the manager's roles bypass team isolation; principals in no
/// team belong to those roles alone), and never when that principal holds a role whose
/// permissions the caller does not hold with this credential (its roles and scopes). Otherwise
/// `users:manage` in one team would reach every team, and a narrow manager, or an admin's
/// narrowly scoped key, could disable or strip an admin. Everyone may act on themselves.
pub fn may_manage(
    policy: &Policy,
    caller: &Caller,
    target: &Principal,
) -> Result<(), IdentityError> {
    if target.id == caller.principal().id {
        return Ok(());
    }
    let bypass = policy.bypasses_team_isolation(&caller.principal().roles);
    if !bypass {
        if target.teams.is_empty() {
            return Err(IdentityError::Forbidden(
                "a role that bypasses team isolation (the principal is in no team)".to_owned(),
            ));
        }
        if let Some(team) = target
            .teams
            .iter()
            .find(|t| !caller.principal().teams.contains(t))
        {
            return Err(IdentityError::Forbidden(format!(
                "users:manage over team '{team}' (the principal is in a team this caller is not in)"
            )));
        }
    }
    if let Some(role) = target
        .roles
        .iter()
        .find(|r| !policy.covers(r, |p| caller.holds(policy, p), bypass))
    {
        return Err(IdentityError::Forbidden(format!(
            "the role '{role}' (the principal holds a role this caller lacks)"
        )));
    }
    Ok(())
}
