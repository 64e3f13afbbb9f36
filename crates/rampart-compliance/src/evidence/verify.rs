//! Checking a package offline (`rampart compliance verify PACKAGE.zip`): the manifest's
//! signature, every member against the manifest, the report's own signature, the audit export
//! as the audit verifier checks it, and that the report, the export and the checkpoint all
//! speak of one tree size and root.

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use rampart_audit::{LogVerifier, verifier_from_key_text};
use serde::Serialize;
use serde_json::Value;

use super::read::{Contents, read_archive};
use super::{
    AUDIT_EXPORT, CHECKPOINT, CONFIGURATION, MANIFEST, MAX_MEMBERS, PACKAGE_FORMAT, PUBLIC_KEYS,
    REPORT, REQUIRED_MEMBERS, name_problem,
};

/// Export problems listed one by one; the rest are counted.
const MAX_EXPORT_PROBLEMS: usize = 20;

/// The verdict on one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberCheck {
    /// Its name (quoted when it is not a valid member name).
    pub name: String,
    /// Whether nothing is wrong with it.
    pub ok: bool,
    /// What is wrong with it, when something is (several problems joined by "; ").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Where the key that checked the signatures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The key given by the caller (`--public-key`): the signatures prove who made the package.
    Given,
    /// The package's own `public-keys.json`: the signatures prove the package is intact and
    /// consistent, not who made it (anyone can sign with a key of their own and ship it).
    Package,
    /// No usable key: no signature could be checked.
    None,
}

/// The verdict on a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageVerification {
    /// Everything checked out (no problem at all).
    pub ok: bool,
    /// Every member found in the archive, in order, then every member missing from it.
    pub members: Vec<MemberCheck>,
    /// Every problem, each naming the member it is about ("the zip archive" when it is about
    /// the whole, "the public key given" when about the key).
    pub problems: Vec<String>,
    /// Where the key came from.
    pub key_source: KeySource,
    /// What a reader should know that is not a problem (where the key came from).
    pub notes: Vec<String>,
    /// The report's id, when `report.json` could be read.
    pub report_id: Option<String>,
    /// The report's framework, when `report.json` could be read.
    pub framework: Option<String>,
    /// The tree size the report covers, when `report.json` could be read.
    pub tree_size: Option<u64>,
    /// The root hash at that size (hex), when `report.json` could be read.
    pub root_hash: Option<String>,
}

/// Problems as they are found, by member.
#[derive(Default)]
pub(super) struct Check {
    problems: Vec<String>,
    by_member: Vec<(String, Vec<String>)>,
}

impl Check {
    /// A problem with member `name`.
    pub(super) fn member(&mut self, name: &str, problem: impl Into<String>) {
        let problem = problem.into();
        self.problems.push(format!("{name}: {problem}"));
        match self.by_member.iter_mut().find(|(n, _)| n == name) {
            Some((_, list)) => list.push(problem),
            None => self.by_member.push((name.to_owned(), vec![problem])),
        }
    }

    /// A problem with the archive as a whole.
    pub(super) fn archive(&mut self, problem: impl Into<String>) {
        self.problems
            .push(format!("the zip archive: {}", problem.into()));
    }

    fn of(&self, name: &str) -> Option<String> {
        self.by_member
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, list)| list.join("; "))
    }
}

/// The audit key, as text (for the export verifier) and parsed.
struct AuditKey {
    text: String,
    verifier: LogVerifier,
}

impl AuditKey {
    fn parse(text: &str) -> Result<Self, String> {
        verifier_from_key_text(text)
            .map(|verifier| Self {
                text: text.trim().to_owned(),
                verifier,
            })
            .map_err(|e| e.to_string())
    }

    /// The verifier for a checkpoint note: a raw key carries no name, so it is named as the
    /// note's signature line whose key id matches.
    fn for_note(&self, note: &str) -> Option<LogVerifier> {
        if self.verifier.name.is_empty() {
            LogVerifier::for_raw_key(self.verifier.public_key, note)
        } else {
            Some(self.verifier.clone())
        }
    }
}

/// What `report.json` says of itself.
#[derive(Default)]
struct ReportFacts {
    id: Option<String>,
    framework: Option<String>,
    from_seq: Option<u64>,
    tree_size: Option<u64>,
    root_hash: Option<String>,
}

/// Checks the evidence package `zip_bytes`. Signatures are checked with `public_key` (as
/// `rampart audit verify --public-key` takes it: the `verifier_key` string or the
/// `public_key_b64` of `GET /v1/audit/public-key`) or, without one, with the audit key in the
/// package's own `public-keys.json` (which proves integrity, not origin: see
/// [`KeySource::Package`]). Never panics; every problem names its member.
pub fn verify_package(zip_bytes: &[u8], public_key: Option<&str>) -> PackageVerification {
    verify_package_reader(std::io::Cursor::new(zip_bytes), public_key)
}

