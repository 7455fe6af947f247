//! Panther's standard `p_` fields, derived from a CloudTrail record the way Panther's
//! CloudTrail parser derives them, so rules that read them behave as they do in Panther.
//!
//! - `p_log_type`: `AWS.CloudTrail`.
//! - `p_event_time`: the record's `eventTime`; `p_parse_time`: when trailwatch read it.
//! - `p_row_id`: a stable id of the record (a hash of its bytes), so replays agree.
//! - `p_any_ip_addresses`: `sourceIPAddress` (unless it is an AWS service name), and IPs found
//!   under the keys `publicIp`, `privateIpAddress`, `ipAddressV4`, `ipv6Addresses`.
//! - `p_any_aws_account_ids`: `userIdentity.accountId`, the session issuer's, `recipientAccountId`,
//!   `resources[].accountId`, 12-character values of keys named `accountId` / `…AccountId`,
//!   and the account of any ARN.
//! - `p_any_aws_arns`: `userIdentity.arn`, the session issuer's, `resources[].ARN`, and every
//!   string starting with `arn:` inside the request, response, additional data and service
//!   details.
//! - `p_any_domain_names`: values of keys `publicDnsName`, `privateDnsName`, `domain`.
//! - `p_udm`: the data-model fields (`actor_user`, ...), see [`super::udm`].
//!
//! Each list is sorted, without duplicates, and omitted when empty. A `p_` field already in
//! the record is kept as it is.

use super::document::Document;
use super::time::format_panther;
use crate::rule::ip::parse_ip;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use time::OffsetDateTime;

#[derive(Default)]
struct Indicators {
    ips: BTreeSet<String>,
    accounts: BTreeSet<String>,
    arns: BTreeSet<String>,
    domains: BTreeSet<String>,
}

impl Indicators {
    fn ip(&mut self, v: Option<&Value>) {
        if let Some(s) = v.and_then(Value::as_str) {
            if parse_ip(s).is_some() {
                self.ips.insert(s.to_string());
            }
        }
    }

    fn account(&mut self, v: Option<&Value>) {
        if let Some(s) = v.and_then(Value::as_str) {
            if !s.is_empty() {
                self.accounts.insert(s.to_string());
            }
        }
    }

    fn arn(&mut self, v: Option<&Value>) {
        if let Some(s) = v.and_then(Value::as_str) {
            if !s.is_empty() {
                self.arns.insert(s.to_string());
                if let Some(account) = arn_account(s) {
                    self.accounts.insert(account.to_string());
                }
            }
        }
    }

    /// Walks a free-form subtree (requestParameters and friends) for indicators.
    fn scan(&mut self, key: &str, v: &Value) {
        match v {
            Value::String(s) if s.starts_with("arn:") && s.splitn(6, ':').count() == 6 => {
                self.arn(Some(v));
            }
            Value::String(s) => {
                if (key == "accountId" || key.ends_with("AccountId")) && s.len() == 12 {
                    self.accounts.insert(s.clone());
                } else if matches!(key, "publicIp" | "privateIpAddress" | "ipAddressV4") {
                    self.ip(Some(v));
                } else if matches!(key, "publicDnsName" | "privateDnsName" | "domain")
                    && !s.is_empty()
                {
                    self.domains.insert(s.clone());
                }
            }
            Value::Array(items) => {
                for item in items {
                    if key == "ipv6Addresses" {
                        self.ip(Some(item));
                    }
                    self.scan(key, item);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.scan(k, v);
                }
            }
            _ => {}
        }
    }
}

/// The 12-character account field of an ARN (`arn:partition:service:region:account:resource`).
fn arn_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, _, _, account, _] if account.len() == 12 => Some(account),
        _ => None,
    }
}

/// Adds the `p_` fields to a CloudTrail record (an object; anything else is left alone).
pub fn enrich(event: &mut Value, raw: &[u8], parse_time: OffsetDateTime) {
    let found = indicators(event);
    let get = |path: &[&str]| -> Option<&Value> { path.iter().try_fold(&*event, |v, k| v.get(k)) };
    let event_time = get(&["eventTime"])
        .and_then(Value::as_str)
        .and_then(super::time::parse_event_time);

    let udm = super::udm::fields(event);
    let Value::Object(map) = event else {
        return;
    };
    // A field the record already carries wins: test logs often spell out their own p_ fields,
    // and Panther uses them as given.
    let mut put = |key: &str, value: Value| {
        map.entry(key).or_insert(value);
    };
    put("p_log_type", Value::from("AWS.CloudTrail"));
    if let Some(t) = event_time {
        put("p_event_time", Value::from(format_panther(t)));
    }
    put("p_parse_time", Value::from(format_panther(parse_time)));
    put("p_row_id", Value::from(row_id(raw)));
    put("p_udm", Value::Object(udm));
    for (key, values) in [
        ("p_any_ip_addresses", found.ips),
        ("p_any_aws_account_ids", found.accounts),
        ("p_any_aws_arns", found.arns),
        ("p_any_domain_names", found.domains),
    ] {
        if !values.is_empty() {
            put(key, Value::from(values.into_iter().collect::<Vec<_>>()));
        }
    }
}

