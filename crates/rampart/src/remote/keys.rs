//! `rampart keys list|show|create|rotate|encrypt|decrypt` against the server.

use std::io::{IsTerminal as _, Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::Format;
use super::client::Client;
use super::failure::{Failure, code};
use super::output::{self, cell, when};

/// `rampart keys create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The key's name: 1 to 128 of A-Z, a-z, 0-9, `_` and `-`.
    pub(crate) name: String,
    /// aes256-gcm (default), fernet, hmac-sha256 or ed25519.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) key_type: Option<String>,
    /// Days between automatic rotations.
    #[arg(long, value_name = "DAYS")]
    pub(crate) rotation_period_days: Option<u32>,
    /// The team whose members alone may use the key.
    #[arg(long, value_name = "TEAM")]
    pub(crate) team: Option<String>,
}

/// `rampart keys encrypt|decrypt`.
#[derive(Debug, Args)]
pub(crate) struct CryptArgs {
    /// The key.
    pub(crate) name: String,
    /// Associated data the ciphertext is bound to (text; the same is needed to decrypt).
    #[arg(long, value_name = "TEXT")]
    pub(crate) associated_data: Option<String>,
}

fn key_row(key: &Value) -> Vec<String> {
    vec![
        cell(&key["name"]),
        cell(&key["type"]),
        cell(&key["latest_version"]),
        cell(&key["min_decryption_version"]),
        cell(&key["rotation_period_days"]),
        when(&key["next_rotation_at"]),
        cell(&key["team_id"]),
    ]
}

const KEY_HEADER: [&str; 7] = [
    "NAME",
    "TYPE",
    "LATEST",
    "MIN_DECRYPT",
    "ROTATION_DAYS",
    "NEXT_ROTATION",
    "TEAM",
];

/// A key's metadata as fields and its versions as a table.
fn print_key(key: &Value) -> Result<(), Failure> {
    output::fields(&[
        ("name", cell(&key["name"])),
        ("type", cell(&key["type"])),
        ("latest version", cell(&key["latest_version"])),
        (
            "min decryption version",
            cell(&key["min_decryption_version"]),
        ),
        ("rotation period (days)", cell(&key["rotation_period_days"])),
        ("next rotation", when(&key["next_rotation_at"])),
        ("team", cell(&key["team_id"])),
        ("created", when(&key["created_at"])),
    ])?;
    let rows: Vec<Vec<String>> = key["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            vec![
                cell(&v["version"]),
                when(&v["created_at"]),
                v.get("public_key_b64").map_or_else(|| "-".to_owned(), cell),
            ]
        })
        .collect();
    output::line("")?;
    output::table(&["VERSION", "CREATED", "PUBLIC_KEY"], &rows)
}

/// `keys list`: every key.
pub(crate) async fn list(client: &Client, format: Format) -> Result<(), Failure> {
    let (items, _) = client.list(&["v1", "keys"], &[], None).await?;
    output::show(format, &json!({ "items": items }), |_| {
        let rows: Vec<Vec<String>> = items.iter().map(key_row).collect();
        output::table(&KEY_HEADER, &rows)
    })
}

/// `keys show NAME`.
pub(crate) async fn show(client: &Client, format: Format, name: &str) -> Result<(), Failure> {
    let key = client.get(&["v1", "keys", name], &[]).await?;
    output::show(format, &key, print_key)
}

/// `keys create NAME`.
pub(crate) async fn create(
    client: &Client,
    format: Format,
    args: &CreateArgs,
) -> Result<(), Failure> {
    let mut body = Map::new();
    body.insert("name".to_owned(), json!(args.name));
    if let Some(kind) = &args.key_type {
        body.insert("type".to_owned(), json!(kind));
    }
    if let Some(days) = args.rotation_period_days {
        body.insert("rotation_period_days".to_owned(), json!(days));
    }
    if let Some(team) = &args.team {
        body.insert("team_id".to_owned(), json!(team));
    }
    let key = client
        .call(
            Method::POST,
            &["v1", "keys"],
            &[],
            Some(&Value::Object(body)),
        )
        .await?;
    output::show(format, &key, print_key)
}

