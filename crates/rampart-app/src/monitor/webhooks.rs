//! The webhooks of [`MonitorService`]: made with a fresh secret (shown once, stored sealed),
//! listed, deleted; their deliveries listed and replayed.

use rampart_audit::AuditStore;
use rampart_crypto::{SealedSecret, random_secret};
use rampart_monitor::{
    Delivery, EventType, Invalid, MonitorStore, Webhook, WebhookDocument, WebhookSecret,
};

use serde_json::Value;
use time::OffsetDateTime;

use super::{
    MAX_LISTED, MonitorError, MonitorService, NewWebhook, SECRET_BYTES, deliveries_for, new_id,
    seal_context, send,
};

impl<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static> MonitorService<S> {
    /// Makes a webhook: its URL checked (a name resolved, every address checked unless private
    /// networks are allowed), a fresh secret from the OS, stored sealed by the KEK.
    pub async fn create_webhook(
        &self,
        document: &WebhookDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<NewWebhook, MonitorError> {
        let (url, events) = document.validate(self.settings.allow_private_networks)?;
        if !self.settings.allow_private_networks {
            send::resolve_allowed(&url, false)
                .await
                .map_err(|message| {
                    Invalid::Fields(vec![rampart_monitor::FieldError::new("url", message)])
                })?;
        }
        let secret = WebhookSecret::from_bytes(random_secret::<SECRET_BYTES>()?.to_vec())
            .map_err(|_| MonitorError::Conflict("cannot make a webhook secret".to_owned()))?;
        let id = new_id();
        let sealed = self.kek.seal(&seal_context(&id), secret.expose_bytes())?;
        let webhook = Webhook {
            id,
            url: url.url,
            events,
            description: document.description.clone(),
            sealed_secret: sealed.as_bytes().to_vec(),
            created_by: by.to_owned(),
            created_at: now,
        };
        self.store
            .insert_webhook(&webhook)
            .await
            .map_err(MonitorError::store)?;
        Ok(NewWebhook {
            webhook,
            secret: secret.to_text(),
        })
    }

    /// The secret of a stored webhook.
    pub(crate) fn secret_of(&self, webhook: &Webhook) -> Result<WebhookSecret, MonitorError> {
        let opened = self.kek.open(
            &seal_context(&webhook.id),
            &SealedSecret::from_bytes(webhook.sealed_secret.clone()),
        )?;
        use secrecy::ExposeSecret as _;
        WebhookSecret::from_bytes(opened.expose_secret().to_vec())
            .map_err(|_| MonitorError::Conflict("a stored webhook secret is malformed".to_owned()))
    }

    /// Every webhook.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, MonitorError> {
        self.store
            .list_webhooks()
            .await
            .map_err(MonitorError::store)
    }

    /// One webhook.
    pub async fn webhook(&self, id: &str) -> Result<Webhook, MonitorError> {
        self.store
            .webhook(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("webhook"))
    }

    /// Removes a webhook and its pending deliveries.
    pub async fn delete_webhook(&self, id: &str) -> Result<Webhook, MonitorError> {
        self.store
            .delete_webhook(id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("webhook"))
    }

    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: &str) -> Result<Vec<Delivery>, MonitorError> {
        self.webhook(webhook_id).await?;
        self.store
            .list_deliveries(webhook_id, MAX_LISTED)
            .await
            .map_err(MonitorError::store)
    }

    /// Sends a delivery again (its attempts start over).
    pub async fn retry_delivery(
        &self,
        webhook_id: &str,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Delivery, MonitorError> {
        let mut delivery = self
            .store
            .delivery(webhook_id, id)
            .await
            .map_err(MonitorError::store)?
            .ok_or(MonitorError::NotFound("delivery"))?;
        delivery.retry(now);
        self.store
            .retry_delivery(&delivery)
            .await
            .map_err(MonitorError::store)?;
        self.send_now.notify_one();
        Ok(delivery)
    }

    /// Deliveries of `event` carrying `data` to every webhook that wants it.
    pub(crate) async fn deliveries_of(
        &self,
        event: EventType,
        data: &Value,
        now: OffsetDateTime,
    ) -> Result<Vec<Delivery>, MonitorError> {
        let webhooks = self.webhooks().await?;
        Ok(deliveries_for(&webhooks, event, data, now))
    }
}