/// The indicator lists of a decoded record.
fn indicators(event: &Value) -> Indicators {
    let mut found = Indicators::default();
    let get = |path: &[&str]| -> Option<&Value> { path.iter().try_fold(event, |v, k| v.get(k)) };
    if let Some(ip) = get(&["sourceIPAddress"]).and_then(Value::as_str) {
        if !ip.ends_with("amazonaws.com") {
            found.ip(get(&["sourceIPAddress"]));
        }
    }
    if let Some(Value::Array(resources)) = get(&["resources"]) {
        for r in resources {
            found.arn(r.get("ARN").or_else(|| r.get("arn")));
            found.account(r.get("accountId"));
        }
    }
    found.account(get(&["userIdentity", "accountId"]));
    found.arn(get(&["userIdentity", "arn"]));
    found.account(get(&[
        "userIdentity",
        "sessionContext",
        "sessionIssuer",
        "accountId",
    ]));
    found.arn(get(&[
        "userIdentity",
        "sessionContext",
        "sessionIssuer",
        "arn",
    ]));
    found.account(get(&["recipientAccountId"]));
    for key in [
        "additionalEventData",
        "requestParameters",
        "responseElements",
        "serviceEventDetails",
    ] {
        if let Some(v) = get(&[key]) {
            found.scan(key, v);
        }
    }
    if let Some(v) = get(&[
        "userIdentity",
        "sessionContext",
        "webIdFederationData",
        "attributes",
    ]) {
        found.scan("attributes", v);
    }
    found
}

/// The top-level fields [`derive`] reads for `name` without decoding the whole record (the
/// rule set locates them when a rule reads `name`; the `p_any_` lists read everything).
pub fn reads(name: &str) -> &'static [&'static str] {
    match name {
        "p_event_time" => &["eventTime"],
        "p_udm" => &super::udm::READS,
        _ => &[],
    }
}

/// One `p_` field of a record, derived on its own, exactly as [`enrich`] would add it; `None`
/// when `enrich` would leave it out (an empty list, an unparsable `eventTime`, an unknown
/// name). The hot path calls this only when a candidate rule reads that field.
pub fn derive(name: &str, event: &dyn Document, raw: &[u8]) -> Option<Value> {
    let event_time = || {
        event
            .field_exact("eventTime")
            .and_then(Value::as_str)
            .and_then(super::time::parse_event_time)
    };
    match name {
        "p_log_type" => Some(Value::from("AWS.CloudTrail")),
        "p_event_time" => event_time().map(|t| Value::from(format_panther(t))),
        "p_parse_time" => Some(Value::from(format_panther(OffsetDateTime::now_utc()))),
        "p_row_id" => Some(Value::from(row_id(raw))),
        "p_udm" => Some(Value::Object(super::udm::fields(event))),
        "p_any_ip_addresses"
        | "p_any_aws_account_ids"
        | "p_any_aws_arns"
        | "p_any_domain_names" => {
            let found = indicators(event.whole());
            let values = match name {
                "p_any_ip_addresses" => found.ips,
                "p_any_aws_account_ids" => found.accounts,
                "p_any_aws_arns" => found.arns,
                _ => found.domains,
            };
            (!values.is_empty()).then(|| Value::from(values.into_iter().collect::<Vec<_>>()))
        }
        _ => None,
    }
}

/// A stable 32-hex-digit id for a record's bytes.
pub fn row_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derives_indicators_like_panther() {
        let mut e = json!({
            "eventTime": "2024-01-17T09:30:00Z",
            "sourceIPAddress": "198.51.100.50",
            "recipientAccountId": "123456789012",
            "userIdentity": {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/x",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::210987654321:role/r", "accountId": "210987654321"}}},
            "resources": [{"ARN": "arn:aws:s3:::bucket", "accountId": "111122223333"}],
            "requestParameters": {"instancesSet": {"items": [{"privateIpAddress": "10.0.0.5", "publicDnsName": "ec2.example.com",
                "ownerAccountId": "444455556666", "ipv6Addresses": ["2001:db8::1"]}]}, "target": "arn:aws:ec2:us-east-1:777788889999:instance/i-1"}
        });
        enrich(&mut e, b"{}", OffsetDateTime::UNIX_EPOCH);
        assert_eq!(e["p_log_type"], "AWS.CloudTrail");
        assert_eq!(e["p_event_time"], "2024-01-17 09:30:00.000000000");
        assert_eq!(
            e["p_any_ip_addresses"],
            json!(["10.0.0.5", "198.51.100.50", "2001:db8::1"])
        );
        assert_eq!(
            e["p_any_aws_account_ids"],
            json!([
                "111122223333",
                "123456789012",
                "210987654321",
                "444455556666",
                "777788889999"
            ])
        );
        assert_eq!(
            e["p_any_aws_arns"],
            json!([
                "arn:aws:ec2:us-east-1:777788889999:instance/i-1",
                "arn:aws:iam::123456789012:user/x",
                "arn:aws:iam::210987654321:role/r",
                "arn:aws:s3:::bucket"
            ])
        );
        assert_eq!(e["p_any_domain_names"], json!(["ec2.example.com"]));
    }

    #[test]
    fn service_source_is_not_an_ip_and_empty_lists_are_omitted() {
        let mut e = json!({"sourceIPAddress": "ec2.amazonaws.com"});
        enrich(&mut e, b"{}", OffsetDateTime::UNIX_EPOCH);
        assert!(e.get("p_any_ip_addresses").is_none());
        assert!(e.get("p_event_time").is_none());
        assert_eq!(e["p_row_id"].as_str().unwrap().len(), 32);
    }

    #[test]
    fn fields_already_present_are_kept() {
        let mut e = json!({"sourceIPAddress": "1.2.3.4", "p_any_ip_addresses": ["5.6.7.8"]});
        enrich(&mut e, b"{}", OffsetDateTime::UNIX_EPOCH);
        assert_eq!(e["p_any_ip_addresses"], json!(["5.6.7.8"]));
    }
}
