//! `serve` on a deployment nobody initialized: only the default data dir is made on the spot.
//!
//! A path or URL someone typed (`--data-dir`, `RAMPART_DATA_DIR`, `--database-url`, the config
//! file) that holds no deployment is far more often a typo (`./rampart-dta`) or the wrong
//! database than a wish for a new deployment with a new admin key; `serve` refuses it, creating
//! nothing, and names the `rampart init` command that would create it on purpose.

use std::path::Path;

use secrecy::ExposeSecret as _;

use super::{DATABASE_FILE, StartupError};
use crate::config::Settings;

/// The refusal of `serve` on an explicit location that holds no deployment.
pub(super) fn refusal(settings: &Settings) -> StartupError {
    match &settings.database_url {
        Some(url) => {
            let shown = crate::config::redact_url(url.expose_secret());
            StartupError::NotInitialized {
                location: format!("database {shown} has no Rampart deployment"),
                command: format!(
                    "RAMPART_MASTER_KEY=<the key> rampart init --database-url {}",
                    shell_word(&shown)
                ),
            }
        }
        None => StartupError::NotInitialized {
            location: format!(
                "data dir {} is not initialized (there is no {})",
                settings.data_dir.display(),
                settings.data_dir.join(DATABASE_FILE).display()
            ),
            command: format!("rampart init --data-dir {}", shell_path(&settings.data_dir)),
        },
    }
}

fn shell_path(path: &Path) -> String {
    shell_word(&path.display().to_string())
}

/// `word` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("./rampart-dta"), "./rampart-dta");
        assert_eq!(shell_word("/tmp/my data"), "'/tmp/my data'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(
            shell_word("postgres://u:[REDACTED]@h/db?host=/run"),
            "'postgres://u:[REDACTED]@h/db?host=/run'"
        );
    }
}
