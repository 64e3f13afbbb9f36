//! Redaction of one JSON text without building a tree: a strict scanner copies the input through
//! and rewrites only the string (and long integer) values that hold something, and the values
//! under sensitive keys. JSON without personal data comes out byte for byte as it went in.
//! Anything that is not valid JSON makes it give up, and the caller redacts the line as text.

use std::collections::BTreeMap;

use crate::keys::is_sensitive_key;
use crate::redact::Redactor;
use crate::types::PiiType;

/// Deepest nesting accepted (as serde_json's parser).
const MAX_DEPTH: usize = 128;

pub(crate) struct Scanner<'a> {
    redactor: &'a Redactor,
    input: &'a str,
    bytes: &'a [u8],
    at: usize,
    out: Vec<u8>,
    pub(crate) counts: BTreeMap<&'static str, u64>,
    /// Inside a value under a sensitive key: only validate and skip, never detect.
    skipping: bool,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(redactor: &'a Redactor, input: &'a str) -> Self {
        Self {
            redactor,
            input,
            bytes: input.as_bytes(),
            at: 0,
            out: Vec::with_capacity(input.len() + 64),
            counts: BTreeMap::new(),
            skipping: false,
        }
    }

    /// The redacted JSON text, or `None` when the input is not one valid JSON value.
    pub(crate) fn run(mut self) -> Option<(Vec<u8>, BTreeMap<&'static str, u64>)> {
        self.whitespace();
        self.value(0, false)?;
        self.whitespace();
        (self.at == self.bytes.len()).then_some((self.out, self.counts))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn copy(&mut self, from: usize) {
        self.out
            .extend_from_slice(self.bytes.get(from..self.at).unwrap_or_default());
    }

    fn whitespace(&mut self) {
        let start = self.at;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
        self.copy(start);
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| {
            self.at += 1;
            self.out.push(byte);
        })
    }

    /// Parses a value; under a sensitive key the whole (non-null) value is the finding.
    fn value(&mut self, depth: usize, sensitive: bool) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        if sensitive && !self.skipping && self.peek() != Some(b'n') {
            return self.sensitive_value(depth);
        }
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (start, end, escaped) = self.string_token()?;
                self.rewrite_string(start, end, escaped)
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => {
                let start = self.at;
                let integer = self.number()?;
                let text = self.input.get(start..self.at)?;
                if integer && text.len() >= 7 && !self.skipping {
                    self.rewrite_text(text, start, self.at)
                } else {
                    self.out.extend_from_slice(text.as_bytes());
                    Some(())
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.expect(b'{')?;
        self.whitespace();
        if self.peek() == Some(b'}') {
            return self.expect(b'}');
        }
        loop {
            let (start, end, escaped) = self.string_token()?;
            self.copy(start);
            let raw = self.input.get(start + 1..end - 1)?;
            let sensitive = if escaped {
                serde_json::from_str::<String>(self.input.get(start..end)?)
                    .ok()
                    .is_some_and(|k| is_sensitive_key(&k))
            } else {
                is_sensitive_key(raw)
            };
            self.whitespace();
            self.expect(b':')?;
            self.whitespace();
            self.value(depth + 1, sensitive)?;
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.expect(b',')?;
                    self.whitespace();
                }
                b'}' => return self.expect(b'}'),
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.expect(b'[')?;
        self.whitespace();
        if self.peek() == Some(b']') {
            return self.expect(b']');
        }
        loop {
            self.value(depth + 1, false)?;
            self.whitespace();
            match self.peek()? {
                b',' => {
                    self.expect(b',')?;
                    self.whitespace();
                }
                b']' => return self.expect(b']'),
                _ => return None,
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        (self.input.get(self.at..end)? == word).then(|| {
            self.at = end;
            self.out.extend_from_slice(word.as_bytes());
        })
    }

    /// Scans a JSON number (strict grammar); true when it is an integer.
    fn number(&mut self) -> Option<bool> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.at += 1;
                }
            }
            _ => return None,
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.at += 1;
            let digits = self.at;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.at += 1;
            }
            if self.at == digits {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            let digits = self.at;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.at += 1;
            }
            if self.at == digits {
                return None;
            }
        }
        (self.at > start).then_some(integer)
    }

    /// Scans a string token; returns `(start, end, has_escapes)` with the quotes included.
    fn string_token(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return None;
        }
        self.at += 1;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some((start, self.at, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                byte if byte < 0x20 => return None,
                _ => self.at += 1,
            }
        }
    }

    fn rewrite_string(&mut self, start: usize, end: usize, escaped: bool) -> Option<()> {
        let token = self.input.get(start..end)?;
        if self.skipping {
            return Some(());
        }
        if escaped {
            let content: String = serde_json::from_str(token).ok()?;
            return self.rewrite_text(&content, start, end);
        }
        let content = self.input.get(start + 1..end - 1)?;
        // Nothing shorter than the loopback address `::1` is personal data.
        if content.len() < 3 {
            self.out.extend_from_slice(token.as_bytes());
            return Some(());
        }
        self.rewrite_text(content, start, end)
    }

    /// Detects in `content`; writes the redacted JSON string, or the original token `start..end`.
    fn rewrite_text(&mut self, content: &str, start: usize, end: usize) -> Option<()> {
        let original = self.bytes.get(start..end)?;
        match self.redactor.redact_for_stream(content) {
            Some((redacted, kinds)) => {
                self.count(&kinds);
                let _ = serde_json::to_writer(&mut self.out, &redacted);
            }
            None => self.out.extend_from_slice(original),
        }
        Some(())
    }

    fn count(&mut self, kinds: &[PiiType]) {
        for kind in kinds {
            *self.counts.entry(kind.as_str()).or_default() += 1;
        }
    }

    /// A value under a sensitive key: parsed on its own (objects and arrays too) and replaced.
    fn sensitive_value(&mut self, depth: usize) -> Option<()> {
        let start = self.at;
        let mark = self.out.len();
        self.skipping = true;
        let scanned = self.value(depth, false);
        self.skipping = false;
        scanned?;
        self.out.truncate(mark);
        let raw = self.input.get(start..self.at)?;
        let value: serde_json::Value = serde_json::from_str(raw).ok()?;
        let replaced = self.redactor.sensitive_for_stream(&value);
        *self
            .counts
            .entry(PiiType::SensitiveKey.as_str())
            .or_default() += 1;
        let _ = serde_json::to_writer(&mut self.out, &replaced);
        Some(())
    }
}
