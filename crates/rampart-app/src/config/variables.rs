//! The `RAMPART_*` variables Rampart reads: one per setting, and a few others. Any other is a
//! typo, refused with the variable most likely meant.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use secrecy::SecretString;

use super::{ConfigError, SETTING_NAMES};

/// `RAMPART_*` variables that are not settings: the master keys (never in a config file; the
/// current one may come from a file of its own, such as a systemd credential), and the CLI's
/// server address and token.
pub const OTHER_VARIABLES: &[&str] = &[
    "RAMPART_MASTER_KEY",
    "RAMPART_MASTER_KEY_FILE",
    "RAMPART_MASTER_KEY_PREVIOUS",
    "RAMPART_ADDR",
    "RAMPART_TOKEN",
];

/// The master key: `RAMPART_MASTER_KEY`, or the base64 text (trimmed) of the file
/// `RAMPART_MASTER_KEY_FILE` names, kept outside the data dir (a systemd `LoadCredential`, a
/// mounted secret). Both at once is refused, as is a file others may read.
pub(super) fn master_key(env: &[(String, String)]) -> Result<Option<SecretString>, ConfigError> {
    let value = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let direct = value("RAMPART_MASTER_KEY").map(|v| SecretString::from(v.clone()));
    let Some(path) = value("RAMPART_MASTER_KEY_FILE").map(PathBuf::from) else {
        return Ok(direct);
    };
    let refuse = |message: &str| ConfigError::MasterKeyFile {
        path: path.clone(),
        message: message.to_owned(),
    };
    if direct.is_some() {
        return Err(refuse(
            "RAMPART_MASTER_KEY is set too; set only one of the two",
        ));
    }
    let metadata = std::fs::metadata(&path).map_err(|e| ConfigError::MasterKeyFile {
        path: path.clone(),
        message: format!("cannot read it: {e}"),
    })?;
    if metadata.permissions().mode() & 0o007 != 0 {
        return Err(refuse(
            "others may read it; make it readable by Rampart's user only (chmod 600)",
        ));
    }
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
        ConfigError::MasterKeyFile {
            path: path.clone(),
            message: format!("cannot read it: {e}"),
        }
    })?);
    let key = text.trim();
    if key.is_empty() {
        return Err(refuse("it is empty"));
    }
    Ok(Some(SecretString::from(key.to_owned())))
}

/// The variable of setting `name` (`listen` → `RAMPART_LISTEN`).
pub(super) fn setting_variable(name: &str) -> String {
    format!("RAMPART_{}", name.to_ascii_uppercase())
}

pub(super) fn is_known_variable(name: &str) -> bool {
    OTHER_VARIABLES.contains(&name) || SETTING_NAMES.iter().any(|s| setting_variable(s) == name)
}

/// The known variable `name` most likely meant: one it contains or that contains it, else the
/// nearest by edit distance (at most 3 edits).
pub(super) fn closest_variable(name: &str) -> Option<String> {
    let known: Vec<String> = SETTING_NAMES
        .iter()
        .map(|s| setting_variable(s))
        .chain(OTHER_VARIABLES.iter().map(|s| (*s).to_owned()))
        .collect();
    let stem = |v: &str| v.trim_start_matches("RAMPART_").to_owned();
    let wanted = stem(name);
    if let Some(found) = known
        .iter()
        .filter(|k| {
            let k = stem(k);
            k.len() >= 4 && (wanted.starts_with(&k) || k.starts_with(&wanted))
        })
        .max_by_key(|k| k.len())
    {
        return Some(found.clone());
    }
    known
        .iter()
        .map(|k| (edit_distance(&stem(k), &wanted), k))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// Levenshtein distance between two short ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let next = (previous + usize::from(ca != *cb))
                .min(above.saturating_add(1))
                .min(left.saturating_add(1));
            previous = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = next;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}
