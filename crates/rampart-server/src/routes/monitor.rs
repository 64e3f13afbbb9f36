//! Security monitoring (API.md "Security monitoring, alerts and incidents"): detection rules,
//! alerts, silences and webhooks here, incidents in `monitor/incidents.rs`, the OpenAPI shapes in
//! `monitor/schema.rs`. Handlers parse, check the permission, call `MonitorService` and map the
//! result; every change is audited.

mod incidents;
mod schema;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_app::monitor::{MonitorError, alert_json, rfc3339};
use rampart_monitor::{
    AlertFilter, AlertStatus, Delivery, Invalid, RuleSet, Severity, Silence, SilenceDocument,
    Webhook, WebhookDocument,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::problem::ApiError;
use crate::state::AppState;

pub(crate) use schema::*;

/// Reads a body as the domain's document, a `422` naming the field where it does not fit (a
/// required field left out by its own name), never quoting what was sent.
pub(crate) fn document<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let (_, field) =
            crate::http::deserialize::describe(e.path(), &e.inner().to_string(), "body");
        ApiError::validation(vec![field])
    })
}

/// A monitoring error as an answer.
pub(crate) fn failed(error: MonitorError) -> ApiError {
    match error {
        MonitorError::Invalid(invalid) => ApiError::refused_document(&invalid),
        MonitorError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
        MonitorError::FromFile => ApiError::conflict(
            "the detection rules come from the detection_rules_file setting; change that file (and restart) instead",
        ),
        MonitorError::Conflict(message) => ApiError::conflict(message),
        other => ApiError::internal(&other),
    }
}

/// The principal's name, as monitoring records who did what.
pub(crate) fn actor(caller: &Caller) -> String {
    caller.principal().name.clone()
}

async fn rules_in_force(state: &AppState) -> Result<Value, ApiError> {
    let rules = state.monitor().rules().await.map_err(failed)?;
    let document =
        serde_json::to_value(rules.rules.to_document()).map_err(|e| ApiError::internal(&e))?;
    Ok(json!({
        "rules": document.get("rules").cloned().unwrap_or(Value::Array(Vec::new())),
        "source": rules.source.as_str(),
        "version": rules.version,
    }))
}

/// The detection rules in force and where they come from.
#[utoipa::path(get, path = "/v1/detection-rules", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, description = "The rules in force", body = DetectionRulesInForce)))]
pub async fn get_detection_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityManage>(&state.policy())?;
    Ok(Json(rules_in_force(&state).await?))
}

