//! A realistic alert for tests and golden files: what an operator sees for a real detection.
//! (`trailwatch sink test` sends [`super::test_alert`] instead, which cannot be mistaken for
//! an incident.)

use crate::alert::Alert;
use crate::severity::Severity;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A test alert: an RDS security group opened to the world, as the seed rule raises it.
pub fn sample_alert() -> Alert {
    let event = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::123456789012:user/ops", "accountId": "123456789012",
            "userName": "ops"},
        "eventTime": "2024-01-17T09:30:00Z",
        "eventSource": "rds.amazonaws.com",
        "eventName": "AuthorizeDBSecurityGroupIngress",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.13.0",
        "requestParameters": {"dBSecurityGroupName": "prod-db", "cIDRIP": "0.0.0.0/0"},
        "eventID": "5f7c2a4e-0d3b-4a8e-9d7e-2c1b0a9f8e7d",
        "recipientAccountId": "123456789012"
    });
    let context: Map<String, Value> = crate::alert::standard_context_fields()
        .map(|key| (key.to_string(), event[key].clone()))
        .collect();
    let mut summary = Map::new();
    summary.insert("p_any_ip_addresses".into(), json!(["198.51.100.7"]));
    Alert {
        alert_id: "0123456789abcdef0123456789abcdef".into(),
        rule_id: "AWS.RDS.SecurityGroupIngressAuthorized".into(),
        rule_name: "RDS DB Security Group Ingress Authorized".into(),
        title: "RDS security group prod-db opened to 0.0.0.0/0".into(),
        severity: Severity::High,
        dedup: "prod-db".into(),
        log_type: "AWS.CloudTrail".into(),
        event_count: 3,
        created_at: "2024-01-17T09:31:02Z".into(),
        first_event_time: "2024-01-17T09:30:00Z".into(),
        last_event_time: "2024-01-17T09:41:15Z".into(),
        description: Some("An ingress rule was added to an RDS DB security group.".into()),
        runbook: Some("Check who opened the group and whether 0.0.0.0/0 is intended.".into()),
        reference: Some(
            "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.RDSSecurityGroups.html"
                .into(),
        ),
        tags: vec!["AWS".into(), "Database".into()],
        reports: BTreeMap::from([("MITRE ATT&CK".to_string(), vec!["TA0005:T1562".to_string()])]),
        context,
        summary,
        event: Value::clone(&event),
    }
}
