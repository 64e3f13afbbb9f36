//! A failed command that knows its exit code; `main` prints it and exits with the code.

use serde_json::Value;

use super::output::at;

/// Exit codes by kind of failure (see `rampart --help`).
pub(crate) mod code {
    /// Anything not listed below.
    pub(crate) const OTHER: u8 = 1;
    /// Bad arguments (clap's own exits use it too).
    pub(crate) const USAGE: u8 = 2;
    /// The server could not be reached.
    pub(crate) const CONNECTION: u8 = 3;
    /// 401: no credential, or one the server does not accept.
    pub(crate) const UNAUTHENTICATED: u8 = 4;
    /// 403: the credential lacks the permission.
    pub(crate) const FORBIDDEN: u8 = 5;
    /// 404.
    pub(crate) const NOT_FOUND: u8 = 6;
    /// 400, 413, 422: the input was refused.
    pub(crate) const INVALID: u8 = 7;
    /// 409.
    pub(crate) const CONFLICT: u8 = 8;
    /// 429 or 423: rate limited, or an account locked.
    pub(crate) const LIMITED: u8 = 9;
    /// 5xx.
    pub(crate) const SERVER: u8 = 10;
}

/// A failure with its exit code; its text is printed after `error: `.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The process's exit code.
    pub(crate) code: u8,
    message: String,
}

impl Failure {
    /// A failure of kind `code` saying `message`.
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The exit code of an HTTP error status.
    pub(crate) fn code_of_status(status: u16) -> u8 {
        match status {
            401 => code::UNAUTHENTICATED,
            403 => code::FORBIDDEN,
            404 => code::NOT_FOUND,
            400 | 413 | 422 => code::INVALID,
            409 => code::CONFLICT,
            423 | 429 => code::LIMITED,
            500..=599 => code::SERVER,
            _ => code::OTHER,
        }
    }

    /// The failure an error response stands for: `<title>: <detail>` and one line per field
    /// error of its problem details, or the status and the start of a body that is not one.
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        let code = Self::code_of_status(status);
        let Ok(problem) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            let message = if text.is_empty() {
                format!("the server answered {status}")
            } else {
                format!("the server answered {status}: {text}")
            };
            return Self::new(code, message);
        };
        let title = at(&problem, "title").as_str().unwrap_or("request failed");
        let mut message = match at(&problem, "detail").as_str() {
            Some(detail) if !detail.is_empty() && detail != title => format!("{title}: {detail}"),
            _ => title.to_owned(),
        };
        for error in at(&problem, "errors").as_array().into_iter().flatten() {
            let field = error["field"].as_str().unwrap_or("-");
            let text = error["message"].as_str().unwrap_or("");
            message.push_str(&format!("\n  {field}: {text}"));
        }
        let failure = Self::new(code, message);
        let kind = at(&problem, "type").as_str().unwrap_or("");
        if kind.ends_with("/mfa-required") {
            failure.with_hint("pass the current code of the authenticator app with --totp CODE")
        } else {
            failure
        }
    }

    /// Adds a hint line.
    pub(crate) fn with_hint(mut self, hint: &str) -> Self {
        self.message.push_str("\n  hint: ");
        self.message.push_str(hint);
        self
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn problem_details_print_title_detail_and_fields() {
        let body = br#"{"type":"x","title":"Invalid request","status":422,"detail":"bad name","errors":[{"field":"name","message":"too long"}]}"#;
        let failure = Failure::from_response(422, body);
        assert_eq!(failure.code, code::INVALID);
        assert_eq!(
            failure.to_string(),
            "Invalid request: bad name\n  name: too long"
        );
    }

    #[test]
    fn statuses_map_to_exit_codes() {
        let cases = [
            (401, 4),
            (403, 5),
            (404, 6),
            (400, 7),
            (422, 7),
            (409, 8),
            (423, 9),
            (429, 9),
            (500, 10),
            (503, 10),
            (418, 1),
        ];
        for (status, wanted) in cases {
            assert_eq!(Failure::code_of_status(status), wanted, "{status}");
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_cut_short() {
        let body = "x".repeat(1000);
        let failure = Failure::from_response(502, body.as_bytes());
        assert_eq!(failure.code, code::SERVER);
        assert!(failure.to_string().len() < 250);
    }
}
