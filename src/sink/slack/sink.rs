//! Posting to a Slack incoming webhook.
//!
//! One message per alert (batch size 1): Slack renders each as its own notification, and a
//! 429 or 5xx then concerns exactly one alert. Slack's answers map onto the driver's
//! policy in [`crate::sink::http`]: 429 waits `Retry-After`, 5xx and timeouts retry, other
//! 4xx (`invalid_payload`, `no_service`, `channel_is_archived`...) are permanent and logged
//! with Slack's body.

use super::config::SlackConfig;
use super::payload::payload;
use crate::alert::Alert;
use crate::sink::http;
use crate::sink::secret::Secret;
use crate::sink::{Sink, SinkError};
use reqwest::header::HeaderMap;
use std::sync::Arc;
use std::time::Duration;

pub struct SlackSink {
    client: reqwest::Client,
    url: Secret,
}

impl SlackSink {
    pub fn new(name: &str, config: &SlackConfig) -> Result<SlackSink, SinkError> {
        if config.webhook_url.is_empty() {
            return Err(SinkError::setup(name, "the webhook URL was not resolved"));
        }
        let client = http::client(Duration::from_secs(config.timeout_secs))
            .map_err(|e| SinkError::setup(name, e))?;
        Ok(SlackSink {
            client,
            url: config.webhook_url.clone(),
        })
    }
}

impl Sink for SlackSink {
    async fn send(&mut self, batch: &[Arc<Alert>]) -> Result<(), SinkError> {
        for alert in batch {
            let body = serde_json::to_vec(&payload(alert))
                .map_err(|e| SinkError::permanent(format!("slack payload: {e}")))?;
            http::post_json(&self.client, &self.url, &HeaderMap::new(), body, "slack").await?;
        }
        Ok(())
    }
}