/// Checks the evidence package read from `zip` (a file: `BufReader<File>`) as
/// [`verify_package`] does, without holding the archive: members are inflated as they are
/// checked, and only the documents (each at most
/// [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES)) are held. A read error is a problem of
/// the archive or of the member being read.
pub fn verify_package_reader<R: Read + Seek>(
    zip: R,
    public_key: Option<&str>,
) -> PackageVerification {
    let mut check = Check::default();
    let Some(contents) = read_archive(zip, &mut check) else {
        // Nothing in it can be trusted to say what it holds: only the archive is blamed.
        return PackageVerification {
            ok: false,
            members: Vec::new(),
            problems: check.problems,
            key_source: if public_key.is_some() {
                KeySource::Given
            } else {
                KeySource::None
            },
            notes: Vec::new(),
            report_id: None,
            framework: None,
            tree_size: None,
            root_hash: None,
        };
    };
    let documents = &contents.documents;
    let json = |name: &str, check: &mut Check| -> Option<Value> {
        let bytes = documents.get(name)?;
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) if value.is_object() => Some(value),
            Ok(_) => {
                check.member(name, "is not a JSON object");
                None
            }
            Err(e) => {
                check.member(name, format!("is not valid JSON ({e})"));
                None
            }
        }
    };

    let public_keys = json(PUBLIC_KEYS, &mut check);
    let (key, key_source, notes) = choose_key(public_key, public_keys.as_ref(), &mut check);
    let manifest = json(MANIFEST, &mut check);
    let listed = check_manifest(manifest.as_ref(), &contents, key.as_ref(), &mut check);
    report_missing(&contents, &listed, &mut check);

    let report = json(REPORT, &mut check)
        .map(|report| check_report(&report, manifest.as_ref(), key.as_ref(), &mut check))
        .unwrap_or_default();
    let export_end = contents
        .export
        .map(|(verifier, first)| check_export(verifier, first, &report, key.as_ref(), &mut check));
    check_checkpoint(
        documents.get(CHECKPOINT),
        &report,
        export_end.as_ref(),
        key.as_ref(),
        &mut check,
    );
    // The configuration is covered by the manifest; it must at least be a JSON object.
    let _ = json(CONFIGURATION, &mut check);

    let mut members: Vec<MemberCheck> = Vec::new();
    let mut named = BTreeSet::new();
    for name in contents
        .present
        .iter()
        .chain(check.by_member.iter().map(|(n, _)| n))
    {
        if named.insert(name.clone()) {
            let problem = check.of(name);
            members.push(MemberCheck {
                name: name.clone(),
                ok: problem.is_none(),
                problem,
            });
        }
    }
    PackageVerification {
        ok: check.problems.is_empty() && key.is_some(),
        members,
        problems: check.problems,
        key_source,
        notes,
        report_id: report.id,
        framework: report.framework,
        tree_size: report.tree_size,
        root_hash: report.root_hash,
    }
}

/// The key given, else the package's own; a problem when neither is usable, or when the
/// package names a key other than the one given.
fn choose_key(
    given: Option<&str>,
    public_keys: Option<&Value>,
    check: &mut Check,
) -> (Option<AuditKey>, KeySource, Vec<String>) {
    let packaged = public_keys.map(package_key);
    if let Some(Err(problem)) = &packaged {
        check.member(PUBLIC_KEYS, problem.clone());
    }
    let packaged = packaged.and_then(Result::ok);
    let Some(text) = given else {
        let note = "the signatures were checked with the audit key in the package's own public-keys.json: this proves the package is intact and consistent, not who made it; give the key of GET /v1/audit/public-key (--public-key) to prove its origin";
        let notes = packaged.as_ref().map(|_| vec![note.to_owned()]);
        let source = if packaged.is_some() {
            KeySource::Package
        } else {
            check.member(
                PUBLIC_KEYS,
                "no usable audit key, and none was given: no signature can be checked",
            );
            KeySource::None
        };
        return (packaged, source, notes.unwrap_or_default());
    };
    match AuditKey::parse(text) {
        Ok(key) => {
            if let Some(packaged) = &packaged
                && packaged.verifier.public_key != key.verifier.public_key
            {
                check.member(
                    PUBLIC_KEYS,
                    "its audit_log key is not the public key given (the package names another signer)",
                );
            }
            (Some(key), KeySource::Given, Vec::new())
        }
        Err(e) => {
            check
                .problems
                .push(format!("the public key given: it is not usable ({e})"));
            (None, KeySource::Given, Vec::new())
        }
    }
}

