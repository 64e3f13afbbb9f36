//! What the identity service reads and the atomic operations it needs from storage: the
//! [`IdentityStore`] trait (implemented by `rampart-store` on both backends) and its records.
//!
//! Writes made on a request's behalf are not here: they are [`crate::IdentityChange`]s,
//! committed with their audit entry through a `Journal`.

use std::future::Future;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{ApiKeyRecord, Principal};

/// A secret sealed by the deployment's key-encryption key (a TOTP secret): opaque bytes that
/// only the sealer opens. Its `Debug` never prints the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBytes(Vec<u8>);

impl SealedBytes {
    /// Wraps sealed bytes as stored.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The sealed bytes, as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SealedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedBytes({} bytes)", self.0.len())
    }
}

/// A principal with its login state.
#[derive(Debug, Clone)]
pub struct PrincipalRecord {
    /// The principal.
    pub principal: Principal,
    /// Argon2id PHC string, if the principal has a password.
    pub password_hash: Option<String>,
    /// The TOTP secret in force, sealed.
    pub totp_sealed: Option<SealedBytes>,
    /// A TOTP secret being enrolled, sealed; it replaces the one in force once confirmed.
    pub totp_pending: Option<SealedBytes>,
    /// Whether TOTP is confirmed and required at login.
    pub totp_enabled: bool,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<u64>,
    /// The latest end of a login lock of this name, account-wide or for one address (it may
    /// have passed already).
    pub locked_until: Option<OffsetDateTime>,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (the token's `jti`).
    pub id: Uuid,
    /// Whose session.
    pub principal_id: Uuid,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// Last activity (updated at most once a minute).
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// When it was revoked (logout, principal disabled).
    pub revoked_at: Option<OffsetDateTime>,
    /// It may only enrol its principal's own second factor (see `POST /v1/auth/login`).
    pub enrollment_only: bool,
    /// Its login passed the second factor (a TOTP code was checked).
    pub second_factor: bool,
}

/// A change to a principal; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalUpdate {
    /// New roles.
    pub roles: Option<Vec<String>>,
    /// New teams.
    pub teams: Option<Vec<String>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// New email (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// New data-subject link (`Some(None)` removes it).
    pub subject_id: Option<Option<String>>,
    /// New owner (`Some(None)` removes it).
    pub owner_id: Option<Option<Uuid>>,
}

/// The limits a login attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per name from one source address (`max_login_attempts`).
    pub per_source: u64,
    /// Attempts per name from all addresses (`account_lockout_failures`).
    pub per_account: u64,
    /// How long failures count: a row forgets its count after this long without an attempt.
    pub window: Duration,
    /// How long a lock lasts.
    pub lockout: Duration,
}

/// What reserving a login attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginReservation {
    /// The name is locked for this source address (or the address has used up its attempts).
    pub source_locked: bool,
    /// The name is locked for every address.
    pub account_locked: bool,
}

impl LoginReservation {
    /// Whether the attempt may verify a password.
    #[must_use]
    pub fn granted(&self) -> bool {
        !self.source_locked && !self.account_locked
    }
}

/// How a reserved login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSettle {
    /// The password (or second factor) was wrong: the attempt stays counted, and a row that has
    /// reached its limit locks.
    Failed,
    /// The login succeeded: the address's count is cleared and the attempt is not counted
    /// against the account.
    Succeeded,
    /// The attempt is not counted after all (refused without verification, or stopped short of
    /// a verdict): give back the reservation of the rows that counted it.
    Release {
        /// Give back the per-address reservation.
        source: bool,
        /// Give back the account-wide reservation.
        account: bool,
    },
}

/// The `Result` of an [`IdentityStore`] operation.
type Stored<T, E> = Result<T, E>;

/// Storage that the identity service needs, implemented by `rampart-store` for each backend:
/// reads, and the atomic operations that are not audited changes (login throttles, TOTP step
/// claims, session activity, use counts).
pub trait IdentityStore: Send + Sync {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A principal by id.
    fn principal(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Stored<Option<PrincipalRecord>, Self::Error>> + Send;

    /// A principal by name (exactly as stored).
    fn principal_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = Stored<Option<PrincipalRecord>, Self::Error>> + Send;

    /// Principals by id after `after`, at most `limit`.
    fn list_principals(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<PrincipalRecord>, Self::Error>> + Send;

    /// Replaces a principal's password hash (a rehash on login).
    fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Reserves a login attempt for `name` from `source` before the password is verified, in
    /// one atomic operation: the per-address row and the account-wide row each count the
    /// attempt unless already locked or full; a full row locks until `now + limits.lockout`.
    /// Settle every reservation with [`IdentityStore::settle_login_attempt`].
    fn reserve_login_attempt(
        &self,
        name: &str,
        source: &str,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<LoginReservation, Self::Error>> + Send;

    /// Settles a reservation; every outcome costs the same writes. Whether `name` is now
    /// locked for `source` (by either row).
    fn settle_login_attempt(
        &self,
        name: &str,
        source: &str,
        settle: LoginSettle,
        limits: &LoginLimits,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// Deletes throttle rows that hold nothing any more (no attempt for `window`, no lock in
    /// force). How many went.
    fn purge_login_throttles(
        &self,
        window: Duration,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<u64, Self::Error>> + Send;

    /// Records `step` as the last TOTP step used, only if newer than the stored one: `false`
    /// means the code was used already (a replay, possibly on another server).
    fn claim_totp_step(
        &self,
        id: Uuid,
        step: u64,
    ) -> impl Future<Output = Stored<bool, Self::Error>> + Send;

    /// A session and its principal.
    fn session(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Stored<Option<(SessionRecord, Principal)>, Self::Error>> + Send;

    /// Marks a session active at `now`.
    fn touch_session(
        &self,
        id: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// An API key's record and principal by the key's id.
    fn api_key(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Stored<Option<(ApiKeyRecord, Principal)>, Self::Error>> + Send;

    /// API keys by id after `after` (of one principal when given), at most `limit`.
    fn list_api_keys(
        &self,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<ApiKeyRecord>, Self::Error>> + Send;

    /// Adds counted uses: `(key id, uses, last use)`.
    fn add_api_key_usage(
        &self,
        uses: &[(Uuid, u64, OffsetDateTime)],
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// The role policy set through the API (JSON text) and its version.
    fn stored_policy(
        &self,
    ) -> impl Future<Output = Stored<Option<(String, u64)>, Self::Error>> + Send;
}
