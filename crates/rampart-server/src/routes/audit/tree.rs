//! The tree of the audit log: the signed checkpoint, the public key, inclusion and consistency
//! proofs, verification of the stored log, and the NDJSON export.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use rampart_access::perm;
use rampart_audit::export::checkpoint_json;
use rampart_audit::tree::to_hex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{field, number, visible_teams};
use crate::audit_export::export;
use crate::http::auth::Caller;
use crate::http::query::ApiQuery;
use crate::problem::ApiError;
use crate::state::AppState;

/// A signed tree head.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointBody {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// When it was signed.
    pub timestamp: String,
    /// The 4-byte C2SP key id, hex.
    pub key_id: String,
    /// Ed25519 signature of the note body, base64.
    pub signature_b64: String,
    /// The C2SP signed note.
    pub note: String,
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "The latest checkpoint", body = CheckpointBody)))]
pub async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CheckpointBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let log = state.audit();
    let signed = log
        .latest_checkpoint()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let c = checkpoint_json(log.origin(), &signed, log.verifier());
    Ok(Json(CheckpointBody {
        origin: c.origin,
        tree_size: c.tree_size,
        root_hash: c.root_hash,
        timestamp: c.timestamp,
        key_id: c.key_id,
        signature_b64: c.signature_b64,
        note: c.note,
    }))
}

/// The log's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyBody {
    /// The 4-byte C2SP key id, hex.
    pub key_id: String,
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// The raw 32-byte public key, base64.
    pub public_key_b64: String,
    /// The log's origin.
    pub origin: String,
    /// The C2SP note verifier key string.
    pub verifier_key: String,
}

/// The public key that verifies checkpoints; no authentication.
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    responses((status = 200, description = "The log's public key", body = PublicKeyBody)))]
pub async fn public_key(State(state): State<AppState>) -> Json<PublicKeyBody> {
    use base64::Engine as _;
    let log = state.audit();
    let key = log.verifier();
    Json(PublicKeyBody {
        key_id: key.key_id().iter().map(|b| format!("{b:02x}")).collect(),
        algorithm: "ed25519",
        public_key_b64: base64::engine::general_purpose::STANDARD.encode(key.public_key),
        origin: log.origin().to_owned(),
        verifier_key: key.verifier_key(),
    })
}

/// Query of the inclusion proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf.
    #[param(value_type = u64)]
    pub seq: String,
    /// The tree size (default: the current size).
    #[param(value_type = Option<u64>)]
    pub tree_size: Option<String>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofBody {
    /// The leaf.
    pub seq: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The leaf hash, hex.
    pub leaf_hash: String,
    /// The audit path, hex, leaf to root.
    pub hashes: Vec<String>,
}

/// The inclusion proof of an entry in a tree size (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionProofBody)))]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProofBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let mut errors = Vec::new();
    let seq = number(&mut errors, "seq", Some(&query.seq));
    let size = number(&mut errors, "tree_size", query.tree_size.as_ref());
    let (Some(seq), true) = (seq, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let proof = state.audit().prove_inclusion(seq, size).await?;
    Ok(Json(InclusionProofBody {
        seq: proof.seq,
        tree_size: proof.tree_size,
        leaf_hash: to_hex(&proof.leaf_hash),
        hashes: proof.hashes.iter().map(to_hex).collect(),
    }))
}

/// Query of the consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older size.
    #[param(value_type = u64)]
    pub from: String,
    /// The newer size (default: the current size).
    #[param(value_type = Option<u64>)]
    pub to: Option<String>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofBody {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof, hex.
    pub hashes: Vec<String>,
}

/// The consistency proof between two tree sizes (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProofBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let mut errors = Vec::new();
    let from = number(&mut errors, "from", Some(&query.from));
    let to = number(&mut errors, "to", query.to.as_ref());
    let (Some(from), true) = (from, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let proof = state.audit().prove_consistency(from, to).await?;
    Ok(Json(ConsistencyProofBody {
        from: proof.from,
        to: proof.to,
        hashes: proof.hashes.iter().map(to_hex).collect(),
    }))
}