/// `keys rotate NAME`.
pub(crate) async fn rotate(client: &Client, format: Format, name: &str) -> Result<(), Failure> {
    let key = client
        .call(Method::POST, &["v1", "keys", name, "rotate"], &[], None)
        .await?;
    output::show(format, &key, |key| {
        output::line(&format!(
            "rotated {}: latest version is now {}",
            cell(&key["name"]),
            cell(&key["latest_version"])
        ))
    })
}

fn read_stdin(what: &str) -> Result<Vec<u8>, Failure> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!("reading the {what} from standard input; end it with Ctrl-D");
    }
    let mut bytes = Vec::new();
    stdin
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(code::OTHER, format!("cannot read standard input: {e}")))?;
    Ok(bytes)
}

fn crypt_body(args: &CryptArgs, field: &str, value: Value) -> Value {
    let mut body = Map::new();
    body.insert(field.to_owned(), value);
    if let Some(data) = &args.associated_data {
        body.insert("associated_data".to_owned(), json!(STANDARD.encode(data)));
    }
    Value::Object(body)
}

/// `keys encrypt NAME`: the plaintext (bytes) from stdin; prints the ciphertext.
pub(crate) async fn encrypt(
    client: &Client,
    format: Format,
    args: &CryptArgs,
) -> Result<(), Failure> {
    let plaintext = read_stdin("plaintext")?;
    let body = crypt_body(args, "plaintext", json!(STANDARD.encode(&plaintext)));
    let answer = client
        .call(
            Method::POST,
            &["v1", "keys", &args.name, "encrypt"],
            &[],
            Some(&body),
        )
        .await?;
    output::show(format, &answer, |a| output::line(&cell(&a["ciphertext"])))
}

/// `keys decrypt NAME`: the ciphertext from stdin; writes the plaintext's bytes.
pub(crate) async fn decrypt(
    client: &Client,
    format: Format,
    args: &CryptArgs,
) -> Result<(), Failure> {
    let input = read_stdin("ciphertext")?;
    let ciphertext = String::from_utf8_lossy(&input).trim().to_owned();
    if ciphertext.is_empty() {
        return Err(Failure::new(code::USAGE, "no ciphertext on standard input"));
    }
    let body = crypt_body(args, "ciphertext", json!(ciphertext));
    let answer = client
        .call(
            Method::POST,
            &["v1", "keys", &args.name, "decrypt"],
            &[],
            Some(&body),
        )
        .await?;
    output::show(format, &answer, |a| {
        let bytes = STANDARD
            .decode(a["plaintext"].as_str().unwrap_or(""))
            .map_err(|e| Failure::new(code::OTHER, format!("the plaintext is not base64: {e}")))?;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)
            .and_then(|()| out.flush())
            .map_err(|e| Failure::new(code::OTHER, format!("cannot write: {e}")))
    })
}

/// Runs a `keys` command on the server (`rewrap-all` and a `rotate` with a store are local).
pub(crate) async fn run(
    args: &super::RemoteArgs,
    command: crate::cli::KeysCommand,
) -> Result<(), Failure> {
    use crate::cli::KeysCommand;
    let client = Client::new(args)?;
    let format = args.format;
    match command {
        KeysCommand::List => list(&client, format).await,
        KeysCommand::Show { name } => show(&client, format, &name).await,
        KeysCommand::Create(create_args) => create(&client, format, &create_args).await,
        KeysCommand::Encrypt(crypt) => encrypt(&client, format, &crypt).await,
        KeysCommand::Decrypt(crypt) => decrypt(&client, format, &crypt).await,
        KeysCommand::Rotate { name, key, .. } => {
            let name = name.or(key).unwrap_or_default();
            rotate(&client, format, &name).await
        }
        KeysCommand::RewrapAll { .. } => Err(Failure::new(
            code::USAGE,
            "rewrap-all works on a store: pass --data-dir or --database-url",
        )),
    }
}
