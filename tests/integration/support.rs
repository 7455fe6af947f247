//! Small helpers shared by the integration tests.

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `rules.d/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed rule shipped in `rules.d/`.
pub fn seed_rule() -> PathBuf {
    repo().join("rules.d/aws_rds_security_group_ingress_authorized.yml")
}

/// Runs `trailwatch` with `args` in `dir`.
pub fn trailwatch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("trailwatch runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses every stdout line as JSON.
pub fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A CloudTrail record of an RDS ingress grant; `cidr` None makes it an EC2 security group grant.
pub fn grant(id: &str, time: &str, region: &str, group: &str, cidr: Option<&str>) -> Value {
    let mut params = json!({"dBSecurityGroupName": group});
    match cidr {
        Some(c) => params["cIDRIP"] = json!(c),
        None => params["eC2SecurityGroupName"] = json!("app-servers-sg"),
    }
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "accountId": "123456789012",
                         "arn": "arn:aws:iam::123456789012:user/ops", "userName": "ops"},
        "eventTime": time,
        "eventSource": "rds.amazonaws.com",
        "eventName": "AuthorizeDBSecurityGroupIngress",
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.13.0",
        "requestParameters": params,
        "responseElements": {"dBSecurityGroupName": group},
        "eventID": id,
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012"
    })
}

/// A record no rule in the seed set matches.
pub fn noise(id: &str, time: &str) -> Value {
    json!({
        "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
        "awsRegion": "us-east-1", "eventID": id, "recipientAccountId": "123456789012",
        "requestParameters": {"bucketName": "b", "key": "k"}
    })
}

pub fn write_ndjson(path: &Path, records: &[Value]) {
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    write(path, text.as_bytes());
}

pub fn records_json(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({ "Records": records })).unwrap()
}

pub fn write_gz(path: &Path, bytes: &[u8]) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    write(path, &gz.finish().unwrap());
}

pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// A minimal valid rule with the given RuleID, matching GetObject calls.
pub fn simple_rule(id: &str, extra: &str) -> String {
    format!(
        "RuleID: {id}\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n{extra}Detection:\n  - Key: eventName\n    Condition: Equals\n    Value: GetObject\n"
    )
}
