//! The streaming builder: members from files and readers (read in odd chunks) give the bytes
//! `build_package` gives; a member of unknown size is zip64 and verifies; an audit export far
//! past the in-memory limits, generated line by line and never held, streams into a package
//! that verifies from a file; limits are kept as bytes are copied.

use std::io::{BufReader, Read, Seek as _, Write as _};

use rampart_audit::checkpoint::Checkpoint;
use rampart_audit::export::{checkpoint_json, entry_line, trailer_line};
use rampart_audit::store::SignedCheckpoint;
use rampart_audit::tree::{CompactRange, leaf_hash, to_hex};

use super::super::*;
use super::fixture::*;
use crate::render::tests::sample_report;

/// Gives `bytes` at most `step` bytes per read.
struct Trickle {
    bytes: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.bytes[self.at..];
        let n = rest.len().min(self.step).min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(bytes: Vec<u8>, step: usize) -> Trickle {
    Trickle { bytes, at: 0, step }
}

fn temp_file_of(bytes: &[u8]) -> std::fs::File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    // Left at its end: the builder reads a file from its start.
    file
}

fn write_to_file(members: Vec<MemberSource>) -> Result<std::fs::File, PackageError> {
    let signer = signer(1);
    let id = sample_report().id;
    write_package(
        tempfile::tempfile().unwrap(),
        id.as_str(),
        "soc2",
        "2026-06-01T12:00:00Z",
        members,
        |m| signer.sign_document(m),
    )
}

