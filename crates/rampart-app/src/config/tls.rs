//! The TLS protocol floor (`tls_min_version`): which protocol versions the listener offers, read
//! by the server's rustls configuration and reported by the compliance facts alike.

use super::Raw;
use super::parse::parse_string;

/// The oldest TLS version the listener accepts. TLS 1.0 and 1.1 are never offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMinVersion {
    /// TLS 1.2 and 1.3 (the default).
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

impl TlsMinVersion {
    /// The setting's spelling: `1.2` or `1.3`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        }
    }

    /// The protocol versions accepted, newest first, as the compliance facts name them.
    pub fn accepted_versions(self) -> &'static [&'static str] {
        match self {
            Self::Tls12 => &["TLSv1.3", "TLSv1.2"],
            Self::Tls13 => &["TLSv1.3"],
        }
    }
}

impl std::str::FromStr for TlsMinVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "1.2" => Ok(Self::Tls12),
            "1.3" => Ok(Self::Tls13),
            _ => Err("expected \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are not supported)".to_owned()),
        }
    }
}

pub(super) fn parse_tls_min_version(raw: Raw) -> Result<TlsMinVersion, String> {
    parse_string(raw)?.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_point_two_and_one_point_three_are_floors() {
        assert_eq!("1.2".parse(), Ok(TlsMinVersion::Tls12));
        assert_eq!(" 1.3 ".parse(), Ok(TlsMinVersion::Tls13));
        for bad in ["1.1", "1.0", "TLSv1.3", "", "1.4", "13"] {
            let err = bad.parse::<TlsMinVersion>().expect_err(bad);
            assert!(err.contains("\"1.2\" or \"1.3\""), "{bad}: {err}");
        }
        assert_eq!(TlsMinVersion::Tls13.accepted_versions(), ["TLSv1.3"]);
        assert_eq!(
            TlsMinVersion::default().accepted_versions(),
            ["TLSv1.3", "TLSv1.2"]
        );
    }
}
