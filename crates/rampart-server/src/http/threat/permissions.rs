//! The permission each route requires, for rate-limit rules that match permissions (the brake
//! on `keys:decrypt`, `cards:detokenize`, `audit:export`): rules run before the handler, which
//! is where the permission is checked, so the edge keeps this table. A test holds it to the
//! OpenAPI document: every operation is here or listed as needing no single permission.

use std::collections::HashMap;
use std::sync::LazyLock;

use foldhash::fast::RandomState;

/// `(method, route template, permission)` of every route that requires one permission.
const ROUTE_PERMISSIONS: &[(&str, &str, &str)] = &[
    ("POST", "/v1/api-keys", "api_keys:manage"),
    ("POST", "/v1/audit/entries", "audit:write"),
    ("GET", "/v1/audit/entries", "audit:read"),
    ("GET", "/v1/audit/entries/{seq}", "audit:read"),
    ("GET", "/v1/audit/checkpoint", "audit:read"),
    ("GET", "/v1/audit/proofs/inclusion", "audit:read"),
    ("GET", "/v1/audit/proofs/consistency", "audit:read"),
    ("POST", "/v1/audit/verify", "audit:read"),
    ("GET", "/v1/audit/export", "audit:export"),
    ("POST", "/v1/authorize", "authz:check"),
    ("GET", "/v1/policy", "roles:manage"),
    ("PUT", "/v1/policy", "roles:manage"),
    ("POST", "/v1/cards/tokenize", "cards:tokenize"),
    ("POST", "/v1/cards/detokenize", "cards:detokenize"),
    ("POST", "/v1/documents/encrypt", "keys:encrypt"),
    ("POST", "/v1/documents/decrypt", "sensitive_data:decrypt"),
    ("POST", "/v1/principals", "users:manage"),
    ("PATCH", "/v1/principals/{id}", "users:manage"),
    ("DELETE", "/v1/principals/{id}", "users:manage"),
    ("POST", "/v1/principals/{id}/unlock", "users:manage"),
    ("DELETE", "/v1/principals/{id}/totp", "users:manage"),
    ("POST", "/v1/keys/{name}/encrypt", "keys:encrypt"),
    ("POST", "/v1/keys/{name}/decrypt", "keys:decrypt"),
    ("POST", "/v1/keys/{name}/rewrap", "keys:encrypt"),
    ("POST", "/v1/keys/{name}/hmac", "keys:encrypt"),
    ("POST", "/v1/keys/{name}/verify-hmac", "keys:encrypt"),
    ("POST", "/v1/keys/{name}/sign", "keys:encrypt"),
    ("POST", "/v1/keys/{name}/verify", "keys:encrypt"),
    ("POST", "/v1/keys", "keys:manage"),
    ("GET", "/v1/keys", "keys:read"),
    ("GET", "/v1/keys/{name}", "keys:read"),
    ("POST", "/v1/keys/{name}/rotate", "keys:manage"),
    ("PATCH", "/v1/keys/{name}", "keys:manage"),
    ("POST", "/v1/redact", "privacy:redact"),
    ("POST", "/v1/detect", "privacy:redact"),
    ("POST", "/v1/auth/introspect", "authz:check"),
    ("GET", "/v1/rate-limits", "security:read"),
    ("PUT", "/v1/rate-limits", "security:manage"),
    ("GET", "/v1/ip-rules", "security:read"),
    ("PUT", "/v1/ip-rules", "security:manage"),
    ("GET", "/v1/blocks", "security:read"),
    ("POST", "/v1/blocks", "security:manage"),
    ("DELETE", "/v1/blocks/{address}", "security:manage"),
    ("GET", "/v1/detection-rules", "security:manage"),
    ("PUT", "/v1/detection-rules", "security:manage"),
    ("GET", "/v1/alerts", "security:read"),
    ("GET", "/v1/alerts/{id}", "security:read"),
    ("POST", "/v1/alerts/{id}/acknowledge", "alerts:acknowledge"),
    ("POST", "/v1/alerts/{id}/resolve", "alerts:acknowledge"),
    ("GET", "/v1/silences", "security:read"),
    ("POST", "/v1/silences", "security:manage"),
    ("DELETE", "/v1/silences/{id}", "security:manage"),
    ("GET", "/v1/webhooks", "security:manage"),
    ("POST", "/v1/webhooks", "security:manage"),
    ("GET", "/v1/webhooks/{id}", "security:manage"),
    ("DELETE", "/v1/webhooks/{id}", "security:manage"),
    ("GET", "/v1/webhooks/{id}/deliveries", "security:manage"),
    (
        "POST",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
        "security:manage",
    ),
    ("GET", "/v1/incidents", "incidents:read"),
    ("POST", "/v1/incidents", "incidents:manage"),
    ("GET", "/v1/incidents/{id}", "incidents:read"),
    ("POST", "/v1/incidents/{id}/timeline", "incidents:manage"),
    ("POST", "/v1/incidents/{id}/acknowledge", "incidents:manage"),
    ("POST", "/v1/incidents/{id}/resolve", "incidents:manage"),
    ("GET", "/v1/incidents/{id}/evidence", "incidents:read"),
    ("POST", "/v1/subjects/{id}/consents", "gdpr:manage"),
    ("GET", "/v1/subjects/{id}/consents", "gdpr:read"),
    ("GET", "/v1/consents", "gdpr:read"),
    ("GET", "/v1/subjects/{id}/export", "gdpr:read"),
    ("POST", "/v1/subjects/{id}/erasure", "gdpr:manage"),
    ("GET", "/v1/erasures", "gdpr:read"),
    ("GET", "/v1/erasures/{id}", "gdpr:read"),
    ("POST", "/v1/erasures/{id}/confirmations", "gdpr:manage"),
    ("POST", "/v1/legal-holds", "retention:configure"),
    ("GET", "/v1/legal-holds", "retention:configure"),
    ("DELETE", "/v1/legal-holds/{id}", "retention:configure"),
    ("GET", "/v1/retention/policies", "retention:configure"),
    (
        "PUT",
        "/v1/retention/policies/{data_type}",
        "retention:configure",
    ),
    (
        "DELETE",
        "/v1/retention/policies/{data_type}",
        "retention:configure",
    ),
    ("POST", "/v1/retention/run", "retention:configure"),
    ("GET", "/v1/retention/runs/{id}", "retention:configure"),
    (
        "POST",
        "/v1/retention/runs/{id}/confirmations",
        "retention:configure",
    ),
    ("GET", "/v1/retention/certificates", "retention:configure"),
    ("PUT", "/v1/agents/{id}/guardrails", "agents:manage"),
    ("GET", "/v1/approvals", "actions:approve"),
    ("POST", "/v1/actions/{id}/approve", "actions:approve"),
    ("POST", "/v1/actions/verify-token", "agents:submit"),
    ("GET", "/v1/compliance/frameworks", "compliance:read"),
    ("POST", "/v1/compliance/reports", "compliance:manage"),
    ("GET", "/v1/compliance/reports", "compliance:read"),
    ("GET", "/v1/compliance/reports/{id}", "compliance:read"),
    (
        "GET",
        "/v1/compliance/reports/{id}/evidence",
        "compliance:read",
    ),
    ("POST", "/v1/compliance/waivers", "compliance:manage"),
    ("GET", "/v1/compliance/waivers", "compliance:read"),
    ("DELETE", "/v1/compliance/waivers/{id}", "compliance:manage"),
    (
        "GET",
        "/v1/compliance/controls/{framework}/{control}/history",
        "compliance:read",
    ),
];

