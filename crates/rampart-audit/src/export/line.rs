//! The lines of an export: how each kind is written and parsed.
//!
//! An entry's line is its canonical JSON with `leaf_hash` added; a withheld entry's line
//! (another team's, under team isolation) and a pruned entry's line (its body deleted under
//! retention) carry only `seq` and the leaf hash, so the tree still verifies without them; the
//! last line is the trailer. A line is recognised by its keys: an entry never has `pruned`,
//! `withheld` or `checkpoint` (its fields are fixed), so no line can pass for another kind.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ExportLine, MAX_LINE_BYTES, TrailerLine};
use crate::entry::Entry;
use crate::tree::{Hash, from_hex, to_hex};

/// The line of a withheld entry: `{"seq":N,"withheld":true,"leaf_hash":"hex"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithheldLine {
    seq: u64,
    withheld: bool,
    leaf_hash: String,
}

/// The export line of an entry withheld from the reader (see [`ExportLine::Withheld`]).
pub fn withheld_line(seq: u64, leaf: &Hash) -> String {
    format!(
        "{{\"seq\":{seq},\"withheld\":true,\"leaf_hash\":\"{}\"}}",
        to_hex(leaf)
    )
}

/// How [`pruned_line`] starts and goes on, in RFC 8785 key order.
const PRUNED_PREFIX: &str = "{\"leaf_hash\":\"";
const PRUNED_MIDDLE: &str = "\",\"pruned\":true,\"seq\":";

/// The export line of an entry pruned under retention (see [`ExportLine::Pruned`]):
/// `{"leaf_hash":"hex","pruned":true,"seq":N}`, its keys in RFC 8785 order like every line.
pub fn pruned_line(seq: u64, leaf: &Hash) -> String {
    format!("{PRUNED_PREFIX}{}{PRUNED_MIDDLE}{seq}}}", to_hex(leaf))
}

/// A pruned line exactly as [`pruned_line`] writes it, without building a JSON value.
fn parse_exact_pruned(line: &str) -> Option<ExportLine> {
    let rest = line.strip_prefix(PRUNED_PREFIX)?;
    let (hex, rest) = (rest.get(..64)?, rest.get(64..)?);
    let digits = rest.strip_prefix(PRUNED_MIDDLE)?.strip_suffix('}')?;
    // Canonical integers only (no sign, no leading zero): anything else takes the slow path.
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    Some(ExportLine::Pruned {
        seq: digits.parse().ok()?,
        leaf: from_hex(hex)?,
    })
}

/// A pruned line in any key order: exactly `seq`, `leaf_hash` and `"pruned": true`. Anything
/// more would be content a verifier cannot check, so it is refused rather than ignored.
fn pruned_from_object(object: &Map<String, Value>) -> Result<ExportLine, String> {
    if object
        .keys()
        .any(|k| !matches!(k.as_str(), "seq" | "leaf_hash" | "pruned"))
    {
        return Err(
            "malformed pruned line: it may hold only seq, leaf_hash and \"pruned\": true, and holds more"
                .to_owned(),
        );
    }
    if object.get("pruned") != Some(&Value::Bool(true)) {
        return Err("malformed pruned line: \"pruned\" must be true".to_owned());
    }
    let seq = object
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| "malformed pruned line: seq must be a non-negative integer".to_owned())?;
    let leaf = object
        .get("leaf_hash")
        .and_then(Value::as_str)
        .and_then(from_hex)
        .ok_or_else(|| "malformed pruned line: leaf_hash must be 64 hex digits".to_owned())?;
    Ok(ExportLine::Pruned { seq, leaf })
}

/// `,"leaf_hash":"` + 64 hex digits + `"}`: how [`entry_line`] ends a line.
const LEAF_PREFIX: &str = ",\"leaf_hash\":\"";
const LEAF_SUFFIX_LEN: usize = LEAF_PREFIX.len() + 64 + 2;

