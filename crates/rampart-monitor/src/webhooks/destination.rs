//! Where a webhook may be sent: URL validation (the shape only; the app layer resolves the
//! host) and the address check it applies to every address the host resolves to, on every
//! attempt, so a name that later points inside the network is still refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::FieldError;

/// Longest webhook URL.
pub const MAX_URL_LEN: usize = 2048;
/// Longest host name (RFC 1035).
const MAX_HOST_LEN: usize = 253;

/// A webhook URL's parts the sender needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// The URL as given.
    pub url: String,
    /// Whether it is `https`.
    pub https: bool,
    /// The host: a name, or an address (IPv6 without its brackets).
    pub host: String,
    /// The port (the scheme's default when none is written).
    pub port: u16,
    /// The host when it is an address literal.
    pub address: Option<IpAddr>,
}

/// Checks a webhook URL's shape: `https` or `http`, a host, no user information, at most
/// [`MAX_URL_LEN`] characters without spaces or control characters. With
/// `allow_private_networks` false, an address literal must pass
/// [`is_forbidden_destination`] too (names are the app layer's to resolve and check).
pub fn validate_url(url: &str, allow_private_networks: bool) -> Result<WebhookUrl, FieldError> {
    let refuse = |message: &str| Err(FieldError::new("url", message));
    if url.is_empty() || url.len() > MAX_URL_LEN {
        return refuse("must be 1 to 2048 characters");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must not hold spaces or control characters");
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return refuse("must be an https or http URL"),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    if authority.contains('@') {
        return refuse("must not hold user information");
    }
    let (host, port) = split_host_port(authority)
        .ok_or_else(|| FieldError::new("url", "must have a host and, if any, a port 1..=65535"))?;
    let address = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        match inner.parse::<Ipv6Addr>() {
            Ok(v6) => Some(IpAddr::V6(v6)),
            Err(_) => return refuse("has a bad IPv6 address"),
        }
    } else {
        host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    };
    if address.is_none() && !valid_host_name(host) {
        return refuse("has a bad host name");
    }
    if !allow_private_networks && address.is_some_and(is_forbidden_destination) {
        return refuse(
            "must not point to a loopback, private, link-local or other reserved address",
        );
    }
    let default_port = if https { 443 } else { 80 };
    Ok(WebhookUrl {
        url: url.to_owned(),
        https,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
        port: port.unwrap_or(default_port),
        address,
    })
}

/// The host and the port (if written) of an authority; `None` when either is bad.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|p| *p != 0)?)
        }
        Some(_) => return None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// A DNS name: labels of 1 to 63 letters, digits and `-` (not at either end), at most 253
/// characters, an optional final dot.
fn valid_host_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a webhook must not be sent to this address (unless private networks are allowed):
/// unspecified, loopback, private (RFC 1918), shared CGNAT space (100.64.0.0/10), link-local,
/// multicast, broadcast, documentation, benchmarking and reserved IPv4, `0.0.0.0/8`; IPv6
/// unspecified, loopback, unique-local, link-local, multicast, documentation (2001:db8::/32);
/// and IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible and NAT64 (`64:ff9b::/96`) forms of the
/// IPv4 ones.
#[must_use]
pub fn is_forbidden_destination(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_unspecified()
        || v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn forbidden_v6(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, _, _] = v6.segments();
    let embedded_v4 = || Ipv4Addr::from(u32::try_from(u128::from(v6) & 0xffff_ffff).unwrap_or(0));
    // NAT64's well-known prefix, and the deprecated IPv4-compatible form (::a.b.c.d).
    let nat64 = [s0, s1, s2, s3, s4, s5] == [0x64, 0xff9b, 0, 0, 0, 0];
    let compatible =
        [s0, s1, s2, s3, s4, s5] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified();
    if nat64 || compatible {
        return forbidden_v4(embedded_v4());
    }
    v6.is_unspecified()
        || v6.is_loopback()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        || (s0 & 0xffc0) == 0xfec0
        || (s0 == 0x2001 && s1 == 0x0db8)
}