/// Replaces the detection rules (the evaluator uses them from its next step).
#[utoipa::path(put, path = "/v1/detection-rules", tag = "monitoring", security(("bearer" = [])),
    request_body = DetectionRulesBody,
    responses((status = 200, description = "The rules now in force", body = DetectionRulesInForce),
        (status = 409, description = "The rules come from detection_rules_file, or changed meanwhile", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule is invalid (the field is named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_detection_rules(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note(
        "security.detection_rules.update",
        "detection_rules",
        "rules",
    );
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let mut expected = None;
    if let Some(map) = body.as_object_mut() {
        map.remove("source");
        if let Some(version) = map.remove("version") {
            expected = version.as_u64();
        }
    }
    let rules =
        RuleSet::parse_json(&body.to_string()).map_err(|e| ApiError::refused_document(&e))?;
    let (before, after) = state
        .monitor()
        .replace_rules(rules, expected, OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.detail("version", after.version);
    audit.detail("before", json!(before.rules.to_document()));
    audit.detail("after", json!(after.rules.to_document()));
    Ok(Json(rules_in_force(&state).await?))
}

/// `GET /v1/alerts`' filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// `open`, `acknowledged` or `resolved`.
    #[param(value_type = Option<String>)]
    pub status: Option<AlertStatus>,
    /// `low`, `medium`, `high` or `critical`.
    #[param(value_type = Option<String>)]
    pub severity: Option<Severity>,
    /// A rule's name.
    pub rule: Option<String>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// Alerts, newest first.
#[utoipa::path(get, path = "/v1/alerts", tag = "monitoring", security(("bearer" = [])), params(AlertQuery),
    responses((status = 200, description = "The alerts", body = AlertList)))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AlertQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    let alerts = state
        .monitor()
        .alerts(AlertFilter {
            status: query.status,
            severity: query.severity,
            rule: query.rule,
            limit: query.limit.unwrap_or(100),
        })
        .await
        .map_err(failed)?;
    let items: Vec<Value> = alerts.iter().map(alert_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// One alert.
#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses((status = 200, description = "The alert", body = AlertBody),
        (status = 404, description = "No such alert", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    let alert = state.monitor().alert(&id).await.map_err(failed)?;
    Ok(Json(alert_json(&alert)))
}

/// Acknowledges an open alert.
#[utoipa::path(post, path = "/v1/alerts/{id}/acknowledge", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    responses((status = 200, description = "The alert, acknowledged", body = AlertBody),
        (status = 404, description = "No such alert", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The alert is not open", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn acknowledge_alert(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    audit.note("alert.acknowledge", "alert", &id);
    caller.require::<perm::AlertsAcknowledge>(&state.policy())?;
    let alert = state
        .monitor()
        .acknowledge_alert(&id, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.detail("rule", alert.rule.clone());
    Ok(Json(alert_json(&alert)))
}

/// `POST /v1/alerts/{id}/resolve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveAlert {
    #[serde(default)]
    note: Option<String>,
}

/// Resolves an alert (a later match opens a new one).
#[utoipa::path(post, path = "/v1/alerts/{id}/resolve", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The alert's id")),
    request_body = ResolveAlertBody,
    responses((status = 200, description = "The alert, resolved", body = AlertBody),
        (status = 404, description = "No such alert", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The alert is already resolved", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The note is invalid", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn resolve_alert(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    audit.note("alert.resolve", "alert", &id);
    caller.require::<perm::AlertsAcknowledge>(&state.policy())?;
    // The body is optional: no note.
    let body: ResolveAlert = if body.iter().all(u8::is_ascii_whitespace) {
        ResolveAlert::default()
    } else {
        let value: Value = serde_json::from_slice(&body).map_err(|_| {
            ApiError::refused_document(&Invalid::Unreadable {
                path: String::new(),
                message: String::new(),
            })
        })?;
        document(value)?
    };
    let alert = state
        .monitor()
        .resolve_alert(
            &id,
            &actor(&caller),
            body.note.as_deref(),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(failed)?;
    audit.detail("rule", alert.rule.clone());
    Ok(Json(alert_json(&alert)))
}

fn silence_json(silence: &Silence) -> Value {
    json!({
        "id": silence.id,
        "rule": silence.rule,
        "group": silence.group,
        "until": rfc3339(silence.until),
        "reason": silence.reason,
        "created_by": silence.created_by,
        "created_at": rfc3339(silence.created_at),
    })
}

/// Silences an alert rule (optionally one group) until a time: alerts are still recorded,
/// no notification is sent.
#[utoipa::path(post, path = "/v1/silences", tag = "monitoring", security(("bearer" = [])),
    request_body = NewSilenceBody,
    responses((status = 201, description = "The silence", body = SilenceBody),
        (status = 422, description = "A field is invalid (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("silence.create", "silence", "new");
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let body: SilenceDocument = document(body)?;
    let silence = state
        .monitor()
        .silence(&body, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.note("silence.create", "silence", &silence.id);
    audit.detail("rule", silence.rule.clone());
    audit.detail("until", rfc3339(silence.until));
    Ok((StatusCode::CREATED, Json(silence_json(&silence))))
}

/// Every silence.
#[utoipa::path(get, path = "/v1/silences", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, description = "The silences", body = SilenceList)))]
pub async fn list_silences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    let silences = state.monitor().silences().await.map_err(failed)?;
    let items: Vec<Value> = silences.iter().map(silence_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// Removes a silence.
#[utoipa::path(delete, path = "/v1/silences/{id}", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The silence's id")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such silence", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn delete_silence(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("silence.delete", "silence", &id);
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let silence = state.monitor().delete_silence(&id).await.map_err(failed)?;
    audit.detail("rule", silence.rule);
    Ok(StatusCode::NO_CONTENT)
}

fn webhook_json(webhook: &Webhook) -> Value {
    json!({
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "description": webhook.description,
        "created_by": webhook.created_by,
        "created_at": rfc3339(webhook.created_at),
    })
}

fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id,
        "event": delivery.event.as_str(),
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "next_attempt_at": delivery.next_attempt_at.map(rfc3339),
        "created_at": rfc3339(delivery.created_at),
    })
}

/// Registers a webhook; its signing secret is in this answer only.
#[utoipa::path(post, path = "/v1/webhooks", tag = "monitoring", security(("bearer" = [])),
    request_body = NewWebhookBody,
    responses((status = 201, description = "The webhook and its secret (shown once)", body = CreatedWebhookBody),
        (status = 422, description = "A field is invalid (named), e.g. a URL that reaches a private address", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("webhook.create", "webhook", "new");
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let body: WebhookDocument = document(body)?;
    let created = state
        .monitor()
        .create_webhook(&body, &actor(&caller), OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.note("webhook.create", "webhook", &created.webhook.id);
    audit.detail(
        "events",
        json!(
            created
                .webhook
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
        ),
    );
    let mut answer = webhook_json(&created.webhook);
    if let Some(map) = answer.as_object_mut() {
        map.insert(
            "secret".to_owned(),
            Value::String(created.secret.to_string()),
        );
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Every webhook (never their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, description = "The webhooks", body = WebhookList)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let webhooks = state.monitor().webhooks().await.map_err(failed)?;
    let items: Vec<Value> = webhooks.iter().map(webhook_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// One webhook.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 200, description = "The webhook", body = WebhookBody),
        (status = 404, description = "No such webhook", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let webhook = state.monitor().webhook(&id).await.map_err(failed)?;
    Ok(Json(webhook_json(&webhook)))
}

/// Removes a webhook and its pending deliveries.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 204, description = "Removed"),
        (status = 404, description = "No such webhook", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("webhook.delete", "webhook", &id);
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let webhook = state.monitor().delete_webhook(&id).await.map_err(failed)?;
    audit.detail("url", webhook.url);
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 200, description = "The deliveries", body = DeliveryList),
        (status = 404, description = "No such webhook", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let deliveries = state.monitor().deliveries(&id).await.map_err(failed)?;
    let items: Vec<Value> = deliveries.iter().map(delivery_json).collect();
    Ok(Json(json!({ "items": items })))
}

/// Sends a delivery again (its attempts start over).
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "monitoring", security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id"),
        ("delivery_id" = String, Path, description = "The delivery's id")),
    responses((status = 202, description = "Queued again", body = DeliveryBody),
        (status = 404, description = "No such delivery", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("webhook.delivery.retry", "webhook_delivery", &delivery_id);
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let delivery = state
        .monitor()
        .retry_delivery(&id, &delivery_id, OffsetDateTime::now_utc())
        .await
        .map_err(failed)?;
    audit.detail("webhook_id", id);
    Ok((StatusCode::ACCEPTED, Json(delivery_json(&delivery))))
}

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_detection_rules, put_detection_rules))
        .routes(routes!(list_alerts))
        .routes(routes!(get_alert))
        .routes(routes!(acknowledge_alert))
        .routes(routes!(resolve_alert))
        .routes(routes!(list_silences, create_silence))
        .routes(routes!(delete_silence))
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
        .merge(incidents::routes())
}
