//! `p_udm`: the fields of Panther's data model for CloudTrail, computed from the record.
//!
//! Panther rules read these through `event.udm("actor_user")`; trailwatch rules read them as
//! `p_udm.actor_user`. Each field follows the CloudTrail data model's mapping:
//!
//! | field | value |
//! |---|---|
//! | `actor_user` | who acted, by `userIdentity.type` (see [`actor_user`]) |
//! | `event_type` | `failed_login` / `successful_login` (IAM user console logins), `user_account_created` (CreateUser), `account_created` (CreateAccountResult) |
//! | `source_ip` | `sourceIPAddress` when it is an IP address |
//! | `user_agent` | `userAgent` |
//! | `user` | `responseElements.user.userName` |
//! | `user_account_id` | `responseElements.user.userId` |
//!
//! Fields without a value are left out.

use super::document::Document;
use crate::rule::ip::parse_ip;
use serde_json::{Map, Value};

/// The value at `path` (exact keys), unless missing or null. The first step goes through the
/// document, so a record read in place decodes only the top-level fields the model needs.
fn get<'a>(event: &'a (impl Document + ?Sized), path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(event.field_exact(first)?, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn text(event: &(impl Document + ?Sized), path: &[&str]) -> Option<String> {
    get(event, path).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The acting user of a CloudTrail record, as Panther's data model derives it.
pub fn actor_user(event: &(impl Document + ?Sized)) -> String {
    let kind = text(event, &["userIdentity", "type"]);
    let or_unknown = |v: Option<String>, kind: &str| v.unwrap_or_else(|| format!("Unknown{kind}"));
    match kind.as_deref() {
        Some("Root") => text(event, &["userIdentity", "userName"])
            .or_else(|| text(event, &["userIdentity", "accountId"]))
            .unwrap_or_else(|| "UnknownRootUser".into()),
        Some(k @ ("IAMUser" | "Directory" | "Unknown" | "SAMLUser" | "WebIdentityUser")) => {
            or_unknown(text(event, &["userIdentity", "userName"]), k)
        }
        Some(k @ ("AssumedRole" | "Role" | "FederatedUser")) => {
            let issuer = or_unknown(
                text(
                    event,
                    &[
                        "userIdentity",
                        "sessionContext",
                        "sessionIssuer",
                        "userName",
                    ],
                ),
                k,
            );
            if issuer.starts_with("AWSReservedSSO_") {
                // SSO roles have generic names: the person is in the session part of principalId.
                let principal = or_unknown(text(event, &["userIdentity", "principalId"]), k);
                match principal.split_once(':') {
                    Some((_, session)) => session.split(':').next().unwrap_or(session).to_string(),
                    None => principal,
                }
            } else {
                issuer
            }
        }
        Some(k @ "IdentityCenterUser") => {
            or_unknown(text(event, &["additionalEventData", "UserName"]), k)
        }
        Some(k @ ("AWSService" | "AWSAccount")) => or_unknown(text(event, &["sourceIdentity"]), k),
        _ if text(event, &["eventType"]).as_deref() == Some("AwsServiceEvent") => {
            text(event, &["userIdentity", "invokedBy"])
                .unwrap_or_else(|| "UnknownAwsServiceEvent".into())
        }
        _ => "UnknownUser".into(),
    }
}

fn event_type(event: &(impl Document + ?Sized)) -> Option<&'static str> {
    let name = text(event, &["eventName"]);
    match name.as_deref() {
        Some("ConsoleLogin")
            if text(event, &["userIdentity", "type"]).as_deref() == Some("IAMUser") =>
        {
            match text(event, &["responseElements", "ConsoleLogin"]).as_deref() {
                Some("Failure") => Some("failed_login"),
                Some("Success") => Some("successful_login"),
                _ => None,
            }
        }
        Some("CreateUser") => Some("user_account_created"),
        Some("CreateAccountResult") => Some("account_created"),
        _ => None,
    }
}

/// The top-level fields [`fields`] reads (a rule set that reads `p_udm` has them located).
pub const READS: [&str; 8] = [
    "userIdentity",
    "eventName",
    "eventType",
    "responseElements",
    "sourceIPAddress",
    "userAgent",
    "additionalEventData",
    "sourceIdentity",
];

/// The `p_udm` object for a record.
pub fn fields(event: &(impl Document + ?Sized)) -> Map<String, Value> {
    let mut udm = Map::new();
    udm.insert("actor_user".into(), Value::from(actor_user(event)));
    if let Some(t) = event_type(event) {
        udm.insert("event_type".into(), Value::from(t));
    }
    if let Some(ip) = text(event, &["sourceIPAddress"]).filter(|s| parse_ip(s).is_some()) {
        udm.insert("source_ip".into(), Value::from(ip));
    }
    for (name, path) in [
        ("user_agent", &["userAgent"][..]),
        ("user", &["responseElements", "user", "userName"][..]),
        (
            "user_account_id",
            &["responseElements", "user", "userId"][..],
        ),
    ] {
        if let Some(v) = get(event, path) {
            udm.insert(name.into(), v.clone());
        }
    }
    udm
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actor_user_by_identity_type() {
        let cases = [
            (
                json!({"userIdentity": {"type": "Root", "accountId": "1"}}),
                "1",
            ),
            (json!({"userIdentity": {"type": "Root"}}), "UnknownRootUser"),
            (
                json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}}),
                "bob",
            ),
            (
                json!({"userIdentity": {"type": "SAMLUser"}}),
                "UnknownSAMLUser",
            ),
            (
                json!({"userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"userName": "Admin"}}}}),
                "Admin",
            ),
            (
                json!({"userIdentity": {"type": "AssumedRole", "principalId": "AROA:alice@example.com",
                       "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_Admin_1"}}}}),
                "alice@example.com",
            ),
            (
                json!({"userIdentity": {"type": "AWSService"}, "sourceIdentity": "svc"}),
                "svc",
            ),
            (
                json!({"userIdentity": {"invokedBy": "s3.amazonaws.com"}, "eventType": "AwsServiceEvent"}),
                "s3.amazonaws.com",
            ),
            (json!({}), "UnknownUser"),
        ];
        for (event, want) in cases {
            assert_eq!(actor_user(&event), want, "{event}");
        }
    }

    #[test]
    fn other_fields() {
        let e = json!({"eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser", "userName": "u"},
                       "responseElements": {"ConsoleLogin": "Failure"}, "sourceIPAddress": "cloudtrail.amazonaws.com",
                       "userAgent": "ua"});
        let f = fields(&e);
        assert_eq!(f["event_type"], "failed_login");
        assert_eq!(f["user_agent"], "ua");
        assert!(!f.contains_key("source_ip"));
        assert!(!f.contains_key("user"));
    }
}
