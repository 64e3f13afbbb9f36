//! The client's address: the TCP peer, or what trusted proxies say the client was.
//!
//! Forwarding headers are believed only when the peer is a trusted proxy, and then only up to the
//! first hop that is not trusted (read from the right), so a client cannot claim any address by
//! sending the header itself. Exactly one header is read, the one `forwarded_header` names
//! (`X-Forwarded-For` or `Forwarded`); the other is ignored entirely, since a proxy that sets one
//! passes the other through from the client untouched.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Which header the trusted proxies set: a setting, defined with the others.
pub use rampart_app::config::ForwardedHeader;

fn trusted(addr: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&addr))
}

/// Parses one `Forwarded` `for=` value or `X-Forwarded-For` element.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let inner = text.strip_prefix('[')?;
    inner.split(']').next()?.parse().ok()
}

/// The hops `header` lists, left to right; `None` for a hop that names no address (an element
/// without `for=`, `unknown`, an obfuscated identifier, garbage).
fn forwarded_chain(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let elements = headers
        .get_all(header.as_str())
        .iter()
        // A header value that is not visible ASCII is one hop nobody can read.
        .flat_map(|v| match v.to_str() {
            Ok(text) => text.split(',').map(Some).collect::<Vec<_>>(),
            Err(_) => vec![None],
        });
    match header {
        ForwardedHeader::XForwardedFor => elements.map(|e| e.and_then(parse_node)).collect(),
        ForwardedHeader::Forwarded => elements
            .map(|element| {
                element?.split(';').find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(value))
                })?
            })
            .collect(),
    }
}

/// The client address for a request from `peer`: the right-most hop of `header` that is not a
/// trusted proxy, when `peer` is one.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    proxies: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers, header).into_iter().rev() {
        match hop {
            Some(addr) if trusted(addr, proxies) => client = addr,
            Some(addr) => return addr,
            // An unparseable hop ends what can be believed.
            None => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header value"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().expect("net")]
    }

    #[test]
    fn untrusted_peers_cannot_claim_an_address() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=1.2.3.4")]);
        for header in [XFF, FWD] {
            assert_eq!(
                client_ip(ip("203.0.113.9"), &h, &proxies(), header),
                ip("203.0.113.9")
            );
            assert_eq!(
                client_ip(ip("203.0.113.9"), &h, &[], header),
                ip("203.0.113.9")
            );
        }
    }

    #[test]
    fn trusted_proxies_are_walked_from_the_right() {
        let proxies = proxies();
        // The client forged "6.6.6.6"; the real client is what our proxy appended.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &proxies, XFF),
            ip("198.51.100.7")
        );
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"",
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &proxies, FWD),
            ip("2001:db8::1")
        );
        // Several header lines are one list, in order.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("forwarded", "for=192.0.2.60, for=10.9.9.9"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &proxies, FWD),
            ip("192.0.2.60")
        );
        let h = headers(&[("x-forwarded-for", "garbage")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, XFF), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &proxies, XFF),
            ip("10.0.0.2")
        );
    }

    /// Hardening #11: behind a proxy that sets only `Forwarded`, a client-sent `X-Forwarded-For`
    /// chose the address. Only the configured header counts; the other is ignored entirely.
    #[test]
    fn only_the_configured_header_is_read() {
        let proxies = proxies();
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=198.51.100.7"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &proxies, FWD),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, XFF), ip("6.6.6.6"));
        let h = headers(&[("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, FWD), ip("10.0.0.2"));
        let h = headers(&[("forwarded", "for=6.6.6.6")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, XFF), ip("10.0.0.2"));
    }

    #[test]
    fn a_hop_without_an_address_ends_the_walk() {
        let proxies = proxies();
        // The element the trusted proxy added has no `for=`: it must not let the client's
        // forged element before it through.
        let h = headers(&[("forwarded", "for=6.6.6.6, proto=https;by=10.0.0.1")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, FWD), ip("10.0.0.2"));
        let h = headers(&[("forwarded", "for=6.6.6.6, for=unknown")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, FWD), ip("10.0.0.2"));
        let h = headers(&[("forwarded", "for=6.6.6.6, for=_hidden, for=10.3.3.3")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &proxies, FWD), ip("10.3.3.3"));
        assert_eq!(
            "Forwarded".parse::<ForwardedHeader>(),
            Ok(ForwardedHeader::Forwarded)
        );
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }
}