/// The audit key of `public-keys.json`: `audit_log.verifier_key` and/or
/// `audit_log.public_key_b64`, the same key when both are given.
fn package_key(doc: &Value) -> Result<AuditKey, String> {
    let audit = doc
        .get("audit_log")
        .and_then(Value::as_object)
        .ok_or("has no audit_log object")?;
    let parse = |field: &str| -> Result<Option<AuditKey>, String> {
        match audit.get(field) {
            None => Ok(None),
            Some(Value::String(text)) => AuditKey::parse(text)
                .map(Some)
                .map_err(|e| format!("audit_log.{field} is not a usable key ({e})")),
            Some(_) => Err(format!("audit_log.{field} is not a string")),
        }
    };
    match (parse("verifier_key")?, parse("public_key_b64")?) {
        (Some(a), Some(b)) if a.verifier.public_key != b.verifier.public_key => {
            Err("audit_log.verifier_key and audit_log.public_key_b64 are different keys".into())
        }
        (Some(key), _) | (None, Some(key)) => Ok(key),
        (None, None) => Err("audit_log has neither verifier_key nor public_key_b64".into()),
    }
}

/// Checks the manifest's form and signature and every member against it; returns the names
/// it lists.
fn check_manifest(
    manifest: Option<&Value>,
    contents: &Contents,
    key: Option<&AuditKey>,
    check: &mut Check,
) -> BTreeSet<String> {
    let mut listed = BTreeSet::new();
    let Some(manifest) = manifest else {
        return listed;
    };
    match key {
        Some(key) => {
            if let Err(e) = key.verifier.verify_document(manifest) {
                check.member(MANIFEST, format!("its signature does not verify ({e})"));
            }
        }
        None => check.member(MANIFEST, "its signature was not checked: no usable key"),
    }
    if manifest.get("format").and_then(Value::as_str) != Some(PACKAGE_FORMAT) {
        check.member(MANIFEST, format!("its format is not {PACKAGE_FORMAT:?}"));
    }
    for field in ["report_id", "framework", "created_at"] {
        if !manifest.get(field).is_some_and(Value::is_string) {
            check.member(MANIFEST, format!("its {field} is missing or not a string"));
        }
    }
    let Some(files) = manifest.get("files").and_then(Value::as_array) else {
        check.member(MANIFEST, "its files list is missing or not a list");
        return listed;
    };
    if files.len() >= MAX_MEMBERS {
        check.member(
            MANIFEST,
            format!("lists {} files, more than a package may hold", files.len()),
        );
        return listed;
    }
    for (index, file) in files.iter().enumerate() {
        let name = file.get("name").and_then(Value::as_str);
        let sha256 = file.get("sha256").and_then(Value::as_str);
        let size = file.get("size").and_then(Value::as_u64);
        let (Some(name), Some(sha256), Some(size)) = (name, sha256, size) else {
            check.member(
                MANIFEST,
                format!("files[{index}] is not {{\"name\", \"sha256\", \"size\"}}"),
            );
            continue;
        };
        if name_problem(name).is_some() || name == MANIFEST {
            check.member(
                MANIFEST,
                format!("files[{index}] names {name:?}, which no member may be"),
            );
            continue;
        }
        if !listed.insert(name.to_owned()) {
            check.member(MANIFEST, format!("lists {name} twice"));
            continue;
        }
        if let Some((digest, actual)) = contents.digests.get(name) {
            if *actual != size {
                check.member(
                    name,
                    format!("holds {actual} bytes, the manifest says {size} (changed)"),
                );
            } else if !digest.eq_ignore_ascii_case(sha256) {
                check.member(name, "its SHA-256 differs from the manifest's (changed)");
            }
        }
    }
    for name in contents.digests.keys() {
        if name != MANIFEST && !listed.contains(name) {
            check.member(name, "is not listed in the manifest (added)");
        }
    }
    listed
}

/// Every member a package holds, or its manifest lists, that is not in the archive.
fn report_missing(contents: &Contents, listed: &BTreeSet<String>, check: &mut Check) {
    let present: BTreeSet<&str> = contents.present.iter().map(String::as_str).collect();
    let expected = std::iter::once(MANIFEST)
        .chain(REQUIRED_MEMBERS)
        .chain(listed.iter().map(String::as_str))
        .collect::<BTreeSet<_>>();
    for name in expected.into_iter().filter(|n| !present.contains(n)) {
        let problem = if listed.contains(name) {
            "missing from the package (the manifest lists it)"
        } else {
            "missing from the package"
        };
        check.member(name, problem);
    }
}

