//! Writing a package: the members in the order given, then the signed manifest. The same
//! input gives the same bytes (fixed timestamps and permissions, deterministic deflate),
//! whether the members come as bytes, files or readers: [`write_package`] streams each member
//! into the zip in chunks, hashing and counting it on the way, so only the manifest is held.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{
    MANIFEST, MAX_DOCUMENT_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, Member, PACKAGE_FORMAT,
    PackageError, REQUIRED_MEMBERS, hex, is_document, name_problem,
};

/// Bytes read from a member and written to the zip at a time.
const CHUNK: usize = 64 * 1024;

/// From this many bytes a member is written as zip64 (`large_file`): deflate may make
/// incompressible data slightly larger (5 bytes per 64 KiB stored block), and a member whose
/// compressed or inflated size reaches 4 GiB needs zip64 declared before its data.
const ZIP64_FROM: u64 = zip::ZIP64_BYTES_THR - (16 << 20);

/// Where a member's content comes from.
pub enum MemberContent {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A file, read from its start to its end (its length then is the member's size).
    File(File),
    /// A reader, read to its end.
    Reader {
        /// The content.
        reader: Box<dyn Read + Send>,
        /// How many bytes it gives, when known. It only decides whether the member is written
        /// as zip64 (unknown: it is); a reader giving 4 GiB or more after a hint below that
        /// fails the package.
        size_hint: Option<u64>,
    },
}

/// One member of a package to write: its name in the zip and where its content comes from.
pub struct MemberSource {
    /// Its name: a relative path of plain components (no `..`, not absolute).
    pub name: String,
    /// Its content.
    pub content: MemberContent,
}

impl MemberSource {
    /// A member held in memory.
    pub fn bytes(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            content: MemberContent::Bytes(bytes),
        }
    }

    /// A member read from `file`, from its start to its end.
    pub fn file(name: impl Into<String>, file: File) -> Self {
        Self {
            name: name.into(),
            content: MemberContent::File(file),
        }
    }

    /// A member read from `reader` to its end; `size_hint` is how many bytes it gives, when
    /// known (see [`MemberContent::Reader`]).
    pub fn reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
        size_hint: Option<u64>,
    ) -> Self {
        Self {
            name: name.into(),
            content: MemberContent::Reader {
                reader: Box::new(reader),
                size_hint,
            },
        }
    }
}

impl From<Member> for MemberSource {
    fn from(member: Member) -> Self {
        Self::bytes(member.name, member.bytes)
    }
}

impl std::fmt::Debug for MemberSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.content {
            MemberContent::Bytes(bytes) => {
                write!(f, "MemberSource({:?}, {} bytes)", self.name, bytes.len())
            }
            MemberContent::File(_) => write!(f, "MemberSource({:?}, a file)", self.name),
            MemberContent::Reader { size_hint, .. } => {
                write!(
                    f,
                    "MemberSource({:?}, a reader of {size_hint:?} bytes)",
                    self.name
                )
            }
        }
    }
}

/// Builds the evidence package of report `report_id` (of `framework`, made at `created_at`)
/// in memory: [`write_package`] into a `Vec`, with the same checks and the same bytes. For
/// small packages (tests); a server streams with [`write_package`].
pub fn build_package(
    report_id: &str,
    framework: &str,
    created_at: &str,
    members: Vec<Member>,
    sign: impl FnOnce(&mut Value) -> Result<(), rampart_audit::SignedDocumentError>,
) -> Result<Vec<u8>, PackageError> {
    let members = members.into_iter().map(MemberSource::from).collect();
    let out = write_package(
        io::Cursor::new(Vec::new()),
        report_id,
        framework,
        created_at,
        members,
        sign,
    )?;
    Ok(out.into_inner())
}

/// Writes the evidence package of report `report_id` (of `framework`, made at `created_at`)
/// to `out` and gives it back (positioned at the package's end): a zip of `members` in
/// order, each copied in chunks while its SHA-256 and size are computed, then `manifest.json`
/// (`{"format", "report_id", "framework", "created_at", "files": [{"name", "sha256", "size"}],
/// "signature_b64"}`) signed by `sign` as a signed document (`LogSigner::sign_document` or
/// `AuditLog::sign_document`: the audit log's key). Memory stays constant but for the
/// members given as bytes and the manifest.
///
/// Refuses what [`verify_package`](super::verify_package) would refuse: invalid, duplicate
/// or missing names, too many members, and too many bytes (members of known size are checked
/// before anything is written; every member's bytes are counted again as they are copied).
/// On an error, `out` holds a partial zip and is dropped.
pub fn write_package<W: Write + Seek>(
    out: W,
    report_id: &str,
    framework: &str,
    created_at: &str,
    mut members: Vec<MemberSource>,
    sign: impl FnOnce(&mut Value) -> Result<(), rampart_audit::SignedDocumentError>,
) -> Result<W, PackageError> {
    let sizes = members
        .iter_mut()
        .map(known_size)
        .collect::<Result<Vec<_>, _>>()?;
    let named: Vec<(&str, Option<u64>)> = members
        .iter()
        .zip(&sizes)
        .map(|(m, size)| (m.name.as_str(), *size))
        .collect();
    check_members(&named)?;

    let mut zip = ZipWriter::new(BufWriter::with_capacity(CHUNK, out));
    let mut total = 0u64;
    let mut files = Vec::with_capacity(members.len());
    for (member, size) in members.into_iter().zip(sizes) {
        let MemberSource { name, content } = member;
        let (mut reader, hint): (Box<dyn Read>, Option<u64>) = match content {
            MemberContent::Bytes(bytes) => (Box::new(io::Cursor::new(bytes)), size),
            MemberContent::File(file) => (Box::new(file), size),
            MemberContent::Reader { reader, size_hint } => (reader, size_hint),
        };
        start(&mut zip, &name, hint)?;
        let (digest, size) = copy_member(&mut zip, &name, &mut reader, &mut total)?;
        files.push(json!({"name": name, "sha256": digest, "size": size}));
    }

    let mut manifest = json!({
        "format": PACKAGE_FORMAT,
        "report_id": report_id,
        "framework": framework,
        "created_at": created_at,
        "files": files,
    });
    sign(&mut manifest)?;
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Zip(e.to_string()))?;
    manifest_bytes.push(b'\n');
    start(&mut zip, MANIFEST, u64::try_from(manifest_bytes.len()).ok())?;
    for chunk in manifest_bytes.chunks(CHUNK) {
        zip.write_all(chunk).map_err(write_error)?;
    }
    let buffered = zip.finish().map_err(zip_error)?;
    buffered
        .into_inner()
        .map_err(|e| PackageError::Zip(e.error().to_string()))
}

