//! The HTTP client: one base address, one bearer credential (never printed), rustls with ring
//! (the provider the server uses), the web PKI's roots plus `--ca-cert`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use super::failure::{Failure, code};
use super::{DEFAULT_ADDR, RemoteArgs, token};

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one server.
pub(crate) struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<SecretString>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The server's address: `--addr`, `RAMPART_ADDR`, or the default; `host:port` means http.
pub(crate) fn base_url(args: &RemoteArgs) -> Result<Url, Failure> {
    let text = match &args.addr {
        Some(addr) => addr.clone(),
        None => std::env::var("RAMPART_ADDR")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
    };
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        Failure::new(
            code::USAGE,
            format!("the server address {text:?} is not a URL: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Failure::new(
            code::USAGE,
            format!("the server address {text:?} is not an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

/// The credential: `--token`, `--token-file`, `RAMPART_TOKEN`, then the login token file.
pub(crate) fn credential(args: &RemoteArgs) -> Result<Option<SecretString>, Failure> {
    if let Some(token) = &args.token {
        return Ok(Some(token.clone()));
    }
    if let Some(path) = &args.token_file {
        return match token::read(path)? {
            Some(token) => Ok(Some(token)),
            None => Err(Failure::new(
                code::USAGE,
                format!("the token file {} does not exist", path.display()),
            )),
        };
    }
    if let Ok(value) = std::env::var("RAMPART_TOKEN")
        && !value.trim().is_empty()
    {
        return Ok(Some(SecretString::from(value.trim().to_owned())));
    }
    token::read(&token::default_path()?)
}

fn tls_config(ca_cert: Option<&std::path::Path>) -> Result<rustls::ClientConfig, Failure> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_cert {
        use rustls::pki_types::pem::PemObject as _;
        let unreadable =
            |e: String| Failure::new(code::USAGE, format!("--ca-cert {}: {e}", path.display()));
        let pem = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        let mut added = 0;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| unreadable(format!("not PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| unreadable(format!("not a usable certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(unreadable("holds no certificate".to_owned()));
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| Failure::new(code::OTHER, format!("TLS: {e}")))
}

impl Client {
    /// A client for `args`' server, with its credential when one is found.
    pub(crate) fn new(args: &RemoteArgs) -> Result<Self, Failure> {
        let base = base_url(args)?;
        let token = credential(args)?;
        Self::with_token(args, base, token)
    }

    /// A client for `base` presenting `token`.
    pub(crate) fn with_token(
        args: &RemoteArgs,
        base: Url,
        token: Option<SecretString>,
    ) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(args.ca_cert.as_deref())?)
            .timeout(TIMEOUT)
            .user_agent(concat!("rampart-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure::new(code::OTHER, format!("HTTP client: {e}")))?;
        Ok(Self { http, base, token })
    }

    /// The URL of `segments` under the base (each one escaped).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// One request; the answer's JSON (`null` for an empty body), or the failure it stands for.
    pub(crate) async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
                    Failure::new(
                        code::USAGE,
                        "the credential holds characters a header cannot carry",
                    )
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !(200..300).contains(&status) {
            let failure = Failure::from_response(status, &bytes);
            return Err(if status == 401 && self.token.is_none() {
                failure.with_hint(
                    "no credential: set RAMPART_TOKEN, pass --token-file, or run `rampart login`",
                )
            } else {
                failure
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::new(code::OTHER, format!("the server's answer is not JSON: {e}")))
    }

    /// `GET`.
    pub(crate) async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Value, Failure> {
        self.call(Method::GET, segments, query, None).await
    }

    /// Every item of a cursor-paginated list, up to `limit` (`None`: all), and the cursor
    /// where it stopped (`None` at the end).
    pub(crate) async fn list(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        limit: Option<usize>,
    ) -> Result<(Vec<Value>, Option<String>), Failure> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = limit.map_or(1000, |l| l.saturating_sub(items.len()).clamp(1, 1000));
            let mut params = query.to_vec();
            params.push(("limit", page.to_string()));
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.clone()));
            }
            let answer = self.get(segments, &params).await?;
            let got = super::output::at(&answer, "items")
                .as_array()
                .cloned()
                .unwrap_or_default();
            let got_any = !got.is_empty();
            items.extend(got);
            cursor = super::output::at(&answer, "next_cursor")
                .as_str()
                .map(str::to_owned);
            if let Some(limit) = limit
                && items.len() >= limit
            {
                items.truncate(limit);
                return Ok((items, cursor));
            }
            if cursor.is_none() || !got_any {
                return Ok((items, None));
            }
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> Failure {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        let code = if error.is_connect() || error.is_timeout() || error.is_request() {
            code::CONNECTION
        } else {
            code::OTHER
        };
        Failure::new(
            code,
            format!("cannot reach the server at {}: {text}", self.base),
        )
    }
}
