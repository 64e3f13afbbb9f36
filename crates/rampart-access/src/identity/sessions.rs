//! Session checks: a verified session token is good only while its server-side session is.

use time::OffsetDateTime;

use crate::session::SessionClaims;
use crate::{Caller, CheckedCredential, CredentialKind, ENROLLMENT_ONLY_SCOPE, IdentityStore};

use super::IdentityError;

/// Sessions are marked active at most this often (not on every request).
const SESSION_TOUCH_SECONDS: i64 = 60;

/// Why a session was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SessionRefused {
    /// Unknown, revoked, expired, idle too long, or its principal is disabled; the reason is
    /// for the log, every caller gets the same answer.
    #[error("{0}")]
    Refused(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// The caller of the session named by `claims` (a token whose signature and expiry were
/// verified) at `now`, if its session is still good: not revoked, not past its absolute
/// expiry, active within `idle_seconds`, its principal enabled. Marks it active at most once
/// a minute. An enrollment session holds no permission: it may only enrol its own second
/// factor.
pub async fn session_caller<S: IdentityStore>(
    store: &S,
    claims: &SessionClaims,
    idle_seconds: u64,
    now: OffsetDateTime,
) -> Result<Caller, SessionRefused> {
    let (session, principal) = store
        .session(claims.session_id)
        .await
        .map_err(IdentityError::store)?
        .ok_or(SessionRefused::Refused("unknown session"))?;
    if session.principal_id != claims.principal_id {
        return Err(SessionRefused::Refused(
            "session token names another principal",
        ));
    }
    if session.revoked_at.is_some() {
        return Err(SessionRefused::Refused("session revoked"));
    }
    if now >= session.expires_at {
        return Err(SessionRefused::Refused("session expired"));
    }
    let idle = i64::try_from(idle_seconds).unwrap_or(i64::MAX);
    if (now - session.last_seen_at).whole_seconds() >= idle {
        return Err(SessionRefused::Refused("session idle too long"));
    }
    if principal.disabled {
        return Err(SessionRefused::Refused("principal disabled"));
    }
    if (now - session.last_seen_at).whole_seconds() >= SESSION_TOUCH_SECONDS {
        store
            .touch_session(session.id, now)
            .await
            .map_err(IdentityError::store)?;
    }
    Ok(Caller::new(
        principal,
        CheckedCredential {
            id: session.id,
            kind: CredentialKind::Session,
            scopes: session
                .enrollment_only
                .then(|| vec![ENROLLMENT_ONLY_SCOPE.to_owned()]),
            expires_at: Some(session.expires_at),
            allowed_ips: None,
            second_factor: session.second_factor,
        },
    ))
}
