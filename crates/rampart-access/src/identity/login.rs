//! Login: rate limits stay at the edge; here, the lockout reservation, equal-time failures,
//! the second factor and the rehash.
//!
//! Attempts are counted by the name as sent (never by principal, so unknown names count, lock
//! and answer alike) and reserved before any verification, so concurrent guesses never verify
//! more passwords than the limits allow. An unknown or disabled name, or a locked attempt,
//! spends the same time on a dummy verification.

use std::future::Future;

use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::password::Verified;
use crate::store::{LoginLimits, LoginSettle, PrincipalRecord, SealedBytes};
use crate::totp::{Totp, TotpSecret};
use crate::{IdentityStore, Policy};

use super::IdentityError;

/// Verifies and hashes passwords (argon2id on a bounded pool of blocking threads, in the
/// server). Both take the same time whatever the outcome.
pub trait PasswordVerifier: Send + Sync {
    /// Verifies `password` against `stored`; without a stored hash, runs a dummy verification
    /// that takes as long and answers `None`.
    fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> impl Future<Output = Result<Option<Verified>, IdentityError>> + Send;

    /// A new hash of `password` (a rehash after a login with outdated parameters): `None` when
    /// hashing failed, an error when it could not run.
    fn hash(
        &self,
        password: SecretString,
    ) -> impl Future<Output = Result<Option<String>, IdentityError>> + Send;
}

/// Opens TOTP secrets sealed by the deployment's key-encryption key.
pub trait TotpOpener: Send + Sync {
    /// The secret of `principal` sealed in `sealed`.
    fn open(&self, principal: Uuid, sealed: &SealedBytes) -> Result<TotpSecret, IdentityError>;
}

/// A login attempt: what the caller sent and where from.
pub struct LoginAttempt {
    /// The name as sent.
    pub name: String,
    /// The password.
    pub password: SecretString,
    /// The TOTP code, if sent.
    pub totp: Option<String>,
    /// The throttle source: the client address (IPv6 by /64), or `-`.
    pub source: String,
}

/// Why a login was refused. `Failed` and `Locked` answer alike for every name.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The name or the password (or the code) is wrong, or the principal is disabled.
    #[error("the name or the password is wrong")]
    Failed,
    /// Too many failures for this name (from this address, or from all).
    #[error("too many failed logins for this name")]
    Locked,
    /// This failure reached a limit and locked the name: answered as [`LoginError::Locked`]
    /// is, told apart only so the lock can be counted.
    #[error("too many failed logins for this name")]
    LockedNow,
    /// A right password, but a second factor is needed: `enrolled` tells whether it is one the
    /// principal has (send the code) or one a role requires and that is not enrolled yet.
    #[error("a second factor is required")]
    SecondFactorRequired {
        /// Whether TOTP is enrolled.
        enrolled: bool,
    },
    /// Verification or storage failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// A login that succeeded.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The principal with its login state.
    pub record: PrincipalRecord,
    /// A second factor was needed (enrolled, or required by a role).
    pub mfa: bool,
    /// A role requires a second factor that is not enrolled: the session may only enrol it.
    pub enrollment_only: bool,
    /// The password hash was renewed with the current parameters.
    pub rehashed: bool,
}

/// Login over an [`IdentityStore`].
pub struct Logins<'a, S, V, T> {
    /// The storage.
    pub store: &'a S,
    /// Password verification.
    pub passwords: &'a V,
    /// TOTP secrets.
    pub totp: &'a T,
    /// The role policy in force (roles may require a second factor).
    pub policy: &'a Policy,
    /// The limits attempts count against.
    pub limits: LoginLimits,
}

