//! Authentication: second factors, passwords and their hashing, login lockout, sessions.

use super::{Verdict, clauses, counted, duration, fail, judge, names, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// Every administrator has a confirmed second factor.
pub(crate) fn admins_have_mfa(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::ADMINS, catalog::ADMINS_WITHOUT_MFA],
        |read| {
            let admins = read.names(catalog::ADMINS)?;
            let without = read.names(catalog::ADMINS_WITHOUT_MFA)?;
            if !without.is_empty() {
                return fail(format!(
                    "{} no second factor: {}",
                    counted(without.len(), "administrator has", "administrators have"),
                    names(&without)
                ));
            }
            if admins.is_empty() {
                return pass("no enabled principal is an administrator");
            }
            pass(format!(
                "every administrator ({}) has a confirmed second factor",
                names(&admins)
            ))
        },
    )
}

/// Every enabled principal that signs in with a password has a confirmed second factor.
pub(crate) fn users_have_mfa(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::PRINCIPALS_ENABLED, catalog::USERS_WITHOUT_MFA],
        |read| {
            let enabled = read.count(catalog::PRINCIPALS_ENABLED)?;
            let without = read.names(catalog::USERS_WITHOUT_MFA)?;
            if without.is_empty() {
                pass(format!(
                    "every password user among the {} has a confirmed second factor",
                    counted(enabled, "enabled principal", "enabled principals")
                ))
            } else {
                fail(format!(
                    "{} no second factor: {}",
                    counted(without.len(), "password user has", "password users have"),
                    names(&without)
                ))
            }
        },
    )
}

/// The role policy requires MFA for some role, the `admin` role among them when it has one.
pub(crate) fn mfa_required_by_policy(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[catalog::MFA_REQUIRED_ROLES, catalog::ROLE_POLICY],
        |read| {
            let required = read.names(catalog::MFA_REQUIRED_ROLES)?;
            let roles = super::credentials::role_names(read)?;
            if required.is_empty() {
                return fail(
                    "no role of the policy requires MFA, so an administrator without a second \
                     factor signs in with a password alone",
                );
            }
            if roles.contains(&"admin") && !required.contains(&"admin") {
                return fail(format!(
                    "the admin role does not require MFA (only {} does)",
                    names(&required)
                ));
            }
            pass(format!(
                "the role policy requires MFA for {}",
                names(&required)
            ))
        },
    )
}

/// Reads the password policy: `(min_length, require_upper, require_lower, require_digit)`.
fn password_rules(read: &super::Read<'_>) -> Result<(u64, bool, bool, bool), Judgment> {
    let policy = read.object(catalog::PASSWORD_POLICY)?;
    Ok((
        policy.u64("min_length")?,
        policy.bool("require_upper")?,
        policy.bool("require_lower")?,
        policy.bool("require_digit")?,
    ))
}

/// Passwords have at least 12 characters.
pub(crate) fn password_length_12(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::PASSWORD_POLICY], |read| {
        let (min_length, ..) = password_rules(read)?;
        if min_length >= 12 {
            pass(format!("passwords need at least {min_length} characters"))
        } else {
            fail(format!(
                "passwords may be as short as {min_length} characters (fewer than 12)"
            ))
        }
    })
}

/// PCI DSS 8.3.6: at least 12 characters, with both digits and letters.
pub(crate) fn password_pci(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::PASSWORD_POLICY], |read| {
        let (min_length, upper, lower, digit) = password_rules(read)?;
        let mut problems = Vec::new();
        if min_length < 12 {
            problems.push(format!(
                "passwords may be as short as {min_length} characters (fewer than 12)"
            ));
        }
        if !digit {
            problems.push("a password need not contain a digit".to_owned());
        }
        if !upper && !lower {
            problems.push("a password need not contain a letter".to_owned());
        }
        if problems.is_empty() {
            pass(format!(
                "passwords need at least {min_length} characters with a digit and a letter"
            ))
        } else {
            fail(clauses(&problems))
        }
    })
}

/// OWASP's equivalent argon2id minimums: (memory in KiB, iterations), parallelism 1.
const OWASP_ARGON2ID: [(u64, u64); 5] = [
    (47_104, 1),
    (19_456, 2),
    (12_288, 3),
    (9_216, 4),
    (7_168, 5),
];

