//! Data in transit and who may reach the API: TLS, client certificates, address rules.

use std::net::SocketAddr;

use super::{fail, judge, manual, names, pass};
use crate::control::Judgment;
use crate::facts::{Facts, catalog};

/// TLS versions Rampart counts as strong cryptography (TLS 1.2 and 1.3).
const STRONG_TLS: [&str; 2] = ["1.2", "1.3"];

/// `TLSv1.2`, `TLS 1.2`, `tls1.2` or `1.2` as `1.2`; anything else as given, lower-cased.
fn tls_version(text: &str) -> String {
    let lower = text.trim().to_ascii_lowercase();
    lower
        .strip_prefix("tls")
        .map(|rest| rest.trim_start_matches(['v', ' ']))
        .unwrap_or(&lower)
        .to_owned()
}

/// Whether `address` (`127.0.0.1:8470`, `[::1]:8470`, `localhost:8470`) is a loopback one.
fn loopback(address: &str) -> bool {
    address
        .parse::<SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| address.starts_with("localhost"))
}

/// The API serves TLS 1.2 or 1.3 only. Without TLS it fails, on loopback too: Rampart cannot
/// see a proxy in front that terminates TLS, so that is a waiver with its reason, never a pass.
pub(crate) fn tls_in_transit(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::TLS_ENABLED,
            catalog::TLS_VERSIONS,
            catalog::LISTEN_ADDRESS,
        ],
        |read| {
            let enabled = read.flag(catalog::TLS_ENABLED)?;
            let versions = read.names(catalog::TLS_VERSIONS)?;
            let address = read.text(catalog::LISTEN_ADDRESS)?;
            if !enabled {
                let behind = if loopback(address) {
                    " (on loopback: if a proxy in front terminates TLS 1.2 or later, record that \
                     as a waiver)"
                } else {
                    ""
                };
                return fail(format!(
                    "the API at {address} serves plain HTTP, without TLS{behind}"
                ));
            }
            let weak: Vec<&str> = versions
                .iter()
                .copied()
                .filter(|v| !STRONG_TLS.contains(&tls_version(v).as_str()))
                .collect();
            if !weak.is_empty() {
                return fail(format!(
                    "the API at {address} accepts weak protocol versions: {}",
                    names(&weak)
                ));
            }
            if versions.is_empty() {
                return Err(
                    read.unreadable(catalog::TLS_VERSIONS, "a list of the versions TLS accepts")
                );
            }
            pass(format!(
                "the API at {address} serves TLS only, versions {}",
                names(&versions)
            ))
        },
    )
}

/// Who may reach the API is restricted: client certificates required, or an address allow
/// list. Otherwise a person checks the network in front (a firewall Rampart cannot see).
pub(crate) fn network_access_restricted(facts: &Facts) -> Judgment {
    judge(
        facts,
        &[
            catalog::MTLS_REQUIRED,
            catalog::IP_RULES,
            catalog::LISTEN_ADDRESS,
        ],
        |read| {
            let mtls = read.flag(catalog::MTLS_REQUIRED)?;
            let rules = read.object(catalog::IP_RULES)?;
            let allow = rules.names("allow")?;
            let address = read.text(catalog::LISTEN_ADDRESS)?;
            if mtls {
                return pass(format!(
                    "clients of the API at {address} must present a certificate of the \
                     configured CA"
                ));
            }
            if !allow.is_empty() {
                return pass(format!(
                    "only addresses in {} may reach the API at {address}",
                    names(&allow)
                ));
            }
            if loopback(address) {
                return manual(format!(
                    "the API listens only on {address}: check that the proxy in front restricts \
                     who may reach it"
                ));
            }
            manual(format!(
                "the API at {address} accepts any address without a client certificate: check \
                 that a firewall restricts who may reach it"
            ))
        },
    )
}