/// One problem found by verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyProblemBody {
    /// The entry concerned, if one is.
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

/// The verdict of `POST /v1/audit/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyBody {
    /// Everything checked out.
    pub ok: bool,
    /// Entries stored.
    pub tree_size: u64,
    /// Root recomputed from the entries, hex.
    pub root_hash: String,
    /// Entries re-hashed: those after `from_tree_size`, pruned ones aside.
    pub checked_entries: u64,
    /// Entries pruned under retention among those after `from_tree_size`: their content is
    /// deleted, so their stored leaf hashes were taken as they are (the tree over them must
    /// still give the head and the checkpoint).
    pub pruned_entries: u64,
    /// Where re-hashing started: 0 for a full verification, else the tree size of the last
    /// verification that found the log intact (entries below it were not re-hashed; their
    /// tiles still had to give the root recorded then).
    pub from_tree_size: u64,
    /// What is wrong, first problem first.
    pub problems: Vec<VerifyProblemBody>,
}

/// Query of the verification.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// `true` re-hashes every entry; by default only the entries after the last verification
    /// that found the log intact are re-hashed.
    #[param(value_type = Option<bool>)]
    pub full: Option<String>,
}

/// Verifies the stored log. By default incrementally, from the last verification that found it
/// intact: the stored tiles and head must still give the root recorded at that size, then the
/// entries after it are re-hashed, the tree rebuilt from them and their tiles, and the head and
/// the latest checkpoint's signature checked. An entry edited below that size together with its
/// stored leaf hash (tiles left alone) is caught only by `full=true`, which re-hashes every
/// entry. An entry pruned under retention has no content left to re-hash: its stored leaf hash
/// is taken as it is, and counted in `pruned_entries`. A verification that finds the log intact
/// is recorded. It takes no request body: it verifies the stored log (an export file is
/// verified offline, by `rampart audit verify FILE`).
#[utoipa::path(post, path = "/v1/audit/verify", operation_id = "verify_audit_log", tag = "audit", security(("bearer" = [])),
    params(VerifyQuery),
    responses((status = 200, description = "The verdict (ok may be false)", body = VerifyBody)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Json<VerifyBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let full = match query.full.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![field(
                "full",
                "must be true or false",
            )]));
        }
    };
    let audit = state.audit();
    let verified = if full {
        audit.verify().await.map(|report| (report, 0))
    } else {
        audit
            .verify_since_last()
            .await
            .map(|v| (v.report, v.from_tree_size))
    };
    let (report, from_tree_size) = verified.map_err(|e| ApiError::internal(&e))?;
    Ok(Json(VerifyBody {
        ok: report.ok,
        tree_size: report.tree_size,
        root_hash: report.root_hash,
        checked_entries: report.checked_entries,
        pruned_entries: report.pruned_entries,
        from_tree_size,
        problems: report
            .problems
            .into_iter()
            .map(|p| VerifyProblemBody {
                seq: p.seq,
                problem: p.problem,
            })
            .collect(),
    }))
}

/// Query of the export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First seq (default 0).
    #[param(value_type = Option<u64>)]
    pub from_seq: Option<String>,
    /// Last seq, inclusive (default: the last entry).
    #[param(value_type = Option<u64>)]
    pub to_seq: Option<String>,
}

/// Streams entries as NDJSON, then a checkpoint line covering exactly the exported range.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "One entry (with `leaf_hash`), withheld entry ({\"seq\", \"withheld\": true, \"leaf_hash\"}) or pruned entry ({\"leaf_hash\", \"pruned\": true, \"seq\"}) per line, then {\"checkpoint\": ..., \"left_hashes\": [...]}", body = String, content_type = "application/x-ndjson")))]
pub async fn export_entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.require::<perm::AuditExport>(&state.policy())?;
    let mut errors = Vec::new();
    let from = number(&mut errors, "from_seq", query.from_seq.as_ref());
    let to = number(&mut errors, "to_seq", query.to_seq.as_ref());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (_, stream) = export(state.audit(), from, to, visible_teams(&state, &caller)).await?;
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// The tree's routes.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(public_key))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(verify))
        .routes(routes!(export_entries))
}