impl<S: IdentityStore, V: PasswordVerifier, T: TotpOpener> Logins<'_, S, V, T> {
    /// Runs a login attempt begun at `now`; `clock` gives the time of the verdict (a lock lasts
    /// from then, however long verification took). `on_principal` learns the principal's id as
    /// soon as the name is found (for the audit entry of a refusal too).
    pub async fn login(
        &self,
        attempt: LoginAttempt,
        now: OffsetDateTime,
        clock: impl Fn() -> OffsetDateTime + Send + Sync,
        on_principal: impl FnOnce(Uuid) + Send,
    ) -> Result<LoggedIn, LoginError> {
        let LoginAttempt {
            name,
            password,
            totp,
            source,
        } = attempt;
        let reservation = self
            .store
            .reserve_login_attempt(&name, &source, &self.limits, now)
            .await
            .map_err(IdentityError::store)?;
        let settle = |outcome: LoginSettle| {
            let (name, source, limits) = (&name, &source, &self.limits);
            let at = clock();
            async move {
                self.store
                    .settle_login_attempt(name, source, outcome, limits, at)
                    .await
                    .map_err(IdentityError::store)
            }
        };
        let record = self
            .store
            .principal_by_name(&name)
            .await
            .map_err(IdentityError::store)?;
        if let Some(record) = &record {
            on_principal(record.principal.id);
        }
        // A locked attempt verifies nothing, but spends the same time on a dummy verification.
        let stored = record
            .as_ref()
            .filter(|r| reservation.granted() && !r.principal.disabled)
            .and_then(|r| r.password_hash.clone());
        let verified = self.passwords.verify(password.clone(), stored).await?;
        if !reservation.granted() {
            // Refused attempts count against neither row: give back what the other row counted.
            settle(LoginSettle::Release {
                source: !reservation.source_locked,
                account: !reservation.account_locked,
            })
            .await?;
            return Err(LoginError::Locked);
        }
        let fail = || async {
            if settle(LoginSettle::Failed).await? {
                Err(LoginError::LockedNow)
            } else {
                Err(LoginError::Failed)
            }
        };
        let (Some(record), Some(verified)) = (record, verified) else {
            // An unknown or disabled name: the same writes a wrong password costs.
            return fail().await;
        };
        if !verified.ok {
            return fail().await;
        }
        // The password is right: a second factor when enrolled or required by a role.
        let mfa = record.totp_enabled || self.policy.mfa_required(&record.principal.roles);
        // A role requires a second factor that is not enrolled yet: the right password earns a
        // session that can only enrol it (nobody else may enrol it for this principal).
        let enrollment_only = mfa && !record.totp_enabled;
        if mfa && !enrollment_only {
            let secret = match (&totp, &record.totp_sealed) {
                (Some(_), Some(sealed)) => Some(self.totp.open(record.principal.id, sealed)?),
                _ => None,
            };
            // Without a code, the principal is asked for it; with one but no secret in force,
            // to enrol first.
            let enrolled = totp.is_none() && record.totp_enabled;
            let (Some(code), Some(secret)) = (totp, secret) else {
                // No verdict yet: the attempt is not counted, and clears nothing.
                settle(LoginSettle::Release {
                    source: true,
                    account: true,
                })
                .await?;
                return Err(LoginError::SecondFactorRequired { enrolled });
            };
            let unix = u64::try_from(now.unix_timestamp()).unwrap_or(0);
            let step = Totp::DEFAULT.verify(&secret, &code, unix, 1, record.totp_last_step);
            let claimed = match step {
                Some(step) => self
                    .store
                    .claim_totp_step(record.principal.id, step)
                    .await
                    .map_err(IdentityError::store)?,
                None => false,
            };
            if !claimed {
                return fail().await;
            }
        }
        settle(LoginSettle::Succeeded).await?;
        let mut rehashed = false;
        if verified.needs_rehash
            && let Some(hash) = self.passwords.hash(password).await?
        {
            self.store
                .set_password_hash(record.principal.id, &hash)
                .await
                .map_err(IdentityError::store)?;
            rehashed = true;
        }
        Ok(LoggedIn {
            record,
            mfa,
            enrollment_only,
            rehashed,
        })
    }
}
