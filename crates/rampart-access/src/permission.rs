//! Permissions as types.
//!
//! A role policy grants permission strings (`resource:action`, `resource:*`, `*`), and
//! applications check their own through `POST /v1/authorize`, so [`Permission`] is any valid
//! permission string. The permissions Rampart itself checks are named once here, each as a
//! constant and as a marker type in [`perm`]: [`Caller::require`](crate::Caller::require) makes a
//! [`Granted`] proof for one marker, and a service method that needs the permission takes that
//! proof, so a forgotten check does not compile.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use crate::policy::is_valid_permission;

/// A valid permission string: `resource:action`, `resource:*` or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission(Cow<'static, str>);

/// A string that is not a permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a permission is `resource:action`, `resource:*` or `*` (A-Z, a-z, 0-9, '_', '-', '.'), at most 128 bytes"
)]
pub struct InvalidPermission;

impl Permission {
    /// Parses a permission string (as the role policy, scopes and `POST /v1/authorize` hold them).
    pub fn parse(text: &str) -> Result<Self, InvalidPermission> {
        if is_valid_permission(text) {
            Ok(Self(Cow::Owned(text.to_owned())))
        } else {
            Err(InvalidPermission)
        }
    }

    const fn named(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// The permission's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Permission {
    type Err = InvalidPermission;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A permission Rampart checks itself, as a type: see the module documentation.
pub trait Required: Copy + Send + Sync + 'static {
    /// The permission's text.
    const NAME: &'static str;
    /// Whether only roles granting `*` (the default `admin`) hold it in the default policy.
    const ADMIN_ONLY: bool;

    /// The permission.
    fn permission() -> Permission {
        Permission::named(Self::NAME)
    }
}

/// Proof that a caller holds permission `P` (its roles grant it and its credential's scopes
/// allow it). Only [`Caller::require`](crate::Caller::require) makes one.
#[derive(Debug, Clone, Copy)]
pub struct Granted<P: Required> {
    permission: PhantomData<P>,
}

impl<P: Required> Granted<P> {
    /// Only the checking code makes a proof.
    pub(crate) const fn new() -> Self {
        Self {
            permission: PhantomData,
        }
    }

    /// The permission proven.
    pub fn permission(&self) -> &'static str {
        P::NAME
    }
}

macro_rules! permissions {
    ($( $(#[$doc:meta])* $marker:ident => $name:literal, admin_only: $admin:literal; )*) => {
        /// The permissions Rampart checks itself, one marker type each.
        pub mod perm {
            $(
                $(#[$doc])*
                #[derive(Debug, Clone, Copy)]
                pub struct $marker;

                impl super::Required for $marker {
                    const NAME: &'static str = $name;
                    const ADMIN_ONLY: bool = $admin;
                }
            )*
        }

        /// Every permission Rampart checks itself: (name, admin-only in the default policy).
        pub const RAMPART_PERMISSIONS: &[(&str, bool)] = &[$(($name, $admin)),*];
    };
}

permissions! {
    /// Append audit events.
    AuditWrite => "audit:write", admin_only: false;
    /// Read audit entries, checkpoints and proofs.
    AuditRead => "audit:read", admin_only: false;
    /// Export the audit log.
    AuditExport => "audit:export", admin_only: false;
    /// Check a permission for an application (`POST /v1/authorize`).
    AuthzCheck => "authz:check", admin_only: false;
    /// Redact or detect PII with the server's policy.
    PrivacyRedact => "privacy:redact", admin_only: false;
    /// Read key metadata.
    KeysRead => "keys:read", admin_only: false;
    /// Encrypt, HMAC and sign with a key.
    KeysEncrypt => "keys:encrypt", admin_only: false;
    /// Decrypt and rewrap with a key.
    KeysDecrypt => "keys:decrypt", admin_only: true;
    /// Create, rotate and change keys.
    KeysManage => "keys:manage", admin_only: true;
    /// Decrypt documents' sensitive fields.
    SensitiveDataDecrypt => "sensitive_data:decrypt", admin_only: true;
    /// Tokenize cards.
    CardsTokenize => "cards:tokenize", admin_only: false;
    /// Detokenize cards (the PAN back).
    CardsDetokenize => "cards:detokenize", admin_only: true;
    /// Read principals.
    UsersRead => "users:read", admin_only: true;
    /// Create, change, disable and unlock principals.
    UsersManage => "users:manage", admin_only: true;
    /// Grant roles and change the role policy.
    RolesManage => "roles:manage", admin_only: true;
    /// Manage other principals' API keys.
    ApiKeysManage => "api_keys:manage", admin_only: true;
    /// Read rate limits, address rules and blocks.
    SecurityRead => "security:read", admin_only: false;
    /// Change rate limits and address rules; block and lift addresses.
    SecurityManage => "security:manage", admin_only: true;
    /// Acknowledge and resolve alerts.
    AlertsAcknowledge => "alerts:acknowledge", admin_only: false;
    /// Read incidents, their timelines and evidence.
    IncidentsRead => "incidents:read", admin_only: false;
    /// Open, annotate, acknowledge and resolve incidents.
    IncidentsManage => "incidents:manage", admin_only: true;
    /// Read data subjects' consents, exports (with personal data) and erasures.
    GdprRead => "gdpr:read", admin_only: false;
    /// Record consents, request erasures, confirm a store's erasure.
    GdprManage => "gdpr:manage", admin_only: true;
    /// Place and release legal holds, set retention policies, run disposal.
    RetentionConfigure => "retention:configure", admin_only: true;
    /// Shorten (or remove) a governance retention policy.
    RetentionOverride => "retention:override", admin_only: true;
    /// Set and read AI agents' guardrails.
    AgentsManage => "agents:manage", admin_only: true;
    /// Submit actions for an agent (other than the agent itself) and check execution tokens.
    AgentsSubmit => "agents:submit", admin_only: true;
    /// List agents' actions and approve them (team isolation applies).
    ActionsApprove => "actions:approve", admin_only: false;
    /// Reject agents' actions (team isolation applies).
    ActionsReject => "actions:reject", admin_only: false;
    /// List frameworks, read compliance reports, their evidence packages and control history.
    ComplianceRead => "compliance:read", admin_only: false;
    /// Generate compliance reports; grant and revoke waivers.
    ComplianceManage => "compliance:manage", admin_only: true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;

    #[test]
    fn every_permission_rampart_checks_is_in_the_default_policy_or_admin_only() {
        let policy = Policy::default_policy();
        let roles = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let below_admin = roles(&["viewer", "developer", "operator", "security_auditor"]);
        for (name, admin_only) in RAMPART_PERMISSIONS {
            assert!(
                Permission::parse(name).is_ok(),
                "{name} is not a permission"
            );
            let granted_below_admin = policy.grants(&below_admin, name).is_some();
            assert_eq!(
                granted_below_admin, !admin_only,
                "{name}: admin_only is {admin_only}, but a role below admin grants it: {granted_below_admin}"
            );
            assert!(policy.grants(&roles(&["admin"]), name).is_some(), "{name}");
        }
    }

    #[test]
    fn permission_strings_parse_or_are_refused() {
        for good in ["audit:read", "keys:*", "*", "reports.v2:read-all"] {
            assert_eq!(
                Permission::parse(good).map(|p| p.to_string()),
                Ok(good.to_owned())
            );
        }
        for bad in [
            "",
            "audit",
            "audit:",
            ":read",
            "a b:read",
            "audit:read:x",
            &"x".repeat(200),
        ] {
            assert_eq!(Permission::parse(bad), Err(InvalidPermission), "{bad}");
        }
    }
}
