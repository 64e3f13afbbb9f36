//! Second factors (RFC 6238 TOTP): a principal enrols its own, in a session, and confirms it
//! with a current code. Nobody enrols a factor for someone else (whoever did would hold that
//! principal's second factor), and an API key is no proof of presence.

use uuid::Uuid;

use rampart_audit::{Journal, JournalError};

use crate::store::PrincipalRecord;
use crate::totp::{Totp, TotpSecret};
use crate::{Caller, CredentialKind, IdentityChange, IdentityStore, SealedBytes};

use super::{IdentityError, TotpOpener};

/// Seals a new TOTP secret for storage (the server seals it with the deployment's KEK).
pub trait TotpSealer: Send + Sync {
    /// `secret`, sealed for `principal`.
    fn seal(&self, principal: Uuid, secret: &TotpSecret) -> Result<SealedBytes, IdentityError>;
}

/// TOTP enrolment over an [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct Enrolment<S> {
    store: S,
}

/// Whether `caller` may enrol a second factor for principal `id`: only the principal itself,
/// logged in with a session.
pub fn own_factor(caller: &Caller, id: Uuid) -> Result<(), IdentityError> {
    if caller.principal().id == id && caller.kind() == CredentialKind::Session {
        Ok(())
    } else {
        Err(IdentityError::Forbidden(
            "the principal itself, logged in with a session (nobody enrols a second factor for someone else)"
                .to_owned(),
        ))
    }
}

impl<S: IdentityStore> Enrolment<S> {
    /// The service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    async fn principal(&self, id: Uuid) -> Result<PrincipalRecord, IdentityError> {
        self.store
            .principal(id)
            .await
            .map_err(IdentityError::store)?
            .ok_or(IdentityError::NotFound("no principal with that id"))
    }

    /// Starts enrolment for `caller` itself: a new secret, stored sealed as pending, in effect
    /// after [`Enrolment::confirm`]. Replacing a factor in force takes an administrator's
    /// removal first, not only the password. Returns the secret (shown once) and the principal.
    pub async fn begin(
        &self,
        caller: &Caller,
        id: Uuid,
        sealer: &impl TotpSealer,
        journal: &impl Journal<IdentityChange>,
    ) -> Result<(TotpSecret, PrincipalRecord), IdentityError> {
        own_factor(caller, id)?;
        let record = self.principal(id).await?;
        if record.totp_enabled {
            return Err(IdentityError::Conflict(
                "TOTP is enabled; replacing it takes an administrator's removal first (DELETE /v1/principals/{id}/totp)",
            ));
        }
        let secret = TotpSecret::generate().map_err(IdentityError::store)?;
        let sealed = sealer.seal(id, &secret)?;
        match journal
            .commit(IdentityChange::SetTotpPending { id, sealed })
            .await
        {
            Ok(()) => Ok((secret, record)),
            Err(JournalError::Refused) => Err(IdentityError::NotFound("no principal with that id")),
            Err(e) => Err(e.into()),
        }
    }

    /// Confirms `caller`'s pending enrolment with a current `code` at `now_unix` (seconds): the
    /// factor is in force, and the code's step is never accepted again.
    pub async fn confirm(
        &self,
        caller: &Caller,
        id: Uuid,
        code: &str,
        now_unix: u64,
        opener: &impl TotpOpener,
        journal: &impl Journal<IdentityChange>,
    ) -> Result<(), IdentityError> {
        own_factor(caller, id)?;
        let record = self.principal(id).await?;
        let pending = record.totp_pending.clone().ok_or(IdentityError::Conflict(
            "no TOTP enrollment is pending: POST /v1/principals/{id}/totp first",
        ))?;
        let secret = opener.open(id, &pending)?;
        let invalid = |message: &str| IdentityError::InvalidField {
            field: "code",
            message: message.to_owned(),
        };
        let step = Totp::DEFAULT
            .verify(&secret, code, now_unix, 1, record.totp_last_step)
            .ok_or_else(|| invalid("is not the current code of this secret"))?;
        i64::try_from(step).map_err(|_| invalid("is out of range"))?;
        match journal
            .commit(IdentityChange::ConfirmTotp {
                id,
                checked: pending,
                step,
            })
            .await
        {
            Ok(()) => Ok(()),
            Err(JournalError::Refused) => Err(IdentityError::Conflict(
                "another enrollment replaced this one meanwhile; enroll again",
            )),
            Err(e) => Err(e.into()),
        }
    }
}
