//! HTTP delivery shared by the Slack and webhook sinks: one JSON POST, and what its outcome
//! means for the driver.
//!
//! - 2xx: delivered.
//! - 429 and 408, any 5xx, a timeout or a connection failure: retryable, with the wait from
//!   `Retry-After` (seconds or an HTTP date) when the endpoint sends one.
//! - any other status: permanent; the response body goes into the error (and so the log),
//!   since it is usually the only explanation an endpoint gives.
//!
//! The URL is a secret for Slack and often for webhooks, so it never reaches a message:
//! reqwest errors are stripped of it (`without_url`) before they are formatted.

use super::secret::Secret;
use super::SinkError;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use std::time::Duration;
use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

/// How much of an error response body is kept for the log.
const BODY_LIMIT: usize = 512;

/// A client with the sink's timeout (connect and whole request).
pub fn client(timeout: Duration) -> Result<Client, String> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("trailwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.without_url().to_string())
}

/// POSTs `body` as JSON to `url`; `what` names the endpoint in errors ("slack").
pub async fn post_json(
    client: &Client,
    url: &Secret,
    headers: &HeaderMap,
    body: Vec<u8>,
    what: &str,
) -> Result<(), SinkError> {
    let response = client
        .post(url.expose())
        .headers(headers.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| SinkError::retryable(format!("{what}: {}", describe(e))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
    let body = response.text().await.unwrap_or_default();
    let message = format!("{what} answered {status}: {}", clip(body.trim()));
    if retryable(status) {
        Err(SinkError::Retryable {
            message,
            retry_after,
        })
    } else {
        Err(SinkError::permanent(message))
    }
}

/// True for statuses worth trying again.
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// `Retry-After` as delay-seconds or an HTTP date (a date in the past means "now").
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    Some((at - now).try_into().unwrap_or(Duration::ZERO))
}

/// A reqwest error and its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn clip(body: &str) -> String {
    match body.char_indices().nth(BODY_LIMIT) {
        Some((at, _)) => format!("{}…", &body[..at]),
        None => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn status_classes() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(StatusCode::BAD_GATEWAY));
        assert!(!retryable(StatusCode::BAD_REQUEST));
        assert!(!retryable(StatusCode::NOT_FOUND));
    }

    #[test]
    fn clips_long_bodies() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"é".repeat(600)).chars().count(), BODY_LIMIT + 1);
    }
}
