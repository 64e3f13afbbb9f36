//! How an [`IdentityChange`] is written: its statements on an open transaction of either
//! backend, inside the audit append that records it (or `Store::apply`).

/// Inserts `$record` (an `ApiKeyRecord`) with `$rotated_from` on `$tx`, only while its principal
/// is enabled; evaluates to whether it was inserted (inside [`apply_change`]).
macro_rules! insert_api_key {
    ($tx:ident, $record:expr, $rotated_from:expr) => {{
        let record = $record;
        let rotated_from: Option<uuid::Uuid> = $rotated_from;
        sqlx::query(
            "INSERT INTO api_keys (id, principal_id, name, key_hash, scopes, created_at, expires_at, revoked_at,
                                   allowed_ips, rotated_from)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
             WHERE EXISTS (SELECT 1 FROM principals WHERE id = $2 AND disabled = FALSE)",
        )
        .bind(record.id.to_string())
        .bind(record.principal_id.to_string())
        .bind(&record.name)
        .bind(&record.hash.0)
        .bind(record.scopes.as_deref().map($crate::codec::list))
        .bind($crate::codec::micros(record.created_at)?)
        .bind(record.expires_at.map($crate::codec::micros).transpose()?)
        .bind(record.revoked_at.map($crate::codec::micros).transpose()?)
        .bind($crate::identity_change::nets_json_of(record.allowed_ips.as_ref()))
        .bind(rotated_from.map(|id| id.to_string()))
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1
    }};
}
pub(crate) use insert_api_key;

