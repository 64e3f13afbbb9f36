//! The parsers of setting values: one per kind of setting, each naming what it expects (never
//! quoting a secret).

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use secrecy::SecretString;

use super::{ForwardedHeader, Raw};

pub(super) fn parse_string(raw: Raw) -> Result<String, String> {
    match raw {
        Raw::Str(s) => Ok(s),
        other => Err(format!("expected a string, got {}", describe(&other))),
    }
}

/// Levels a log filter may name.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// A log filter: comma-separated directives, each a level (`info`) or `target=level`
/// (`rampart=debug`), the levels among [`LOG_LEVELS`]. Anything else (`verbose`) would be read
/// by the logger as a target name and silently log nothing, so it is refused.
pub(super) fn parse_log_level(raw: Raw) -> Result<String, String> {
    let text = parse_string(raw)?;
    let expected = || {
        "expected a level (trace, debug, info, warn, error, off) or comma-separated \
         target=level directives such as rampart=debug,info"
            .to_owned()
    };
    if text.trim().is_empty() {
        return Err(expected());
    }
    for directive in text.split(',').map(str::trim) {
        let (target, level) = match directive.split_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        let target_ok = target.is_none_or(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
        });
        if !target_ok || !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(expected());
        }
    }
    Ok(text)
}

pub(super) fn parse_addr(raw: Raw) -> Result<SocketAddr, String> {
    parse_string(raw)?
        .parse()
        .map_err(|_| "expected an address such as 127.0.0.1:8470 or [::1]:8470".to_owned())
}

pub(super) fn parse_path(raw: Raw) -> Result<PathBuf, String> {
    let text = parse_string(raw)?;
    if text.is_empty() {
        return Err("expected a path, got an empty string".to_owned());
    }
    Ok(PathBuf::from(text))
}

pub(super) fn parse_opt_path(raw: Raw) -> Result<Option<PathBuf>, String> {
    let text = parse_string(raw)?;
    Ok((!text.is_empty()).then(|| PathBuf::from(text)))
}

pub(super) fn parse_secret(raw: Raw) -> Result<Option<SecretString>, String> {
    let text = parse_string(raw)?;
    if text.is_empty() {
        return Ok(None);
    }
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err("expected a postgres:// or postgresql:// URL".to_owned());
    }
    Ok(Some(SecretString::from(text)))
}

pub(super) fn parse_bool(raw: Raw) -> Result<bool, String> {
    match raw {
        Raw::Bool(b) => Ok(b),
        Raw::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        },
        other => Err(format!("expected true or false, got {}", describe(&other))),
    }
}

pub(super) fn parse_opt_u64(raw: Raw) -> Result<Option<u64>, String> {
    match raw {
        Raw::Str(s) if s.trim().is_empty() => Ok(None),
        other => parse_u64(other).map(Some),
    }
}

pub(super) fn parse_u64(raw: Raw) -> Result<u64, String> {
    match raw {
        Raw::Int(i) => u64::try_from(i).map_err(|_| "expected a non-negative integer".to_owned()),
        Raw::Str(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| "expected a non-negative integer".to_owned()),
        other => Err(format!(
            "expected a non-negative integer, got {}",
            describe(&other)
        )),
    }
}

pub(super) fn parse_positive(raw: Raw) -> Result<u64, String> {
    let value = match raw {
        Raw::Int(i) => u64::try_from(i).map_err(|_| "expected a positive integer".to_owned())?,
        Raw::Str(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| "expected a positive integer".to_owned())?,
        other => {
            return Err(format!(
                "expected a positive integer, got {}",
                describe(&other)
            ));
        }
    };
    if value == 0 {
        return Err("expected a positive integer, got 0".to_owned());
    }
    Ok(value)
}

pub(super) fn parse_body_limit(raw: Raw) -> Result<u64, String> {
    let value = parse_positive(raw)?;
    if value > 1024 * 1024 * 1024 {
        return Err("body limits above 1 GiB are refused".to_owned());
    }
    Ok(value)
}

pub(super) fn parse_forwarded_header(raw: Raw) -> Result<ForwardedHeader, String> {
    parse_string(raw)?.parse()
}

pub(super) fn parse_connection_limit(raw: Raw) -> Result<u64, String> {
    let value = parse_positive(raw)?;
    if value > 1_000_000 {
        return Err("connection limits above 1000000 are refused".to_owned());
    }
    Ok(value)
}

pub(super) fn parse_idle_timeout(raw: Raw) -> Result<u64, String> {
    let value = parse_positive(raw)?;
    if value > 86_400 {
        return Err("idle timeouts above 86400 seconds (a day) are refused".to_owned());
    }
    Ok(value)
}

pub(super) fn parse_list(raw: Raw) -> Result<Vec<String>, String> {
    match raw {
        Raw::List(items) => Ok(items),
        Raw::Str(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        other => Err(format!("expected a list, got {}", describe(&other))),
    }
}

pub(super) fn parse_cidrs(raw: Raw) -> Result<Vec<IpNet>, String> {
    parse_list(raw)?
        .iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{item}' is not an IP address or CIDR"))
        })
        .collect()
}

pub(super) fn parse_origins(raw: Raw) -> Result<Vec<String>, String> {
    let origins = parse_list(raw)?;
    for origin in &origins {
        let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin.ends_with('/')
            && is_header_value(origin);
        if !valid {
            return Err(format!(
                "'{origin}' is not an origin such as https://app.example.com (no path, no trailing slash)"
            ));
        }
    }
    Ok(origins)
}

/// Whether `text` may be sent as an HTTP header value (what `http::HeaderValue::from_str`
/// accepts: no control character but tab), so a configured origin can always be echoed.
pub(super) fn is_header_value(text: &str) -> bool {
    text.bytes().all(|b| (b >= 32 && b != 127) || b == b'\t')
}

pub(super) fn describe(raw: &Raw) -> &'static str {
    match raw {
        Raw::Bool(_) => "a boolean",
        Raw::Int(_) => "an integer",
        Raw::Str(_) => "a string",
        Raw::List(_) | Raw::IntList(_) => "a list",
    }
}

/// Most retries `webhook_retry_seconds` may list, and the longest delay.
const MAX_WEBHOOK_RETRIES: usize = rampart_monitor::MAX_RETRIES;

pub(super) fn parse_retry_seconds(raw: Raw) -> Result<Vec<u64>, String> {
    let delays: Vec<u64> = match raw {
        Raw::IntList(items) => items
            .into_iter()
            .map(|i| u64::try_from(i).map_err(|_| "expected positive integers".to_owned()))
            .collect::<Result<_, _>>()?,
        other => parse_list(other)?
            .iter()
            .map(|item| {
                item.parse::<u64>()
                    .map_err(|_| "expected a list of seconds".to_owned())
            })
            .collect::<Result<_, _>>()?,
    };
    let max = u64::from(rampart_monitor::MAX_RETRY_SECONDS);
    if delays.len() > MAX_WEBHOOK_RETRIES || delays.iter().any(|d| !(1..=max).contains(d)) {
        return Err(format!(
            "expected at most {MAX_WEBHOOK_RETRIES} delays of 1 to {max} seconds"
        ));
    }
    Ok(delays)
}

pub(super) fn parse_opt_escalation(raw: Raw) -> Result<Option<u64>, String> {
    match parse_opt_u64(raw)? {
        Some(0) => Err("expected a positive number of seconds".to_owned()),
        Some(s) if s > u64::from(u32::MAX) => Err("expected at most 4294967295 seconds".to_owned()),
        other => Ok(other),
    }
}