#[derive(Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Lines as Rampart writes them: the canonical body with `leaf_hash` appended. The body bytes
/// are then the leaf input as they stand, and only `seq` needs parsing. A canonical entry
/// starts with `action`, the first of its keys in RFC 8785 order: other lines go the slow way.
fn parse_exact_line(line: &str) -> Option<ExportLine> {
    if !line.starts_with("{\"action\":") {
        return None;
    }
    let split = line.len().checked_sub(LEAF_SUFFIX_LEN)?;
    let (head, tail) = (line.get(..split)?, line.get(split..)?);
    let hex = tail.strip_prefix(LEAF_PREFIX)?.strip_suffix("\"}")?;
    let claimed_leaf = from_hex(hex)?;
    let mut canonical = Vec::with_capacity(split + 1);
    canonical.extend_from_slice(head.as_bytes());
    canonical.push(b'}');
    let SeqOnly { seq } = serde_json::from_slice(&canonical).ok()?;
    Some(ExportLine::Entry {
        seq,
        canonical,
        claimed_leaf,
    })
}

/// Parses one line. Errors describe the line's problem without echoing its content.
pub fn parse_line(line: &str) -> Result<ExportLine, String> {
    if line.len() > MAX_LINE_BYTES {
        return Err(format!("line longer than {MAX_LINE_BYTES} bytes"));
    }
    if let Some(parsed) = parse_exact_pruned(line) {
        return Ok(parsed);
    }
    if line.starts_with("{\"seq\":") {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("malformed withheld line ({})", e.classify_str()))?;
        if let Some(object) = value.as_object().filter(|o| o.contains_key("pruned")) {
            return pruned_from_object(object);
        }
        let withheld: WithheldLine = serde_json::from_value(value)
            .map_err(|_| "malformed withheld line (unexpected data)".to_owned())?;
        let leaf = from_hex(&withheld.leaf_hash)
            .filter(|_| withheld.withheld)
            .ok_or_else(|| "malformed withheld line (leaf_hash)".to_owned())?;
        return Ok(ExportLine::Withheld {
            seq: withheld.seq,
            leaf,
        });
    }
    if let Some(parsed) = parse_exact_line(line) {
        return Ok(parsed);
    }
    let mut value: Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON ({})", e.classify_str()))?;
    let Some(object) = value.as_object_mut() else {
        return Err("not a JSON object".to_owned());
    };
    if object.contains_key("pruned") {
        return pruned_from_object(object);
    }
    if object.contains_key("checkpoint") {
        return serde_json::from_value::<TrailerLine>(value)
            .map(ExportLine::Trailer)
            .map_err(|e| format!("malformed checkpoint line: {e}"));
    }
    let claimed = object
        .remove("leaf_hash")
        .and_then(|v| v.as_str().and_then(from_hex))
        .ok_or_else(|| "entry without a valid leaf_hash".to_owned())?;
    if crate::entry::depth(&value) > crate::entry::MAX_DEPTH + 4 {
        return Err("entry nested too deeply".to_owned());
    }
    let entry: Entry =
        serde_json::from_value(value.clone()).map_err(|e| format!("not an audit entry: {e}"))?;
    let canonical = serde_json_canonicalizer::to_vec(&value)
        .map_err(|e| format!("cannot canonicalize: {e}"))?;
    Ok(ExportLine::Entry {
        seq: entry.seq,
        canonical,
        claimed_leaf: claimed,
    })
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// The export line of a stored entry: its canonical JSON with `leaf_hash` added.
pub fn entry_line(body: &str, leaf: &Hash) -> String {
    let trimmed = body.trim_end();
    match trimmed.strip_suffix('}') {
        Some(open) if open.len() > 1 => format!("{open},\"leaf_hash\":\"{}\"}}", to_hex(leaf)),
        _ => format!("{{\"leaf_hash\":\"{}\"}}", to_hex(leaf)),
    }
}