/// Applies the identity change `$change` (a `&IdentityChange`) on the open transaction `$tx`;
/// evaluates to `Result<bool, StoreError>`: `false` when its precondition does not hold.
macro_rules! apply_identity_change {
    ($tx:ident, $change:expr) => {
        async {
            use rampart_access::IdentityChange;
            use $crate::codec::{list, micros};
            let applied: bool = match $change {
                IdentityChange::CreatePrincipal { principal, password_hash } => {
                    let created = micros(principal.created_at)?;
                    sqlx::query(
                        "INSERT INTO principals (id, kind, name, email, roles, teams, disabled, created_at, password_hash, updated_at, subject_id, owner_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8, $10, $11) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(principal.id.to_string())
                    .bind(principal.kind.as_str())
                    .bind(&principal.name)
                    .bind(principal.email.as_deref())
                    .bind(list(&principal.roles))
                    .bind(list(&principal.teams))
                    .bind(principal.disabled)
                    .bind(created)
                    .bind(password_hash.as_deref())
                    .bind(principal.subject_id.as_deref())
                    .bind(principal.owner_id.map(|o| o.to_string()))
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                IdentityChange::UpdatePrincipal { id, update, now, seen } => {
                    let at = micros(*now)?;
                    let id = id.to_string();
                    let (check, roles, teams) = match seen {
                        Some((roles, teams)) => (1_i64, list(roles), list(teams)),
                        None => (0_i64, String::new(), String::new()),
                    };
                    let done = sqlx::query(
                        "UPDATE principals SET updated_at = $1
                         WHERE id = $2 AND ($3 = 0 OR (roles = $4 AND teams = $5))",
                    )
                    .bind(at)
                    .bind(&id)
                    .bind(check)
                    .bind(roles)
                    .bind(teams)
                    .execute(&mut *$tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        if let Some(roles) = &update.roles {
                            sqlx::query("UPDATE principals SET roles = $1 WHERE id = $2")
                                .bind(list(roles))
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(teams) = &update.teams {
                            sqlx::query("UPDATE principals SET teams = $1 WHERE id = $2")
                                .bind(list(teams))
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(email) = &update.email {
                            sqlx::query("UPDATE principals SET email = $1 WHERE id = $2")
                                .bind(email.as_deref())
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(subject_id) = &update.subject_id {
                            sqlx::query("UPDATE principals SET subject_id = $1 WHERE id = $2")
                                .bind(subject_id.as_deref())
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(owner_id) = &update.owner_id {
                            sqlx::query("UPDATE principals SET owner_id = $1 WHERE id = $2")
                                .bind(owner_id.map(|o| o.to_string()))
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                        }
                        if let Some(disabled) = update.disabled {
                            sqlx::query("UPDATE principals SET disabled = $1 WHERE id = $2")
                                .bind(disabled)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                            if disabled {
                                sqlx::query(
                                    "UPDATE sessions SET revoked_at = $1 WHERE principal_id = $2 AND revoked_at IS NULL",
                                )
                                .bind(at)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                                sqlx::query(
                                    "UPDATE api_keys SET revoked_at = $1 WHERE principal_id = $2 AND revoked_at IS NULL",
                                )
                                .bind(at)
                                .bind(&id)
                                .execute(&mut *$tx)
                                .await?;
                            }
                        }
                        true
                    } else {
                        false
                    }
                }
                IdentityChange::InsertApiKey(record) => {
                    $crate::identity_change::insert_api_key!($tx, record, record.rotated_from)
                }
                IdentityChange::RevokeApiKey { id, now } => {
                    sqlx::query(
                        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    )
                    .bind(micros(*now)?)
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                IdentityChange::RotateApiKey { old, new, old_ends } => {
                    let done = sqlx::query(
                        "UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $1 THEN $1 ELSE expires_at END
                         WHERE id = $2 AND revoked_at IS NULL
                           AND NOT EXISTS (SELECT 1 FROM api_keys successor WHERE successor.rotated_from = $2)",
                    )
                    .bind(micros(*old_ends)?)
                    .bind(old.to_string())
                    .execute(&mut *$tx)
                    .await?;
                    // The successor is refused too if the principal was disabled meanwhile.
                    done.rows_affected() == 1
                        && $crate::identity_change::insert_api_key!($tx, new, Some(*old))
                }
                IdentityChange::SetTotpPending { id, sealed } => {
                    sqlx::query("UPDATE principals SET totp_pending = $1 WHERE id = $2")
                        .bind(sealed.as_bytes())
                        .bind(id.to_string())
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected()
                        == 1
                }
                IdentityChange::ConfirmTotp { id, checked, step } => {
                    sqlx::query(
                        "UPDATE principals SET totp_sealed = totp_pending, totp_pending = NULL, totp_enabled = TRUE,
                                totp_last_step = $1
                         WHERE id = $2 AND totp_pending = $3",
                    )
                    .bind($crate::identity::step(*step)?)
                    .bind(id.to_string())
                    .bind(checked.as_bytes())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                IdentityChange::RemoveTotp { id } => {
                    sqlx::query(
                        "UPDATE principals SET totp_enabled = FALSE, totp_sealed = NULL, totp_pending = NULL,
                                totp_last_step = NULL WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                IdentityChange::ClearLoginThrottles { name } => {
                    let key = $crate::login_throttle::login_key(name);
                    sqlx::query("DELETE FROM login_throttles WHERE name = $1 AND source <> $2")
                        .bind(&key)
                        .bind($crate::login_throttle::ACCOUNT_SOURCE)
                        .execute(&mut *$tx)
                        .await?;
                    sqlx::query("DELETE FROM login_throttles WHERE name = $1 AND source = $2")
                        .bind(&key)
                        .bind($crate::login_throttle::ACCOUNT_SOURCE)
                        .execute(&mut *$tx)
                        .await?;
                    true
                }
                IdentityChange::InsertSession { session, client_ip, user_agent } => {
                    sqlx::query(
                        "INSERT INTO sessions (id, principal_id, created_at, last_seen_at, expires_at, client_ip, user_agent, enrollment_only, second_factor)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(session.id.to_string())
                    .bind(session.principal_id.to_string())
                    .bind(micros(session.created_at)?)
                    .bind(micros(session.last_seen_at)?)
                    .bind(micros(session.expires_at)?)
                    .bind(client_ip.as_deref())
                    .bind(user_agent.as_deref())
                    .bind(session.enrollment_only)
                    .bind(session.second_factor)
                    .execute(&mut *$tx)
                    .await?;
                    true
                }
                IdentityChange::RevokeSession { id, now } => {
                    sqlx::query(
                        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                    )
                    .bind(micros(*now)?)
                    .bind(id.to_string())
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                        == 1
                }
                IdentityChange::StoreAccessPolicy { document, now } => {
                    sqlx::query(
                        "INSERT INTO access_policy (singleton, document, version, updated_at) VALUES (1, $1, 1, $2)
                         ON CONFLICT (singleton) DO UPDATE SET document = excluded.document,
                             version = access_policy.version + 1, updated_at = excluded.updated_at",
                    )
                    .bind(document.as_str())
                    .bind(micros(*now)?)
                    .execute(&mut *$tx)
                    .await?;
                    true
                }
            };
            Ok::<bool, $crate::StoreError>(applied)
        }
        .await
    };
}
pub(crate) use apply_identity_change;

/// `allowed_ips` as stored (a JSON list), for [`apply_change`].
pub(crate) fn nets_json_of(nets: Option<&Vec<ipnet::IpNet>>) -> Option<String> {
    nets.map(|nets| serde_json::to_string(nets).unwrap_or_else(|_| "[]".to_owned()))
}