/// Password hashes are argon2id at or above one of OWASP's minimum configurations.
pub(crate) fn password_hashing_strong(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::PASSWORD_POLICY], |read| {
        let policy = read.object(catalog::PASSWORD_POLICY)?;
        let memory = policy.u64("argon2_memory_kib")?;
        let iterations = policy.u64("argon2_iterations")?;
        let parallelism = policy.u64("argon2_parallelism")?;
        let strong = parallelism >= 1
            && OWASP_ARGON2ID
                .iter()
                .any(|&(m, t)| memory >= m && iterations >= t);
        let setting = format!(
            "argon2id with {memory} KiB, {} and parallelism {parallelism}",
            counted(iterations, "iteration", "iterations")
        );
        if strong {
            pass(format!(
                "passwords are hashed with {setting}, at or above OWASP's minimum"
            ))
        } else {
            fail(format!(
                "passwords are hashed with {setting}, below OWASP's minimum (19456 KiB with 2 \
                 iterations, or an equivalent)"
            ))
        }
    })
}

/// Reads the lockout settings: `(max_login_attempts, account_lockout_failures, lockout_seconds)`.
fn lockout(read: &super::Read<'_>) -> Result<(u64, u64, u64), Judgment> {
    let lockout = read.object(catalog::LOCKOUT)?;
    Ok((
        lockout.u64("max_login_attempts")?,
        lockout.u64("account_lockout_failures")?,
        lockout.u64("lockout_seconds")?,
    ))
}

/// What the lockout does, for a reason.
fn lockout_summary(per_address: u64, account: u64, seconds: u64) -> String {
    format!(
        "an account locks after {account} failed logins from all addresses ({per_address} from \
         one) for {}",
        duration(seconds)
    )
}

/// PCI DSS 8.3.4: the user ID locks after at most 10 failures, for at least 30 minutes. The
/// per-address limit locks one address only, so the account limit is what must be at most 10.
pub(crate) fn lockout_pci(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::LOCKOUT], |read| {
        let (per_address, account, seconds) = lockout(read)?;
        let mut problems = Vec::new();
        if account > 10 {
            problems.push(format!(
                "an account locks only after {account} failed logins (more than 10)"
            ));
        }
        if seconds < 30 * 60 {
            problems.push(format!(
                "a lock lasts {} (less than 30 min)",
                duration(seconds)
            ));
        }
        if problems.is_empty() {
            pass(lockout_summary(per_address, account, seconds))
        } else {
            fail(clauses(&problems))
        }
    })
}

/// NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account.
pub(crate) fn lockout_in_force(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::LOCKOUT], |read| {
        let (per_address, account, seconds) = lockout(read)?;
        if account > 100 {
            fail(format!(
                "an account locks only after {account} failed logins from all addresses (more \
                 than 100)"
            ))
        } else {
            pass(lockout_summary(per_address, account, seconds))
        }
    })
}

/// Reads the session settings: `(ttl, idle)` where `idle` is when a session ends without a
/// request at the latest (its idle timeout, or its lifetime when shorter).
fn sessions(read: &super::Read<'_>) -> Result<(u64, u64), Judgment> {
    let sessions = read.object(catalog::SESSIONS)?;
    let ttl = sessions.u64("session_ttl_seconds")?;
    let idle = sessions.u64("session_idle_seconds")?;
    Ok((ttl, idle.min(ttl)))
}

/// PCI DSS 8.2.8: a session idle for more than 15 minutes needs re-authentication.
pub(crate) fn idle_timeout_15min(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::SESSIONS], |read| {
        let (_, idle) = sessions(read)?;
        idle_verdict(idle, 15 * 60)
    })
}

fn idle_verdict(idle: u64, limit: u64) -> Verdict {
    if idle <= limit {
        pass(format!(
            "a session ends after {} without a request",
            duration(idle)
        ))
    } else {
        fail(format!(
            "a session stays open for {} without a request (more than {})",
            duration(idle),
            duration(limit)
        ))
    }
}

/// NIST SP 800-63B §4.2.3 (AAL2): re-authentication at least every 12 hours and after 30
/// minutes without activity.
pub(crate) fn sessions_aal2(facts: &Facts) -> Judgment {
    judge(facts, &[catalog::SESSIONS], |read| {
        let (ttl, idle) = sessions(read)?;
        if ttl > 12 * 60 * 60 {
            return fail(format!(
                "a session lasts {} before re-authentication (more than 12 h)",
                duration(ttl)
            ));
        }
        if idle > 30 * 60 {
            return idle_verdict(idle, 30 * 60);
        }
        pass(format!(
            "a session lasts at most {} and ends after {} without a request",
            duration(ttl),
            duration(idle)
        ))
    })
}
