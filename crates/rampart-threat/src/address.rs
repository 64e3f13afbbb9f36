//! Address rules: `{"allow": [...], "deny": [...]}` of addresses and CIDR networks, checked
//! before authentication. `deny` always wins; a non-empty `allow` refuses every address it
//! does not hold.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:203.0.113.9`, as a dual-stack socket reports IPv4
//! clients) are their IPv4 form, in the rules and in the addresses checked, so a rule on
//! `203.0.113.0/24` cannot be passed by the other spelling. An IPv6 network shorter than /96
//! does not cover IPv4 clients.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Invalid};

/// Most entries in `allow`, and in `deny`.
pub const MAX_ADDRESS_ENTRIES: usize = 10_000;

/// An address in its canonical form: IPv4-mapped IPv6 as IPv4, others unchanged.
#[must_use]
pub fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

/// A network in its canonical form: within `::ffff:0:0/96`, the IPv4 network it maps.
pub(crate) fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let (Some(v4), Some(len)) = (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96))
        && let Ok(net) = Ipv4Net::new(v4, len)
    {
        return IpNet::V4(net);
    }
    net
}

/// Reads an address (`203.0.113.9`, a host network) or a CIDR network (`10.0.0.0/8`) in its
/// canonical form. A network with host bits set (`10.0.0.1/8`) is refused: which network was
/// meant is not clear.
pub(crate) fn parse_net(text: &str) -> Option<IpNet> {
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(text.parse::<IpAddr>().ok()?),
    };
    (net.trunc() == net).then(|| canonical_net(net))
}

/// The address rules as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressDocument {
    /// Addresses and networks allowed; empty allows every address not denied.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Addresses and networks refused, whatever `allow` says.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// What the address rules say of a client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressVerdict {
    /// The request may go on.
    Allowed,
    /// The request is refused (`403` before authentication).
    Denied,
}

/// Validated address rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressRules {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

impl AddressRules {
    /// Reads and validates address rules from JSON text.
    pub fn parse_json(text: &str) -> Result<Self, Invalid> {
        Self::from_document(&rampart_document::read_json::<AddressDocument>(text)?)
    }

    /// Validates address rules as written; every wrong entry is reported
    /// (`allow[1]: not an address or CIDR`).
    pub fn from_document(document: &AddressDocument) -> Result<Self, Invalid> {
        let mut errors = Vec::new();
        let allow = parse_list("allow", &document.allow, &mut errors);
        let deny = parse_list("deny", &document.deny, &mut errors);
        if errors.is_empty() {
            Ok(Self { allow, deny })
        } else {
            Err(Invalid::Fields(errors))
        }
    }

    /// The rules as written (canonical forms: `203.0.113.9`, `10.0.0.0/8`).
    #[must_use]
    pub fn to_document(&self) -> AddressDocument {
        AddressDocument {
            allow: self.allow.iter().map(|net| net_text(*net)).collect(),
            deny: self.deny.iter().map(|net| net_text(*net)).collect(),
        }
    }

    /// The rules as JSON text (the stored form).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_document()).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The allowed networks.
    #[must_use]
    pub fn allow(&self) -> &[IpNet] {
        &self.allow
    }

    /// The denied networks.
    #[must_use]
    pub fn deny(&self) -> &[IpNet] {
        &self.deny
    }

    /// Whether there are no rules (every address is allowed).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// The verdict on a client address: denied when a `deny` entry holds it, or when `allow` is
    /// not empty and no entry of it does.
    #[must_use]
    pub fn verdict(&self, address: IpAddr) -> AddressVerdict {
        let address = canonical(address);
        let denied = self.deny.iter().any(|net| net.contains(&address));
        let allowed = self.allow.is_empty() || self.allow.iter().any(|net| net.contains(&address));
        if denied || !allowed {
            AddressVerdict::Denied
        } else {
            AddressVerdict::Allowed
        }
    }
}

/// A network as text: a host network as its bare address.
pub(crate) fn net_text(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

fn parse_list(field: &str, entries: &[String], errors: &mut Vec<FieldError>) -> Vec<IpNet> {
    if entries.len() > MAX_ADDRESS_ENTRIES {
        errors.push(FieldError::new(
            field,
            format!("at most {MAX_ADDRESS_ENTRIES} entries"),
        ));
        return Vec::new();
    }
    let mut seen: HashMap<IpNet, usize> = HashMap::new();
    let mut nets = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let path = format!("{field}[{index}]");
        let Some(net) = parse_net(entry) else {
            errors.push(FieldError::new(
                path,
                "not an address or CIDR (a network's host bits must be zero)",
            ));
            continue;
        };
        if let Some(first) = seen.insert(net, index) {
            errors.push(FieldError::new(
                path,
                format!("duplicate of {field}[{first}]"),
            ));
            continue;
        }
        nets.push(net);
    }
    nets
}

#[cfg(test)]
mod tests;
