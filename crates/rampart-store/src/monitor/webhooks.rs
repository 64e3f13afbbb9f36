//! Webhooks and their outbox. A delivery is due while pending and its `next_attempt_at` has
//! passed; one sender holds the lease, and an attempt is stored only if the delivery still
//! has the attempts the sender saw (a retry on demand meanwhile wins).

use rampart_monitor::{Delivery, Webhook};
use time::OffsetDateTime;

use super::{from_json, name_of, parse_name, to_json, unsigned32};
use crate::codec::{from_micros, from_micros_opt, micros};
use crate::threat::begin_write;
use crate::{Store, StoreError, with_pool};

const WEBHOOK_COLUMNS: &str = "id, url, events, description, sealed_secret, created_by, created_at";

/// A webhook as read.
type WebhookTuple = (String, String, String, String, Vec<u8>, String, i64);

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, body, status, attempts, last_status_code, \
     next_attempt_at, created_at";

/// A delivery as read.
type DeliveryTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);

/// A delivery encoded for writing.
pub(crate) struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

impl DeliveryRow {
    pub(crate) fn of(delivery: &Delivery) -> Result<Self, StoreError> {
        Ok(Self {
            id: delivery.id.clone(),
            webhook_id: delivery.webhook_id.clone(),
            event: delivery.event.as_str().to_owned(),
            body: delivery.body.clone(),
            status: name_of(&delivery.status, "status")?,
            attempts: i64::from(delivery.attempts),
            last_status_code: delivery.last_status_code.map(i64::from),
            next_attempt_at: delivery.next_attempt_at.map(micros).transpose()?,
            created_at: micros(delivery.created_at)?,
        })
    }
}

fn webhook(row: WebhookTuple) -> Result<Webhook, StoreError> {
    let (id, url, events, description, sealed_secret, created_by, created_at) = row;
    Ok(Webhook {
        id,
        url,
        events: from_json(&events, "monitor_webhooks.events")?,
        description,
        sealed_secret,
        created_by,
        created_at: from_micros(created_at, "monitor_webhooks.created_at")?,
    })
}

fn delivery(row: DeliveryTuple) -> Result<Delivery, StoreError> {
    let (id, webhook_id, event, body, status, attempts, code, next, created_at) = row;
    Ok(Delivery {
        id,
        webhook_id,
        event: parse_name(&event, "monitor_deliveries.event")?,
        body,
        status: parse_name(&status, "monitor_deliveries.status")?,
        attempts: unsigned32(attempts, "monitor_deliveries.attempts")?,
        last_status_code: code
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt {
                what: "monitor_deliveries.last_status_code",
            })?,
        next_attempt_at: from_micros_opt(next, "monitor_deliveries.next_attempt_at")?,
        created_at: from_micros(created_at, "monitor_deliveries.created_at")?,
    })
}

impl Store {
    /// Stores a webhook with its sealed secret.
    pub(super) async fn put_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let events = to_json(&webhook.events, "events")?;
        let created_at = micros(webhook.created_at)?;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO monitor_webhooks
                     (id, url, events, description, sealed_secret, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&webhook.id)
            .bind(&webhook.url)
            .bind(&events)
            .bind(&webhook.description)
            .bind(&webhook.sealed_secret)
            .bind(&webhook.created_by)
            .bind(created_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Replaces webhooks' sealed secrets in one transaction.
    pub(super) async fn put_webhook_secrets(
        &self,
        sealed: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            for (id, secret) in sealed {
                sqlx::query("UPDATE monitor_webhooks SET sealed_secret = $1 WHERE id = $2")
                    .bind(secret)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every webhook, oldest first.
    pub(super) async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM monitor_webhooks ORDER BY created_at, id");
        let rows: Vec<WebhookTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await?
        });
        rows.into_iter().map(webhook).collect()
    }

    /// One webhook.
    pub(super) async fn webhook_by_id(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM monitor_webhooks WHERE id = $1");
        let row: Option<WebhookTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(webhook).transpose()
    }

    /// Removes a webhook and its pending deliveries in one transaction; the one removed.
    pub(super) async fn remove_webhook(&self, id: &str) -> Result<Option<Webhook>, StoreError> {
        let sql = format!("DELETE FROM monitor_webhooks WHERE id = $1 RETURNING {WEBHOOK_COLUMNS}");
        let row: Option<WebhookTuple> = with_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let row = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(
                "DELETE FROM monitor_deliveries WHERE webhook_id = $1 AND status = 'pending'",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            row
        });
        row.map(webhook).transpose()
    }

    /// Pending deliveries due at `now`, soonest first.
    pub(super) async fn deliveries_due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM monitor_deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        let at = micros(now)?;
        let rows: Vec<DeliveryTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(at)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(delivery).collect()
    }

    /// Stores an attempt if the stored delivery is pending with `expected_attempts`.
    pub(super) async fn store_attempt(
        &self,
        delivery: &Delivery,
        expected_attempts: u32,
    ) -> Result<bool, StoreError> {
        let row = DeliveryRow::of(delivery)?;
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE monitor_deliveries SET status = $1, attempts = $2,
                     last_status_code = $3, next_attempt_at = $4
                 WHERE id = $5 AND webhook_id = $6 AND status = 'pending' AND attempts = $7",
            )
            .bind(&row.status)
            .bind(row.attempts)
            .bind(row.last_status_code)
            .bind(row.next_attempt_at)
            .bind(&row.id)
            .bind(&row.webhook_id)
            .bind(i64::from(expected_attempts))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// A webhook's deliveries, newest first.
    pub(super) async fn deliveries_of(
        &self,
        webhook_id: &str,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM monitor_deliveries WHERE webhook_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<DeliveryTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(webhook_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(delivery).collect()
    }

    /// One delivery of a webhook.
    pub(super) async fn delivery_by_id(
        &self,
        webhook_id: &str,
        id: &str,
    ) -> Result<Option<Delivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM monitor_deliveries WHERE webhook_id = $1 AND id = $2"
        );
        let row: Option<DeliveryTuple> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(webhook_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(delivery).transpose()
    }

    /// Stores a delivery made pending again on demand.
    pub(super) async fn store_retry(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let row = DeliveryRow::of(delivery)?;
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE monitor_deliveries SET status = $1, attempts = $2, next_attempt_at = $3
                 WHERE id = $4 AND webhook_id = $5",
            )
            .bind(&row.status)
            .bind(row.attempts)
            .bind(row.next_attempt_at)
            .bind(&row.id)
            .bind(&row.webhook_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