fn read_back(mut file: std::fs::File) -> Vec<u8> {
    file.rewind().unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn files_and_readers_give_the_bytes_build_package_gives() {
    let members = members(&signer(1));
    let sizes: Vec<u64> = members.iter().map(|m| m.bytes.len() as u64).collect();
    let mut sources = Vec::new();
    for (index, member) in members.into_iter().enumerate() {
        let Member { name, bytes } = member;
        sources.push(match index {
            0 => MemberSource::bytes(name, bytes),
            1 => MemberSource::reader(name, trickle(bytes, 7), Some(sizes[index])),
            2 => MemberSource::file(name, temp_file_of(&bytes)),
            3 => MemberSource::reader(name, trickle(bytes, 1), Some(sizes[index])),
            _ => MemberSource::file(name, temp_file_of(&bytes)),
        });
    }
    let written = read_back(write_to_file(sources).unwrap());
    assert_eq!(
        written,
        package(),
        "streamed bytes differ from build_package's"
    );
    assert!(verify_package_reader(std::io::Cursor::new(&written), Some(&key())).ok);
}

#[test]
fn a_member_past_one_chunk_gives_the_same_bytes_however_it_is_read() {
    // Deflate's output depends on how its input is split: the builder feeds whole chunks.
    let mut big = Vec::new();
    for seq in 0..1000 {
        big.extend_from_slice(body(seq).as_bytes());
        big.push(b'\n');
    }
    assert!(big.len() > 3 * 64 * 1024);
    let with_big = |source: MemberSource| {
        let mut sources: Vec<MemberSource> = members(&signer(1))
            .into_iter()
            .map(MemberSource::from)
            .collect();
        sources.push(source);
        read_back(write_to_file(sources).unwrap())
    };
    let mut in_memory = members(&signer(1));
    in_memory.push(Member {
        name: "notes/big.ndjson".into(),
        bytes: big.clone(),
    });
    let built = build(&signer(1), in_memory);
    let len = Some(big.len() as u64);
    for source in [
        MemberSource::file("notes/big.ndjson", temp_file_of(&big)),
        MemberSource::reader("notes/big.ndjson", trickle(big.clone(), 7), len),
        MemberSource::reader("notes/big.ndjson", trickle(big.clone(), 100_000), len),
    ] {
        assert!(with_big(source) == built, "the bytes differ");
    }
    assert!(verify_package(&built, Some(&key())).ok);
}

#[test]
fn a_member_of_unknown_size_is_zip64_and_verifies() {
    let sources: Vec<MemberSource> = members(&signer(1))
        .into_iter()
        .map(|m| MemberSource::reader(m.name, trickle(m.bytes, 4096), None))
        .collect();
    let written = read_back(write_to_file(sources).unwrap());
    assert_ne!(written, package(), "zip64 headers are expected");
    assert_eq!(unzip(&written), unzip(package()));
    let verdict = verify_package(&written, Some(&key()));
    assert!(verdict.ok, "{verdict:#?}");
}

/// The body of entry `seq` of a generated log: canonical (keys in RFC 8785 order), about 400
/// bytes.
fn body(seq: u64) -> String {
    format!(
        concat!(
            r#"{{"action":"record.read","actor":{{"id":"clinician-{}","type":"user"}},"#,
            r#""details":{{"fields":["diagnosis","medication"],"reason":"treatment","row":"{:0>160}"}},"#,
            r#""id":"0193a6f2-0000-7000-8000-{:012x}","resource":{{"id":"r-{}","type":"patient_record"}},"#,
            r#""seq":{},"status":"success","timestamp":"2026-06-01T00:00:00.000000Z"}}"#
        ),
        seq % 50,
        seq,
        seq,
        seq,
        seq
    )
}

/// The export of a generated log of `entries` entries from seq 0, produced line by line as it
/// is read (never held), ending with `trailer`.
struct GeneratedExport {
    next: u64,
    entries: u64,
    trailer: Option<String>,
    line: Vec<u8>,
    at: usize,
    given: u64,
}

impl Read for GeneratedExport {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.line.len() {
            let text = if self.next < self.entries {
                let body = body(self.next);
                self.next += 1;
                entry_line(&body, &leaf_hash(body.as_bytes()))
            } else if let Some(trailer) = self.trailer.take() {
                trailer
            } else {
                return Ok(0);
            };
            self.line = text.into_bytes();
            self.line.push(b'\n');
            self.at = 0;
        }
        let n = (self.line.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        self.given += n as u64;
        Ok(n)
    }
}

#[test]
fn an_export_past_the_memory_limits_streams_and_verifies_from_a_file() {
    const GENERATED: u64 = 250_000;
    let signer = signer(1);
    let mut range = CompactRange::empty();
    for seq in 0..GENERATED {
        range.push(leaf_hash(body(seq).as_bytes()), |_| {});
    }
    let (note, signature) = signer.sign(&Checkpoint {
        origin: ORIGIN.into(),
        tree_size: GENERATED,
        root_hash: range.root(),
    });
    let signed = SignedCheckpoint {
        tree_size: GENERATED,
        root_hash: range.root(),
        timestamp: time::OffsetDateTime::from_unix_timestamp(1_780_000_100).unwrap(),
        note,
        signature,
    };
    let trailer = trailer_line(checkpoint_json(ORIGIN, &signed, &signer.verifier()), &[]).unwrap();
    let mut members = members_with(&signer, |r| {
        r.audit.from_seq = 0;
        r.audit.tree_size = GENERATED;
        r.audit.root_hash = to_hex(&signed.root_hash);
    });
    members[2].bytes = signed.note.clone().into_bytes();
    let mut sources: Vec<MemberSource> = members.into_iter().map(MemberSource::from).collect();
    let export = GeneratedExport {
        next: 0,
        entries: GENERATED,
        trailer: Some(trailer),
        line: Vec::new(),
        at: 0,
        given: 0,
    };
    sources[1] = MemberSource::reader(AUDIT_EXPORT, export, None);

    let file = write_to_file(sources).unwrap();
    let zip_len = file.metadata().unwrap().len();
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).unwrap();
    let exported = archive.by_name(AUDIT_EXPORT).unwrap().size();
    assert!(
        exported > MAX_DOCUMENT_BYTES + (32 << 20),
        "{exported} bytes exported"
    );
    assert!(zip_len < exported, "{zip_len} bytes zipped");
    let mut manifest = Vec::new();
    archive
        .by_name(MANIFEST)
        .unwrap()
        .read_to_end(&mut manifest)
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest["files"][1]["name"], AUDIT_EXPORT);
    assert_eq!(manifest["files"][1]["size"], exported);

    let mut file = archive.into_inner().into_inner();
    file.rewind().unwrap();
    let verdict = verify_package_reader(BufReader::new(file), Some(&key()));
    assert!(verdict.ok, "{verdict:#?}");
    assert_eq!(verdict.tree_size, Some(GENERATED));
}

#[test]
fn limits_are_kept_as_bytes_are_copied() {
    let signer_ = signer(1);
    let with = |index: usize, source: MemberSource| {
        let mut sources: Vec<MemberSource> = members(&signer_)
            .into_iter()
            .map(MemberSource::from)
            .collect();
        sources[index] = source;
        write_to_file(sources)
    };
    // A document member from a reader of unknown size, one byte past its limit.
    let over = std::io::repeat(b' ').take(MAX_DOCUMENT_BYTES + 1);
    let result = with(3, MemberSource::reader(CONFIGURATION, over, None));
    assert!(
        matches!(&result, Err(PackageError::TooLarge(name)) if name == CONFIGURATION),
        "{result:?}"
    );
    // A reader that fails names its member.
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    let result = with(1, MemberSource::reader(AUDIT_EXPORT, Failing, Some(10)));
    assert!(
        matches!(&result, Err(PackageError::Read { name, .. }) if name == AUDIT_EXPORT),
        "{result:?}"
    );
    // A document file over its limit is refused before anything is read.
    let big = tempfile::tempfile().unwrap();
    big.set_len(MAX_DOCUMENT_BYTES + 1).unwrap();
    let result = with(0, MemberSource::file(REPORT, big));
    assert!(
        matches!(&result, Err(PackageError::TooLarge(name)) if name == REPORT),
        "{result:?}"
    );
}
