//! `rampart login` and `rampart logout`: the token file.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;

use clap::Args;
use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, json};

use super::client::{Client, base_url};
use super::failure::{Failure, code};
use super::output::{self, at, cell, when};
use super::{RemoteArgs, token};

/// `rampart login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Log in as this user (password from standard input, or a prompt on a terminal) for a
    /// session token, instead of storing an API key.
    #[arg(long, value_name = "NAME", conflicts_with = "api_key_stdin")]
    pub(crate) name: Option<String>,
    /// The current TOTP code, for accounts with a second factor.
    #[arg(long, value_name = "CODE", requires = "name")]
    pub(crate) totp: Option<String>,
    /// Read the API key from standard input (first line) even on a terminal.
    #[arg(long)]
    pub(crate) api_key_stdin: bool,
}

/// A secret from standard input's first line, or from a prompt that does not echo when
/// standard input is a terminal (and `force_stdin` is not set).
pub(crate) fn read_secret_from(prompt: &str, force_stdin: bool) -> Result<SecretString, Failure> {
    let failed = |e: std::io::Error| Failure::new(code::OTHER, format!("cannot read: {e}"));
    let text = if !force_stdin && std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(failed)?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(failed)?;
        line
    };
    let text = text.trim_end_matches(['\r', '\n']).to_owned();
    if text.is_empty() {
        return Err(Failure::new(
            code::USAGE,
            format!("nothing read for {:?}", prompt.trim_end_matches([':', ' '])),
        ));
    }
    Ok(SecretString::from(text))
}

/// [`read_secret_from`] with a prompt on a terminal.
pub(crate) fn read_secret(prompt: &str) -> Result<SecretString, Failure> {
    read_secret_from(prompt, false)
}

fn token_path(args: &RemoteArgs) -> Result<PathBuf, Failure> {
    match &args.token_file {
        Some(path) => Ok(path.clone()),
        None => token::default_path(),
    }
}

/// `rampart login`: checks the credential with the server, then writes the token file.
pub(crate) async fn login(args: &RemoteArgs, login: &LoginArgs) -> Result<(), Failure> {
    let base = base_url(args)?;
    let path = token_path(args)?;
    match &login.name {
        Some(name) => {
            let password = read_secret("Password: ")?;
            let client = Client::with_token(args, base, None)?;
            let mut body = Map::new();
            body.insert("name".to_owned(), json!(name));
            body.insert("password".to_owned(), json!(password.expose_secret()));
            if let Some(code) = &login.totp {
                body.insert("totp".to_owned(), json!(code));
            }
            let answer = client
                .call(
                    Method::POST,
                    &["v1", "auth", "login"],
                    &[],
                    Some(&serde_json::Value::Object(body)),
                )
                .await?;
            let Some(session) = at(&answer, "token").as_str() else {
                return Err(Failure::new(
                    code::OTHER,
                    "the server's answer holds no token",
                ));
            };
            token::write(&path, &SecretString::from(session.to_owned()))?;
            output::line(&format!(
                "logged in as {name} until {}; the session token is in {}",
                when(at(&answer, "expires_at")),
                path.display()
            ))
        }
        None => {
            let key = read_secret_from("API key: ", login.api_key_stdin)?;
            let client = Client::with_token(args, base, Some(key.clone()))?;
            let me = client.get(&["v1", "auth", "whoami"], &[]).await?;
            token::write(&path, &key)?;
            output::line(&format!(
                "logged in as {} ({}) with an API key; it is in {}",
                cell(at(&me, "name")),
                cell(at(&me, "principal_id")),
                path.display()
            ))
        }
    }
}

/// `rampart logout`: ends the stored session on the server (an API key stays valid) and
/// removes the token file.
pub(crate) async fn logout(args: &RemoteArgs) -> Result<(), Failure> {
    let path = token_path(args)?;
    let stored = match token::read(&path) {
        Ok(stored) => stored,
        Err(refused) => {
            token::remove(&path)?;
            eprintln!("warning: {refused}");
            output::line(&format!("removed {}", path.display()))?;
            return Ok(());
        }
    };
    let Some(stored) = stored else {
        return output::line(&format!("not logged in: {} does not exist", path.display()));
    };
    let is_api_key = stored.expose_secret().starts_with("rk_");
    let mut ended = Ok(());
    if !is_api_key {
        let client = Client::with_token(args, base_url(args)?, Some(stored))?;
        ended = match client
            .call(Method::POST, &["v1", "auth", "logout"], &[], None)
            .await
        {
            // An expired or revoked session: nothing left to end.
            Err(failure) if failure.code == code::UNAUTHENTICATED => Ok(()),
            other => other.map(|_| ()),
        };
    }
    token::remove(&path)?;
    output::line(&format!("logged out: removed {}", path.display()))?;
    if is_api_key {
        eprintln!(
            "note: the API key itself stays valid; revoke it with `rampart api-keys revoke ID` if it should stop working"
        );
    }
    ended.map_err(|failure| {
        Failure::new(
            failure.code,
            format!("the token file is removed, but the session could not be ended on the server: {failure}"),
        )
    })
}