/// Routes that require no single permission: public ones, and those whose handler decides
/// by who the caller is (its own keys, its own principal, its own second factor).
#[cfg(test)]
const NO_SINGLE_PERMISSION: &[(&str, &str)] = &[
    ("GET", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{id}"),
    ("POST", "/v1/api-keys/{id}/rotate"),
    ("GET", "/v1/audit/public-key"),
    ("GET", "/v1/auth/whoami"),
    ("GET", "/v1/principals"),
    ("GET", "/v1/principals/{id}"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/logout"),
    ("GET", "/v1/health"),
    ("GET", "/v1/health/live"),
    ("GET", "/v1/health/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("POST", "/v1/principals/{id}/totp"),
    ("POST", "/v1/principals/{id}/totp/confirm"),
    // The agent itself, or a permission.
    ("GET", "/v1/agents/{id}/guardrails"),
    ("POST", "/v1/agents/{id}/actions"),
    ("GET", "/v1/actions"),
    ("GET", "/v1/actions/{id}"),
    ("POST", "/v1/actions/{id}/reject"),
    ("POST", "/v1/actions/{id}/result"),
    ("POST", "/v1/actions/{id}/token"),
    ("GET", "/v1/agents/token-key"),
];

/// Routes that read no credential at all (anyone may call them).
const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/health/live"),
    ("GET", "/v1/health/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/v1/audit/public-key"),
    ("GET", "/v1/agents/token-key"),
    ("POST", "/v1/auth/login"),
];

/// Whether `method route` reads no credential (a public route).
pub fn is_public(method: &str, route: &str) -> bool {
    PUBLIC_ROUTES.contains(&(method, route))
}

/// `(method, permission)` pairs of one route template.
type MethodPermissions = Vec<(&'static str, &'static str)>;

/// [`ROUTE_PERMISSIONS`] by route template, then method (asked on every counted request).
static BY_ROUTE: LazyLock<HashMap<&'static str, MethodPermissions, RandomState>> =
    LazyLock::new(|| {
        let mut by_route: HashMap<_, Vec<_>, RandomState> = HashMap::default();
        for (method, route, permission) in ROUTE_PERMISSIONS {
            by_route
                .entry(*route)
                .or_default()
                .push((*method, *permission));
        }
        by_route
    });

/// The permission the route `method route` (its template, as `MatchedPath` gives it) requires.
pub fn route_permission(method: &str, route: &str) -> Option<&'static str> {
    BY_ROUTE
        .get(route)?
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, permission)| *permission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[test]
    fn every_operation_is_in_the_table_or_needs_no_single_permission() {
        let (_, api) = crate::routes::api(1024).split_for_parts();
        let mut missing = Vec::new();
        for (path, item) in &api.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if operation.is_none() {
                    continue;
                }
                let known = route_permission(method, path).is_some()
                    || NO_SINGLE_PERMISSION.contains(&(method, path.as_str()));
                if !known {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(missing.is_empty(), "routes without an entry: {missing:?}");
        let _ = crate::openapi::ApiDoc::openapi();
        for public in PUBLIC_ROUTES {
            assert!(
                NO_SINGLE_PERMISSION.contains(public),
                "{public:?} is public"
            );
        }
        for (method, route, _) in ROUTE_PERMISSIONS {
            assert!(
                !NO_SINGLE_PERMISSION.contains(&(method, route)),
                "{method} {route} is in both lists"
            );
        }
    }
}
