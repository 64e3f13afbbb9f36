//! How each setting prints in `config show`: TOML values, every secret redacted.

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

use super::{ForwardedHeader, TlsMinVersion, redact_url};

/// How a setting prints in `config show`: TOML values, secrets redacted.
pub(super) trait Show {
    fn show(&self) -> String;
}

impl Show for SocketAddr {
    fn show(&self) -> String {
        quote(&self.to_string())
    }
}
impl Show for PathBuf {
    fn show(&self) -> String {
        quote(&self.display().to_string())
    }
}
impl Show for Option<PathBuf> {
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| quote(""), Show::show)
    }
}
impl Show for Option<u64> {
    fn show(&self) -> String {
        self.map_or_else(|| quote(""), |v| v.to_string())
    }
}

impl Show for Option<SecretString> {
    fn show(&self) -> String {
        self.as_ref()
            .map_or_else(|| quote(""), |url| quote(&redact_url(url.expose_secret())))
    }
}
impl Show for Vec<IpNet> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(|n| quote(&n.to_string())).collect();
        format!("[{}]", items.join(", "))
    }
}
impl Show for Vec<String> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(|s| quote(s)).collect();
        format!("[{}]", items.join(", "))
    }
}
impl Show for Vec<u64> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(u64::to_string).collect();
        format!("[{}]", items.join(", "))
    }
}
impl Show for u64 {
    fn show(&self) -> String {
        self.to_string()
    }
}
impl Show for ForwardedHeader {
    fn show(&self) -> String {
        quote(self.as_str())
    }
}
impl Show for TlsMinVersion {
    fn show(&self) -> String {
        quote(self.as_str())
    }
}
impl Show for bool {
    fn show(&self) -> String {
        self.to_string()
    }
}
impl Show for String {
    fn show(&self) -> String {
        quote(self)
    }
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