/// Checks the report's own signature and that it is the report the manifest names.
fn check_report(
    report: &Value,
    manifest: Option<&Value>,
    key: Option<&AuditKey>,
    check: &mut Check,
) -> ReportFacts {
    match key {
        Some(key) => {
            if let Err(e) = key.verifier.verify_document(report) {
                check.member(REPORT, format!("its signature does not verify ({e})"));
            }
        }
        None => check.member(REPORT, "its signature was not checked: no usable key"),
    }
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let audit = report.get("audit");
    let facts = ReportFacts {
        id: text(report.get("id")),
        framework: text(report.get("framework")),
        from_seq: audit
            .and_then(|a| a.get("from_seq"))
            .and_then(Value::as_u64),
        tree_size: audit
            .and_then(|a| a.get("tree_size"))
            .and_then(Value::as_u64),
        root_hash: text(audit.and_then(|a| a.get("root_hash"))),
    };
    if facts.tree_size.is_none() || facts.root_hash.is_none() || facts.from_seq.is_none() {
        check.member(
            REPORT,
            "its audit period (audit.from_seq, audit.tree_size, audit.root_hash) is missing or malformed",
        );
    }
    if let Some(manifest) = manifest {
        for (field, own, what) in [
            ("report_id", &facts.id, "id"),
            ("framework", &facts.framework, "framework"),
        ] {
            let named = text(manifest.get(field));
            if named.is_some() && named != *own {
                check.member(MANIFEST, format!("its {field} is not report.json's {what}"));
            }
        }
    }
    facts
}

/// Finishes the audit export's verification with the key and checks that it covers the
/// report's period; returns where it ends (tree size and root).
fn check_export(
    verifier: rampart_audit::Verifier,
    first_seq: Option<u64>,
    report: &ReportFacts,
    key: Option<&AuditKey>,
    check: &mut Check,
) -> (u64, String) {
    let verdict = match key {
        Some(key) => verifier.finish_with_key_text(Some(&key.text)),
        None => verifier.finish(None),
    };
    let total = verdict.problems.len();
    for problem in verdict.problems.iter().take(MAX_EXPORT_PROBLEMS) {
        let place = match (problem.line, problem.seq) {
            (Some(line), Some(seq)) => format!("line {line} (seq {seq}): "),
            (Some(line), None) => format!("line {line}: "),
            (None, Some(seq)) => format!("seq {seq}: "),
            (None, None) => String::new(),
        };
        check.member(AUDIT_EXPORT, format!("{place}{}", problem.problem));
    }
    if total > MAX_EXPORT_PROBLEMS {
        check.member(
            AUDIT_EXPORT,
            format!("and {} more problems", total - MAX_EXPORT_PROBLEMS),
        );
    }
    if let (Some(size), Some(root)) = (report.tree_size, &report.root_hash)
        && (verdict.tree_size != size || !verdict.root_hash.eq_ignore_ascii_case(root))
    {
        check.member(
            AUDIT_EXPORT,
            format!(
                "ends at tree size {} with root {}, but report.json's period ends at tree size {size} with root {root}",
                verdict.tree_size, verdict.root_hash
            ),
        );
    }
    if let (Some(from), Some(first)) = (report.from_seq, first_seq)
        && from != first
    {
        check.member(
            AUDIT_EXPORT,
            format!("starts at seq {first}, but report.json's period starts at seq {from}"),
        );
    }
    (verdict.tree_size, verdict.root_hash)
}

/// Checks the checkpoint note's signature and that it is for the report's (else the
/// export's) tree size and root.
fn check_checkpoint(
    note: Option<&Vec<u8>>,
    report: &ReportFacts,
    export_end: Option<&(u64, String)>,
    key: Option<&AuditKey>,
    check: &mut Check,
) {
    let Some(note) = note else {
        return;
    };
    let Ok(note) = std::str::from_utf8(note) else {
        check.member(CHECKPOINT, "is not UTF-8 text");
        return;
    };
    let Some(key) = key else {
        check.member(CHECKPOINT, "its signature was not checked: no usable key");
        return;
    };
    let Some(verifier) = key.for_note(note) else {
        check.member(CHECKPOINT, "it carries no signature by the audit key");
        return;
    };
    let signed = match verifier.verify_note(note) {
        Ok(signed) => signed,
        Err(e) => {
            check.member(CHECKPOINT, format!("is not a valid signed note ({e})"));
            return;
        }
    };
    let root = rampart_audit::tree::to_hex(&signed.root_hash);
    let expected = match (report.tree_size, &report.root_hash) {
        (Some(size), Some(root)) => Some((size, root.clone(), "report.json's period")),
        _ => export_end.map(|(size, root)| (*size, root.clone(), "the audit export")),
    };
    if let Some((size, expected_root, what)) = expected
        && (signed.tree_size != size || !root.eq_ignore_ascii_case(&expected_root))
    {
        check.member(
            CHECKPOINT,
            format!(
                "is for tree size {} with root {root}, but {what} ends at tree size {size} with root {expected_root}",
                signed.tree_size
            ),
        );
    }
}