/// The size of a member known before it is read (bytes, a file's length), rewinding a file.
fn known_size(member: &mut MemberSource) -> Result<Option<u64>, PackageError> {
    let unreadable = |error| PackageError::Read {
        name: member.name.clone(),
        error,
    };
    match &mut member.content {
        MemberContent::Bytes(bytes) => Ok(u64::try_from(bytes.len()).ok()),
        MemberContent::File(file) => {
            file.rewind().map_err(unreadable)?;
            file.metadata().map(|m| Some(m.len())).map_err(unreadable)
        }
        MemberContent::Reader { .. } => Ok(None),
    }
}

/// Starts member `name` in `zip`: deflated, fixed time and permissions, zip64 when its size
/// (`hint`) may reach 4 GiB or is not known.
fn start<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    name: &str,
    hint: Option<u64>,
) -> Result<(), PackageError> {
    let large = hint.is_none_or(|size| size >= ZIP64_FROM);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644)
        .large_file(large);
    zip.start_file(name, options).map_err(zip_error)
}

/// Copies `reader` into the member just started, in whole [`CHUNK`]s (see [`fill`]): its
/// SHA-256 (hex) and size, its bytes counted against its own limit and the package's
/// (`total`, the bytes copied so far).
fn copy_member<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    name: &str,
    reader: &mut dyn Read,
    total: &mut u64,
) -> Result<(String, u64), PackageError> {
    let limit = if is_document(name) {
        MAX_DOCUMENT_BYTES
    } else {
        MAX_TOTAL_BYTES
    };
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = fill(reader, &mut buffer).map_err(|error| PackageError::Read {
            name: name.to_owned(),
            error,
        })?;
        if n == 0 {
            break;
        }
        let chunk = buffer.get(..n).unwrap_or_default();
        let counted = u64::try_from(n).unwrap_or(u64::MAX);
        size = size.saturating_add(counted);
        *total = total.saturating_add(counted);
        if size > limit || *total > MAX_TOTAL_BYTES {
            return Err(PackageError::TooLarge(name.to_owned()));
        }
        digest.update(chunk);
        zip.write_all(chunk).map_err(write_error)?;
        if n < CHUNK {
            break;
        }
    }
    Ok((hex(digest.finish().as_ref()), size))
}

/// Reads from `reader` until `buffer` is full or the reader ends: how many bytes were read.
/// Deflate's output depends on how its input is split, so every member is fed in whole
/// [`CHUNK`]s, whatever its source and however its reader splits it: the package's bytes
/// depend on the members' content alone.
fn fill(reader: &mut dyn Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buffer.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn zip_error(e: zip::result::ZipError) -> PackageError {
    PackageError::Zip(e.to_string())
}

fn write_error(e: io::Error) -> PackageError {
    PackageError::Zip(e.to_string())
}

/// The checks made before anything is written, over each member's name and size when known
/// (unknown sizes are counted as the member is copied).
fn check_members(members: &[(&str, Option<u64>)]) -> Result<(), PackageError> {
    let count = members.len().saturating_add(1);
    if count > MAX_MEMBERS {
        return Err(PackageError::TooManyMembers(count));
    }
    let mut names = BTreeSet::new();
    let mut total = 0u64;
    for (name, size) in members {
        if let Some(problem) = name_problem(name) {
            return Err(PackageError::InvalidName {
                name: (*name).to_owned(),
                problem,
            });
        }
        if *name == MANIFEST {
            return Err(PackageError::ReservedName);
        }
        if !names.insert(*name) {
            return Err(PackageError::DuplicateName((*name).to_owned()));
        }
        let size = size.unwrap_or(0);
        total = total.saturating_add(size);
        let document_too_large = is_document(name) && size > MAX_DOCUMENT_BYTES;
        if total > MAX_TOTAL_BYTES || document_too_large {
            return Err(PackageError::TooLarge((*name).to_owned()));
        }
    }
    match REQUIRED_MEMBERS.into_iter().find(|r| !names.contains(r)) {
        Some(missing) => Err(PackageError::MissingMember(missing)),
        None => Ok(()),
    }
}
