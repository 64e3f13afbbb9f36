//! The token file `rampart login` writes: `$XDG_CONFIG_HOME/rampart/token`, else
//! `$HOME/.config/rampart/token`; created with mode 0600 in one step (a temporary file renamed
//! over it), and refused when group or others may read it.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};

use super::failure::{Failure, code};

/// Where the token file is by default.
pub(crate) fn default_path() -> Result<PathBuf, Failure> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return Err(Failure::new(
                    code::USAGE,
                    "neither XDG_CONFIG_HOME nor HOME is set: pass --token-file PATH",
                ));
            }
        },
    };
    Ok(base.join("rampart").join("token"))
}

/// The credential in `path`, or `None` when there is no such file.
pub(crate) fn read(path: &Path) -> Result<Option<SecretString>, Failure> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::new(
                code::OTHER,
                format!("cannot read the token file {}: {e}", path.display()),
            ));
        }
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::new(
            code::OTHER,
            format!(
                "the token file {} may be read by other users (mode {mode:04o}); it is not used: run `chmod 600 {}` if only you could have read it, else revoke the credential and run `rampart login` again",
                path.display(),
                path.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            code::OTHER,
            format!("cannot read the token file {}: {e}", path.display()),
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Failure::new(
            code::OTHER,
            format!(
                "the token file {} is empty: run `rampart login`",
                path.display()
            ),
        ));
    }
    Ok(Some(SecretString::from(token.to_owned())))
}

/// Writes `token` to `path` (mode 0600 from creation; the directory, if made, 0700).
pub(crate) fn write(path: &Path, token: &SecretString) -> Result<(), Failure> {
    let failed = |what: &str, e: std::io::Error| {
        Failure::new(
            code::OTHER,
            format!("cannot {what} the token file {}: {e}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| failed("create the directory of", e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "token".to_owned());
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(token.expose_secret().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed("write", e));
    }
    Ok(())
}

/// Removes the token file; whether there was one.
pub(crate) fn remove(path: &Path) -> Result<bool, Failure> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::new(
            code::OTHER,
            format!("cannot remove the token file {}: {e}", path.display()),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn written_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("token");
        write(&path, &SecretString::from("rk_test".to_owned())).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let read_back = read(&path).unwrap().unwrap();
        assert_eq!(read_back.expose_secret(), "rk_test");
        assert!(remove(&path).unwrap());
        assert!(read(&path).unwrap().is_none());
    }

    #[test]
    fn a_file_others_may_read_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "rk_canary_value\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let failure = read(&path).unwrap_err();
        let text = failure.to_string();
        assert!(text.contains("mode 0644"), "{text}");
        assert!(!text.contains("rk_canary_value"), "{text}");
    }
}
