//! Synthetic CloudTrail records and synthetic rules, for benchmarks.
//!
//! Both generators are deterministic: the same seed gives the same bytes, so a benchmark
//! measured today and one measured after a change read identical input. Records follow the
//! shape of real CloudTrail (field order, `userIdentity` with `sessionContext`, request and
//! response bodies, `resources`, TLS details; about 1.7 KB each) and a traffic mix in which a
//! few read-heavy calls (S3 objects, KMS, STS, EC2 describes) dominate and the calls that
//! detections look for are rare (`AuthorizeDBSecurityGroupIngress` is 0.1%). Rules are valid
//! trailwatch (Panther no-code) YAML spread over many (eventSource, eventName) pairs, with a
//! few unindexed rules that every record is tested against.
//!
//! Shared by `benches/engine.rs` and `examples/synth.rs` through `#[path]`; not every user
//! calls every item.
#![allow(dead_code)]

use std::fmt::Write;

/// A xorshift64* generator: small, fast and good enough for picking from tables.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(mix(seed) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `per_mille` times out of a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        let n = alphabet.len() as u64;
        (0..len)
            .map(|_| char::from(alphabet[self.below(n) as usize]))
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        self.chars(b"0123456789abcdef", len)
    }

    /// Upper-case letters and digits, as in AWS key and principal ids.
    fn upper(&mut self, len: usize) -> String {
        self.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", len)
    }

    fn base64(&mut self, len: usize) -> String {
        self.chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            len,
        )
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next_u64(), self.next_u64());
        uuid_from(a, b)
    }
}

/// splitmix64's finalizer: a bijection on u64, used to derive seeds and unique ids.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uuid_from(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A pseudo-random generator seeded by a name, for ids that stay the same across records
/// (a role always has the same `AROA…` id).
fn stable(name: &str) -> Rng {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Rng::new(hash)
}

fn stable_id(name: &str, prefix: &str, len: usize) -> String {
    format!("{prefix}{}", stable(name).upper(len))
}

// ---------------------------------------------------------------------------------------
// A JSON value with ordered keys, so records keep CloudTrail's field order; it also prints
// itself as block YAML, for rule files.
// ---------------------------------------------------------------------------------------

pub enum J {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

/// Builds a [`J`] with JSON-like syntax, keeping keys in order. A value is `null`, a literal,
/// `[...]`, `{...}`, a variable, or a parenthesized Rust expression.
macro_rules! j {
    (null) => { J::Null };
    ([ $($item:tt),* $(,)? ]) => { J::Arr(vec![$(j!($item)),*]) };
    ({ $($key:literal : $value:tt),* $(,)? }) => { J::Obj(vec![$(($key, j!($value))),*]) };
    (( $value:expr )) => { J::from($value) };
    ($other:expr) => { J::from($other) };
}

impl From<&str> for J {
    fn from(text: &str) -> J {
        J::Str(text.to_string())
    }
}

impl From<String> for J {
    fn from(text: String) -> J {
        J::Str(text)
    }
}

impl From<&String> for J {
    fn from(text: &String) -> J {
        J::Str(text.clone())
    }
}

impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}

impl From<i64> for J {
    fn from(n: i64) -> J {
        J::Num(n)
    }
}

impl From<i32> for J {
    fn from(n: i32) -> J {
        J::Num(n.into())
    }
}

impl From<u64> for J {
    fn from(n: u64) -> J {
        J::Num(n as i64)
    }
}

fn quote(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl J {
    pub fn write_json(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => {
                let _ = write!(out, "{n}");
            }
            J::Str(text) => quote(text, out),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    quote(key, out);
                    out.push(':');
                    value.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// Block YAML for the value of a mapping key (the caller wrote `key:`). Scalars are
    /// written as JSON, which YAML reads the same way.
    fn write_yaml_value(&self, indent: usize, out: &mut String) {
        match self {
            J::Arr(items) if !items.is_empty() => {
                out.push('\n');
                for item in items {
                    let _ = write!(out, "{:indent$}- ", "");
                    match item {
                        J::Obj(fields) if !fields.is_empty() => {
                            J::write_yaml_fields(fields, indent + 2, true, out)
                        }
                        other => {
                            other.write_json(out);
                            out.push('\n');
                        }
                    }
                }
            }
            J::Obj(fields) if !fields.is_empty() => {
                out.push('\n');
                J::write_yaml_fields(fields, indent, false, out);
            }
            scalar => {
                out.push(' ');
                scalar.write_json(out);
                out.push('\n');
            }
        }
    }

    fn write_yaml_fields(fields: &[(&str, J)], indent: usize, inline: bool, out: &mut String) {
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 || !inline {
                let _ = write!(out, "{:indent$}", "");
            }
            let _ = write!(out, "{key}:");
            value.write_yaml_value(indent + 2, out);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------------------------

const ACCOUNT: &str = "123456789012";
const OTHER_ACCOUNTS: [&str; 3] = ["210987654321", "345678901234", "456789012345"];
/// us-east-1 carries most of the traffic, as it does in most organisations.
const REGIONS: [&str; 11] = [
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-west-2",
    "us-west-2",
    "eu-west-1",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
const ROLES: [&str; 8] = [
    "AWSReservedSSO_AdministratorAccess_3f1c2a9b8e7d6c5b",
    "AWSReservedSSO_ReadOnlyAccess_0a1b2c3d4e5f6a7b",
    "OrganizationAccountAccessRole",
    "DataPipelineRole",
    "lambda-orders-exec",
    "ecsTaskRole-web",
    "ci-deploy",
    "eks-node-group-NodeInstanceRole-1XPL8TQZ4DW0A",
];
/// A role only a contractor uses; one rule family looks for it.
const RARE_ROLE: &str = "temp-contractor-access";
const PEOPLE: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
const USERS: [&str; 5] = ["alice", "ci-bot", "svc-backup", "legacy-etl", "contractor"];
const SERVICES: [&str; 5] = [
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "cloudformation.amazonaws.com",
    "autoscaling.amazonaws.com",
];
const AGENTS: [&str; 7] = [
    "aws-cli/2.15.10 Python/3.11.6 Linux/5.10.205-195.807.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.cp",
    "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11",
    "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.7",
    "aws-sdk-java/2.21.46 Linux/5.15.0-1051-aws OpenJDK_64-Bit_Server_VM/17.0.9+9-LTS Java/17.0.9 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy",
    "console.amazonaws.com",
    "aws-internal/3 aws-sdk-java/1.12.596 Linux/5.10.205-172.804.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.392-b08 java/1.8.0_392 vendor/Oracle_Corporation cfg/retry-mode/standard",
    "Terraform/1.6.6 (+https://www.terraform.io) terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.49.6 (go1.21.5; linux; amd64)",
];
const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const BUCKETS: [&str; 5] = [
    "acme-data-lake-prod",
    "acme-logs-archive",
    "acme-web-assets",
    "acme-ml-training",
    "acme-backups-eu",
];
/// A bucket rules watch; one S3 call in 500 touches it.
const SECRETS_BUCKET: &str = "prod-secrets-config";

/// Calls that detections look for and that are rare in normal traffic, by service.
const SENSITIVE: [(&str, &str); 14] = [
    ("iam.amazonaws.com", "DeleteUser CreateLoginProfile UpdateLoginProfile DeleteLoginProfile DeactivateMFADevice DeleteVirtualMFADevice PutUserPolicy PutRolePolicy PutGroupPolicy AttachRolePolicy AttachGroupPolicy UpdateAssumeRolePolicy CreatePolicyVersion SetDefaultPolicyVersion AddUserToGroup CreateSAMLProvider UpdateSAMLProvider CreateOpenIDConnectProvider"),
    ("ec2.amazonaws.com", "DeleteFlowLogs CreateKeyPair ImportKeyPair ModifyInstanceAttribute ModifySnapshotAttribute ModifyImageAttribute CreateVpcPeeringConnection AcceptVpcPeeringConnection DisableEbsEncryptionByDefault AuthorizeSecurityGroupEgress CreateInternetGateway AttachInternetGateway ReplaceRoute CreateNetworkAclEntry ReplaceNetworkAclEntry DeleteNetworkAcl GetPasswordData"),
    ("s3.amazonaws.com", "PutBucketPolicy DeleteBucketPolicy PutBucketAcl PutBucketPublicAccessBlock DeleteBucketPublicAccessBlock PutBucketVersioning PutBucketLogging PutBucketReplication PutBucketLifecycle DeleteBucketEncryption"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion DisableKey PutKeyPolicy CreateGrant"),
    ("cloudtrail.amazonaws.com", "DeleteTrail UpdateTrail PutEventSelectors"),
    ("config.amazonaws.com", "StopConfigurationRecorder DeleteConfigRule DeleteDeliveryChannel"),
    ("guardduty.amazonaws.com", "DeleteDetector UpdateDetector DisassociateFromMasterAccount CreateIPSet"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2 AddPermission20150331v2 UpdateFunctionConfiguration20150331v2"),
    ("rds.amazonaws.com", "ModifyDBInstance ModifyDBSnapshotAttribute DeleteDBCluster"),
    ("organizations.amazonaws.com", "LeaveOrganization InviteAccountToOrganization"),
    ("secretsmanager.amazonaws.com", "DeleteSecret PutResourcePolicy"),
    ("ssm.amazonaws.com", "SendCommand"),
    ("ecr.amazonaws.com", "SetRepositoryPolicy"),
    ("logs.amazonaws.com", "DeleteLogGroup"),
];

/// Every (eventSource, eventName) pair of [`SENSITIVE`].
pub fn sensitive_pairs() -> Vec<(&'static str, &'static str)> {
    SENSITIVE
        .iter()
        .flat_map(|(source, names)| names.split(' ').map(move |name| (*source, name)))
        .collect()
}

/// The kinds of calls the generator produces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    GetObject,
    PutObject,
    HeadObject,
    ListObjects,
    Decrypt,
    GenerateDataKey,
    AssumeRole,
    GetCallerIdentity,
    DescribeInstances,
    DescribeSecurityGroups,
    RunInstances,
    AuthorizeSecurityGroupIngress,
    GetRole,
    CreateUser,
    AttachUserPolicy,
    CreateAccessKey,
    Invoke,
    GetItem,
    CreateLogStream,
    GetSecretValue,
    GetParameter,
    DescribeDBInstances,
    AuthorizeDBSecurityGroupIngress,
    LookupEvents,
    StopLogging,
    ConsoleLogin,
    /// One of [`SENSITIVE`], at random.
    Sensitive,
}

/// The traffic mix, in records per 10,000.
const MIX: [(Api, u64); 27] = [
    (Api::GetObject, 2870),
    (Api::PutObject, 700),
    (Api::HeadObject, 300),
    (Api::ListObjects, 300),
    (Api::Decrypt, 1500),
    (Api::GenerateDataKey, 400),
    (Api::AssumeRole, 900),
    (Api::GetCallerIdentity, 200),
    (Api::DescribeInstances, 700),
    (Api::DescribeSecurityGroups, 200),
    (Api::RunInstances, 30),
    (Api::AuthorizeSecurityGroupIngress, 20),
    (Api::GetRole, 200),
    (Api::CreateUser, 5),
    (Api::AttachUserPolicy, 5),
    (Api::CreateAccessKey, 5),
    (Api::Invoke, 400),
    (Api::GetItem, 300),
    (Api::CreateLogStream, 250),
    (Api::GetSecretValue, 250),
    (Api::GetParameter, 250),
    (Api::DescribeDBInstances, 100),
    (Api::AuthorizeDBSecurityGroupIngress, 10),
    (Api::LookupEvents, 30),
    (Api::StopLogging, 1),
    (Api::ConsoleLogin, 50),
    (Api::Sensitive, 24),
];

/// Who made a call.
struct Actor {
    identity: J,
    arn: String,
    account: String,
    ip: String,
    agent: String,
    /// An AWS service acting for the account (`AWSService` identity, no TLS details).
    service: bool,
}

/// The call-specific parts of a record.
struct Call {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    request: J,
    response: J,
    additional: Option<J>,
    resources: Option<J>,
    /// A data event (S3 objects, Lambda invocations, DynamoDB items).
    data: bool,
    event_type: &'static str,
}

impl Call {
    fn new(source: &'static str, name: &'static str, read_only: bool) -> Call {
        Call {
            source,
            name,
            read_only,
            request: J::Null,
            response: J::Null,
            additional: None,
            resources: None,
            data: false,
            event_type: "AwsApiCall",
        }
    }
    fn request(mut self, request: J) -> Call {
        self.request = request;
        self
    }
    fn response(mut self, response: J) -> Call {
        self.response = response;
        self
    }
    fn additional(mut self, additional: J) -> Call {
        self.additional = Some(additional);
        self
    }
    fn resources(mut self, resources: J) -> Call {
        self.resources = Some(resources);
        self
    }
    fn data(mut self) -> Call {
        self.data = true;
        self
    }
}

/// An endless, deterministic stream of CloudTrail records.
pub struct Events {
    rng: Rng,
    seed: u64,
    count: u64,
    /// Milliseconds since the Unix epoch of the last record; records are in time order.
    time_ms: i64,
}

/// 2024-01-17T00:00:00Z.
const START_SECS: i64 = 1_705_449_600;

impl Events {
    pub fn new(seed: u64) -> Events {
        Events {
            rng: Rng::new(seed),
            seed,
            count: 0,
            time_ms: START_SECS * 1000,
        }
    }

    /// Appends the next record to `out` as one line of JSON (without the newline).
    pub fn write_next(&mut self, out: &mut String) {
        self.next_record().write_json(out);
    }

    fn next_record(&mut self) -> J {
        self.count += 1;
        self.time_ms += self.rng.below(170) as i64; // about a million records a day
        let now = self.time_ms / 1000;
        let api = self.pick_api();
        let region = match api {
            Api::ConsoleLogin => "us-east-1",
            _ => *self.rng.pick(&REGIONS),
        };
        let recipient = match self.rng.chance(50) {
            true => *self.rng.pick(&OTHER_ACCOUNTS),
            false => ACCOUNT,
        };
        let actor = self.actor(api, recipient, now);
        let call = self.call(api, &actor, recipient, region);
        let failed = !actor.service && api != Api::ConsoleLogin && self.rng.chance(20);
        let host = call.source.trim_end_matches(".amazonaws.com");

        let mut fields = vec![
            (
                "eventVersion",
                j!((if call.data { "1.09" } else { "1.08" })),
            ),
            ("userIdentity", actor.identity),
            ("eventTime", j!((rfc3339(now)))),
            ("eventSource", j!((call.source))),
            ("eventName", j!((call.name))),
            ("awsRegion", j!(region)),
            ("sourceIPAddress", j!((&actor.ip))),
            ("userAgent", j!((&actor.agent))),
        ];
        if failed {
            let (code, action) = match call.source {
                "ec2.amazonaws.com" => ("Client.UnauthorizedOperation", "ec2"),
                _ => ("AccessDenied", host),
            };
            let message = format!(
                "User: {} is not authorized to perform: {action}:{} because no identity-based policy allows the {action}:{} action",
                actor.arn, call.name, call.name
            );
            fields.push(("errorCode", j!(code)));
            fields.push(("errorMessage", j!(message)));
        }
        fields.push(("requestParameters", call.request));
        fields.push((
            "responseElements",
            if failed { J::Null } else { call.response },
        ));
        if let Some(additional) = call.additional {
            fields.push(("additionalEventData", additional));
        }
        let request_id = match call.source {
            "s3.amazonaws.com" => self.rng.upper(16),
            _ => self.rng.uuid(),
        };
        let event_id = uuid_from(mix(self.count ^ mix(self.seed)), self.rng.next_u64());
        fields.push(("requestID", j!(request_id)));
        fields.push(("eventID", j!(event_id)));
        fields.push(("readOnly", j!((call.read_only))));
        if let Some(resources) = call.resources {
            fields.push(("resources", resources));
        }
        fields.push(("eventType", j!((call.event_type))));
        fields.push(("managementEvent", j!((!call.data))));
        fields.push(("recipientAccountId", j!(recipient)));
        if actor.account != recipient && !actor.service {
            fields.push(("sharedEventID", j!((self.rng.uuid()))));
        }
        let category = if call.data { "Data" } else { "Management" };
        fields.push(("eventCategory", j!(category)));
        if !actor.service {
            let header = format!("{host}.{region}.amazonaws.com");
            fields.push((
                "tlsDetails",
                j!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": header}),
            ));
        }
        if actor.agent == "console.amazonaws.com" {
            fields.push(("sessionCredentialFromConsole", j!("true")));
        }
        J::Obj(fields)
    }

    fn pick_api(&mut self) -> Api {
        let total: u64 = MIX.iter().map(|(_, weight)| weight).sum();
        let mut roll = self.rng.below(total);
        for (api, weight) in MIX {
            if roll < weight {
                return api;
            }
            roll -= weight;
        }
        Api::GetObject
    }

    fn actor(&mut self, api: Api, recipient: &str, now: i64) -> Actor {
        let account = match self.rng.chance(10) {
            true => self.rng.pick(&OTHER_ACCOUNTS).to_string(),
            false => recipient.to_string(),
        };
        let roll = self.rng.below(1000);
        // Root acts in about one record in two thousand; people sign in as IAM users.
        if api == Api::ConsoleLogin || (roll < 1 && api != Api::AssumeRole) {
            return match roll < 1 || self.rng.chance(20) {
                true => self.root(&account, now),
                false => self.iam_user(&account, now, true),
            };
        }
        let by_service = matches!(api, Api::Decrypt | Api::GenerateDataKey | Api::AssumeRole);
        if by_service && roll < 250 {
            let service = *self.rng.pick(&SERVICES);
            return Actor {
                identity: j!({"type": "AWSService", "invokedBy": service}),
                arn: service.to_string(),
                account,
                ip: service.to_string(),
                agent: service.to_string(),
                service: true,
            };
        }
        match roll < 350 {
            true => self.iam_user(&account, now, false),
            false => self.assumed_role(&account, now),
        }
    }

    /// A caller address: mostly inside a VPC, some from AWS public ranges, some from the
    /// office (81.2.69.0/24).
    fn ip(&mut self) -> String {
        let (a, b, c) = (
            self.rng.below(256),
            self.rng.below(256),
            1 + self.rng.below(254),
        );
        match self.rng.below(10) {
            0..=5 => format!("10.{a}.{b}.{c}"),
            6 => format!("3.{}.{b}.{c}", 80 + self.rng.below(20)),
            7 => format!("52.{}.{b}.{c}", 1 + self.rng.below(90)),
            8 => format!("54.{}.{b}.{c}", 144 + self.rng.below(100)),
            _ => format!("81.2.69.{c}"),
        }
    }

    fn session_attributes(&mut self, now: i64, mfa: bool) -> J {
        let created = rfc3339(now - self.rng.below(3600) as i64);
        j!({"creationDate": created, "mfaAuthenticated": (if mfa { "true" } else { "false" })})
    }

    fn assumed_role(&mut self, account: &str, now: i64) -> Actor {
        let role = match self.rng.chance(5) {
            true => RARE_ROLE,
            false => *self.rng.pick(&ROLES),
        };
        let session = if role.starts_with("AWSReserved") || role == RARE_ROLE {
            format!("{}@example.com", self.rng.pick(&PEOPLE))
        } else if role.starts_with("eks") {
            format!("i-0{}", self.rng.hex(16))
        } else if role == "ci-deploy" {
            format!(
                "GitHubActions-{}",
                7_000_000_000 + self.rng.below(99_999_999)
            )
        } else {
            format!(
                "botocore-session-{}",
                1_705_000_000 + self.rng.below(400_000)
            )
        };
        let role_id = stable_id(role, "AROA", 17);
        let arn = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
        let identity = j!({
            "type": "AssumedRole",
            "principalId": (format!("{role_id}:{session}")),
            "arn": (&arn),
            "accountId": account,
            "accessKeyId": (format!("ASIA{}", self.rng.upper(16))),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": (format!("arn:aws:iam::{account}:role/{role}")),
                    "accountId": account,
                    "userName": role
                },
                "webIdFederationData": {},
                "attributes": (self.session_attributes(now, false))
            }
        });
        let console = role.starts_with("AWSReserved") && self.rng.chance(300);
        Actor {
            identity,
            arn,
            account: account.to_string(),
            ip: self.ip(),
            agent: match console {
                true => "console.amazonaws.com".to_string(),
                false => self.rng.pick(&AGENTS).to_string(),
            },
            service: false,
        }
    }

    fn iam_user(&mut self, account: &str, now: i64, console: bool) -> Actor {
        let user = *self.rng.pick(&USERS);
        let arn = format!("arn:aws:iam::{account}:user/{user}");
        let mut fields = vec![
            ("type", j!("IAMUser")),
            ("principalId", j!((stable_id(user, "AIDA", 17)))),
            ("arn", j!((&arn))),
            ("accountId", j!(account)),
        ];
        if !console {
            fields.push(("accessKeyId", j!((stable_id(user, "AKIA", 16)))));
        }
        fields.push(("userName", j!(user)));
        if console || self.rng.chance(100) {
            let mfa = self.rng.chance(800);
            let attributes = self.session_attributes(now, mfa);
            fields.push(("sessionContext", j!({ "attributes": attributes })));
        }
        Actor {
            identity: J::Obj(fields),
            arn,
            account: account.to_string(),
            ip: self.ip(),
            agent: match console {
                true => BROWSER.to_string(),
                false => self.rng.pick(&AGENTS).to_string(),
            },
            service: false,
        }
    }

    fn root(&mut self, account: &str, now: i64) -> Actor {
        let arn = format!("arn:aws:iam::{account}:root");
        let identity = j!({
            "type": "Root",
            "principalId": account,
            "arn": (&arn),
            "accountId": account,
            "accessKeyId": (format!("ASIA{}", self.rng.upper(16))),
            "sessionContext": { "attributes": (self.session_attributes(now, true)) }
        });
        Actor {
            identity,
            arn,
            account: account.to_string(),
            ip: format!("81.2.69.{}", 1 + self.rng.below(254)),
            agent: BROWSER.to_string(),
            service: false,
        }
    }

    fn bucket(&mut self) -> &'static str {
        match self.rng.chance(2) {
            true => SECRETS_BUCKET,
            false => BUCKETS[self.rng.below(BUCKETS.len() as u64) as usize],
        }
    }

    fn object_key(&mut self) -> String {
        let r = &mut self.rng;
        match r.below(2000) {
            0 => "config/prod/db_password.txt".to_string(),
            1 => format!("home/{}/.ssh/id_rsa", r.pick(&PEOPLE)),
            2..=1200 => format!(
                "warehouse/orders/dt=2024-01-{:02}/part-{:05}-{}.c000.snappy.parquet",
                10 + r.below(8),
                r.below(2000),
                r.uuid()
            ),
            1201..=1700 => format!("assets/img/{}.webp", r.hex(32)),
            _ => format!(
                "AWSLogs/{ACCOUNT}/elasticloadbalancing/us-east-1/2024/01/17/{ACCOUNT}_elasticloadbalancing_us-east-1_app.web-prod.{}_20240117T0{}05Z_10.0.{}.{}_{}.log.gz",
                r.hex(16), r.below(10), r.below(256), r.below(256), r.hex(8)
            ),
        }
    }

    fn s3_details(&mut self, bytes_in: u64, bytes_out: u64) -> J {
        j!({
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": (self.rng.base64(76)),
            "bytesTransferredOut": bytes_out
        })
    }

    fn s3_object(&mut self, name: &'static str, account: &str, region: &str) -> Call {
        let bucket = self.bucket();
        let key = self.object_key();
        let host = format!("{bucket}.s3.{region}.amazonaws.com");
        let size = self.rng.below(50_000_000);
        let put = name == "PutObject";
        let resources = j!([
            {"type": "AWS::S3::Object", "ARN": (format!("arn:aws:s3:::{bucket}/{key}"))},
            {"accountId": account, "type": "AWS::S3::Bucket", "ARN": (format!("arn:aws:s3:::{bucket}"))}
        ]);
        let details = match name {
            "PutObject" => self.s3_details(size, 0),
            "GetObject" => self.s3_details(0, size),
            _ => self.s3_details(0, 0),
        };
        let call = Call::new("s3.amazonaws.com", name, !put)
            .data()
            .additional(details)
            .resources(resources);
        if !put {
            return call.request(j!({"bucketName": bucket, "Host": host, "key": key}));
        }
        let kms_key = format!("arn:aws:kms:{region}:{account}:key/{}", kms_key_id(region));
        call.request(j!({
            "bucketName": bucket, "Host": host, "key": key,
            "x-amz-server-side-encryption": "aws:kms", "x-amz-acl": "bucket-owner-full-control"
        }))
        .response(j!({
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": kms_key,
            "x-amz-version-id": (self.rng.base64(32))
        }))
    }

    fn call(&mut self, api: Api, actor: &Actor, account: &str, region: &str) -> Call {
        match api {
            Api::GetObject => self.s3_object("GetObject", account, region),
            Api::PutObject => self.s3_object("PutObject", account, region),
            Api::HeadObject => self.s3_object("HeadObject", account, region),
            Api::ListObjects => self.list_objects(account, region),
            Api::Decrypt => self.kms("Decrypt", account, region),
            Api::GenerateDataKey => self.kms("GenerateDataKey", account, region),
            Api::AssumeRole => self.assume_role(account),
            Api::GetCallerIdentity => Call::new("sts.amazonaws.com", "GetCallerIdentity", true),
            Api::DescribeInstances => {
                let ids: Vec<J> = (0..1 + self.rng.below(3))
                    .map(|_| j!({"instanceId": (format!("i-0{}", self.rng.hex(16)))}))
                    .collect();
                Call::new("ec2.amazonaws.com", "DescribeInstances", true).request(j!({
                    "instancesSet": {"items": (J::Arr(ids))},
                    "filterSet": {"items": [{"name": "tag:aws:autoscaling:groupName", "valueSet": {"items": [{"value": "web-prod-asg"}]}}]}
                }))
            }
            Api::DescribeSecurityGroups => {
                let group = format!("sg-0{}", self.rng.hex(16));
                Call::new("ec2.amazonaws.com", "DescribeSecurityGroups", true).request(j!({
                    "securityGroupSet": {},
                    "securityGroupIdSet": {"items": [{"groupId": group}]},
                    "filterSet": {}
                }))
            }
            Api::RunInstances => self.run_instances(account, region),
            Api::AuthorizeSecurityGroupIngress => self.authorize_ingress(account),
            Api::GetRole => Call::new("iam.amazonaws.com", "GetRole", true)
                .request(j!({"roleName": (*self.rng.pick(&ROLES))})),
            Api::CreateUser => {
                let user = format!("svc-{}", self.rng.hex(6));
                Call::new("iam.amazonaws.com", "CreateUser", false)
                    .request(j!({ "userName": (&user) }))
                    .response(j!({"user": {
                        "path": "/",
                        "userName": (&user),
                        "userId": (format!("AIDA{}", self.rng.upper(17))),
                        "arn": (format!("arn:aws:iam::{account}:user/{user}")),
                        "createDate": "Jan 17, 2024, 10:12:44 AM"
                    }}))
            }
            Api::CreateAccessKey => {
                let user = *self.rng.pick(&USERS);
                Call::new("iam.amazonaws.com", "CreateAccessKey", false)
                    .request(j!({ "userName": user }))
                    .response(j!({"accessKey": {
                        "userName": user,
                        "accessKeyId": (format!("AKIA{}", self.rng.upper(16))),
                        "status": "Active",
                        "createDate": "Jan 17, 2024, 10:12:44 AM"
                    }}))
            }
            Api::AttachUserPolicy => {
                let policy = *self.rng.pick(&[
                    "arn:aws:iam::aws:policy/AdministratorAccess",
                    "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                    "arn:aws:iam::123456789012:policy/ci-deploy-boundary",
                ]);
                Call::new("iam.amazonaws.com", "AttachUserPolicy", false)
                    .request(j!({"userName": (*self.rng.pick(&USERS)), "policyArn": policy}))
            }
            Api::Invoke => {
                let name = *self.rng.pick(&["orders-api-prod", "image-resize", "audit-forwarder"]);
                let function = format!("arn:aws:lambda:{region}:{account}:function:{name}");
                Call::new("lambda.amazonaws.com", "Invoke", false)
                    .data()
                    .request(j!({"functionName": (&function), "invocationType": "RequestResponse", "logType": "None", "qualifier": "$LATEST"}))
                    .additional(j!({"functionVersion": (format!("{function}:$LATEST"))}))
                    .resources(j!([{"accountId": account, "type": "AWS::Lambda::Function", "ARN": function}]))
            }
            Api::GetItem => {
                let table = format!("arn:aws:dynamodb:{region}:{account}:table/orders-prod");
                let key = format!("ORDER#{}", self.rng.uuid());
                Call::new("dynamodb.amazonaws.com", "GetItem", true)
                    .data()
                    .request(j!({
                        "tableName": "orders-prod",
                        "key": {"pk": key, "sk": "META"},
                        "consistentRead": false,
                        "projectionExpression": "#0, #1, #2, #3"
                    }))
                    .resources(j!([{"accountId": account, "type": "AWS::DynamoDB::Table", "ARN": table}]))
            }
            Api::CreateLogStream => {
                let stream = format!("2024/01/17/[$LATEST]{}", self.rng.hex(32));
                Call::new("logs.amazonaws.com", "CreateLogStream", false).request(
                    j!({"logGroupName": "/aws/lambda/orders-api-prod", "logStreamName": stream}),
                )
            }
            Api::GetSecretValue => {
                let secret = format!(
                    "arn:aws:secretsmanager:{region}:{account}:secret:prod/orders/db-{}",
                    self.rng.hex(6)
                );
                Call::new("secretsmanager.amazonaws.com", "GetSecretValue", true)
                    .request(j!({ "secretId": secret }))
            }
            Api::GetParameter => {
                let name = match self.rng.chance(5) {
                    true => "/prod/break-glass/root-credentials",
                    false => *self.rng.pick(&["/prod/orders/db-url", "/prod/web/feature-flags", "/shared/ami/latest"]),
                };
                let decrypt = self.rng.chance(500);
                Call::new("ssm.amazonaws.com", "GetParameter", true)
                    .request(j!({"name": name, "withDecryption": decrypt}))
            }
            Api::DescribeDBInstances => Call::new("rds.amazonaws.com", "DescribeDBInstances", true)
                .request(j!({"maxRecords": 100})),
            Api::AuthorizeDBSecurityGroupIngress => {
                let group = *self.rng.pick(&["production-db-sg", "reporting-db-sg", "legacy-mysql"]);
                let cidr = *self.rng.pick(&["0.0.0.0/0", "10.20.0.0/16", "81.2.69.0/24"]);
                let arn = format!("arn:aws:rds:{region}:{account}:secgrp:{group}");
                Call::new("rds.amazonaws.com", "AuthorizeDBSecurityGroupIngress", false)
                    .request(j!({"dBSecurityGroupName": group, "cIDRIP": cidr}))
                    .response(j!({
                        "dBSecurityGroupName": group,
                        "ownerId": account,
                        "dBSecurityGroupDescription": "managed by terraform",
                        "iPRanges": [{"cIDRIP": cidr, "status": "authorizing"}],
                        "eC2SecurityGroups": [],
                        "dBSecurityGroupArn": arn
                    }))
            }
            Api::LookupEvents => Call::new("cloudtrail.amazonaws.com", "LookupEvents", true)
                .request(j!({"maxResults": 50, "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}]})),
            Api::StopLogging => {
                let trail = format!("arn:aws:cloudtrail:{region}:{account}:trail/org-trail");
                Call::new("cloudtrail.amazonaws.com", "StopLogging", false)
                    .request(j!({ "name": trail }))
            }
            Api::ConsoleLogin => {
                let outcome = if self.rng.chance(900) { "Success" } else { "Failure" };
                let mfa = if self.rng.chance(850) { "Yes" } else { "No" };
                let device = format!("arn:aws:iam::{}:mfa/{}", actor.account, self.rng.pick(&PEOPLE));
                let mut call = Call::new("signin.amazonaws.com", "ConsoleLogin", false)
                    .response(j!({ "ConsoleLogin": outcome }))
                    .additional(j!({
                        "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                        "MobileVersion": "No",
                        "MFAIdentifier": device,
                        "MFAUsed": mfa
                    }));
                call.event_type = "AwsConsoleSignIn";
                call
            }
            Api::Sensitive => {
                let (source, name) = *self.rng.pick(&sensitive_pairs());
                Call::new(source, name, false).request(j!({
                    "resourceName": (format!("prod-{}", self.rng.hex(8))),
                    "clientToken": (self.rng.uuid())
                }))
            }
        }
    }

    fn list_objects(&mut self, account: &str, region: &str) -> Call {
        let bucket = self.bucket();
        let prefix = format!("warehouse/orders/dt=2024-01-{:02}/", 10 + self.rng.below(8));
        let listed = self.rng.below(400_000);
        Call::new("s3.amazonaws.com", "ListObjects", true)
            .data()
            .request(j!({
                "list-type": "2", "bucketName": bucket, "encoding-type": "url", "max-keys": "1000",
                "prefix": prefix, "Host": (format!("{bucket}.s3.{region}.amazonaws.com"))
            }))
            .additional(self.s3_details(0, listed))
            .resources(j!([{"accountId": account, "type": "AWS::S3::Bucket", "ARN": (format!("arn:aws:s3:::{bucket}"))}]))
    }

    fn kms(&mut self, name: &'static str, account: &str, region: &str) -> Call {
        let key = format!("arn:aws:kms:{region}:{account}:key/{}", kms_key_id(region));
        let context = match self.rng.below(3) {
            0 => {
                j!({"aws:lambda:FunctionArn": (format!("arn:aws:lambda:{region}:{account}:function:orders-api-prod"))})
            }
            1 => {
                j!({"aws:s3:arn": (format!("arn:aws:s3:::{}/{}", self.bucket(), self.object_key()))})
            }
            _ => j!({
                "SecretARN": (format!("arn:aws:secretsmanager:{region}:{account}:secret:prod/orders/db-{}", self.rng.hex(6))),
                "SecretVersionId": (self.rng.uuid())
            }),
        };
        let request = match name {
            "Decrypt" => {
                j!({"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
            }
            _ => j!({"encryptionContext": context, "keyId": (&key), "keySpec": "AES_256"}),
        };
        Call::new("kms.amazonaws.com", name, true)
            .request(request)
            .resources(j!([{"accountId": account, "type": "AWS::KMS::Key", "ARN": key}]))
    }

    fn assume_role(&mut self, account: &str) -> Call {
        let role = *self.rng.pick(&ROLES);
        let target = match self.rng.chance(20) {
            true => *self.rng.pick(&OTHER_ACCOUNTS),
            false => account,
        };
        let role_arn = format!("arn:aws:iam::{target}:role/{role}");
        let session = format!(
            "botocore-session-{}",
            1_705_000_000 + self.rng.below(400_000)
        );
        let role_id = stable_id(role, "AROA", 17);
        Call::new("sts.amazonaws.com", "AssumeRole", true)
            .request(j!({"roleArn": (&role_arn), "roleSessionName": (&session), "durationSeconds": 3600}))
            .response(j!({
                "credentials": {
                    "accessKeyId": (format!("ASIA{}", self.rng.upper(16))),
                    "sessionToken": (self.rng.base64(420)),
                    "expiration": "Jan 17, 2024, 11:59:59 PM"
                },
                "assumedRoleUser": {
                    "assumedRoleId": (format!("{role_id}:{session}")),
                    "arn": (format!("arn:aws:sts::{target}:assumed-role/{role}/{session}"))
                }
            }))
            .resources(j!([{"accountId": target, "type": "AWS::IAM::Role", "ARN": role_arn}]))
    }

    fn authorize_ingress(&mut self, account: &str) -> Call {
        let cidr = match self.rng.below(10) {
            0 => "0.0.0.0/0".to_string(),
            1..=6 => format!("10.{}.0.0/16", self.rng.below(256)),
            _ => "81.2.69.0/24".to_string(),
        };
        let port = *self.rng.pick(&[22, 443, 5432, 3389, 8080]);
        let group = format!("sg-0{}", self.rng.hex(16));
        let rule_id = format!("sgr-0{}", self.rng.hex(16));
        Call::new("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false)
            .request(j!({
                "groupId": (&group),
                "ipPermissions": {"items": [{
                    "ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
                    "ipRanges": {"items": [{"cidrIp": (&cidr)}]}, "ipv6Ranges": {}, "prefixListIds": {}
                }]}
            }))
            .response(j!({
                "requestId": (self.rng.uuid()),
                "_return": true,
                "securityGroupRuleSet": {"items": [{
                    "groupOwnerId": account, "groupId": group, "securityGroupRuleId": rule_id,
                    "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": cidr
                }]}
            }))
    }

    fn run_instances(&mut self, account: &str, region: &str) -> Call {
        let r = &mut self.rng;
        let kind = *r.pick(&[
            "t3.medium",
            "m6i.large",
            "c6g.xlarge",
            "p4d.24xlarge",
            "r6i.2xlarge",
        ]);
        let (image, subnet, vpc) = (
            format!("ami-0{}", r.hex(16)),
            format!("subnet-0{}", r.hex(16)),
            format!("vpc-0{}", r.hex(16)),
        );
        let (instance, interface) = (format!("i-0{}", r.hex(16)), format!("eni-0{}", r.hex(16)));
        let ip = format!("10.0.{}.{}", r.below(256), 1 + r.below(254));
        let dns = format!("ip-{}.{region}.compute.internal", ip.replace('.', "-"));
        let (request_id, reservation) = (r.uuid(), format!("r-0{}", r.hex(16)));
        Call::new("ec2.amazonaws.com", "RunInstances", false)
            .request(j!({
                "instancesSet": {"items": [{"imageId": (&image), "minCount": 1, "maxCount": 1}]},
                "instanceType": kind,
                "blockDeviceMapping": {},
                "monitoring": {"enabled": false},
                "disableApiTermination": false,
                "disableApiStop": false,
                "clientToken": (r.uuid()),
                "subnetId": (&subnet),
                "iamInstanceProfile": {"arn": (format!("arn:aws:iam::{account}:instance-profile/web-prod"))},
                "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": "web-prod"}]}]}
            }))
            .response(j!({
                "requestId": request_id,
                "reservationId": reservation,
                "ownerId": account,
                "groupSet": {},
                "instancesSet": {"items": [{
                    "instanceId": instance, "imageId": image, "currentInstanceBootMode": "uefi",
                    "instanceState": {"code": 0, "name": "pending"},
                    "privateDnsName": dns, "amiLaunchIndex": 0, "productCodes": {}, "instanceType": kind,
                    "launchTime": 1_705_486_364_000i64,
                    "placement": {"availabilityZone": (format!("{region}a")), "tenancy": "default"},
                    "monitoring": {"state": "disabled"},
                    "subnetId": (&subnet), "vpcId": vpc, "privateIpAddress": (&ip),
                    "stateReason": {"code": "pending", "message": "pending"},
                    "architecture": "x86_64", "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda",
                    "blockDeviceMapping": {}, "virtualizationType": "hvm", "hypervisor": "xen",
                    "networkInterfaceSet": {"items": [{
                        "networkInterfaceId": interface, "subnetId": subnet, "ownerId": account,
                        "status": "in-use", "macAddress": "0e:5f:3a:91:c2:7b", "privateIpAddress": ip,
                        "sourceDestCheck": true, "interfaceType": "interface"
                    }]},
                    "ebsOptimized": false,
                    "enaSupport": true,
                    "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled"}
                }]}
            }))
    }
}

/// The KMS key of a region (the same in every record).
fn kms_key_id(region: &str) -> String {
    let id = stable(region).hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as CloudTrail writes `eventTime`.
fn rfc3339(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(86_400), unix_secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

/// `n` records as JSON lines (without newlines), from `seed`.
pub fn events(seed: u64, n: usize) -> Vec<String> {
    let mut stream = Events::new(seed);
    (0..n)
        .map(|_| {
            let mut line = String::with_capacity(2048);
            stream.write_next(&mut line);
            line
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Rules.
// ---------------------------------------------------------------------------------------

/// The seed rule of `rules.d/`: its logic and metadata, without its unit tests.
pub const SEED_RULE: &str = r#"AnalysisType: rule
RuleID: "AWS.RDS.SecurityGroupIngressAuthorized"
DisplayName: "AWS RDS Security Group Ingress Authorized"
Enabled: true
LogTypes:
  - AWS.CloudTrail
Tags:
  - AWS
  - Persistence
  - Defense Evasion
  - RDS
Severity: Medium
Description: >
  A classic (DB) security group of Amazon RDS was granted a new inbound rule.
Reference: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.RDSSecurityGroups.html
Reports:
  MITRE ATT&CK:
    - TA0003:T1098
    - TA0005:T1562.007
DedupPeriodMinutes: 60
Threshold: 1
SummaryAttributes:
  - eventName
  - userIdentity:principalId
  - requestParameters:dBSecurityGroupName
  - requestParameters:cIDRIP
  - p_any_aws_account_ids
Detection:
  - Key: eventSource
    Condition: Equals
    Value: rds.amazonaws.com
  - Key: eventName
    Condition: Equals
    Value: AuthorizeDBSecurityGroupIngress
  - Key: errorCode
    Condition: IsNull
AlertTitle: >-
  RDS Security Group Ingress Authorized: [{requestParameters.dBSecurityGroupName}]
  from [{requestParameters.cIDRIP|requestParameters.eC2SecurityGroupName|'<UNKNOWN_SOURCE>'}]
  by [{userIdentity.userName|userIdentity.principalId}]
GroupBy:
  - Key: recipientAccountId
  - Key: awsRegion
  - KeyPath: requestParameters.dBSecurityGroupName
DynamicSeverities:
  - ChangeTo: Critical
    Conditions:
      - KeyPath: requestParameters.cIDRIP
        Condition: Equals
        Value: 0.0.0.0/0
AlertContext:
  - KeyName: security_group_name
    KeyValue: { KeyPath: requestParameters.dBSecurityGroupName, Default: N/A }
  - KeyName: cidr_ip
    KeyValue: { KeyPath: requestParameters.cIDRIP, Default: N/A }
"#;

/// `{Key|KeyPath: path, Condition: condition[, Value: value]}`; a dotted or indexed path is a
/// `KeyPath`.
fn check(path: &str, condition: &str, value: Option<J>) -> J {
    let key = if path.contains(['.', '[']) {
        "KeyPath"
    } else {
        "Key"
    };
    let mut fields = vec![(key, j!(path)), ("Condition", j!(condition))];
    fields.extend(value.map(|v| ("Value", v)));
    J::Obj(fields)
}

fn is(path: &str, condition: &str, value: &str) -> J {
    check(path, condition, Some(j!(value)))
}

fn bare(path: &str, condition: &str) -> J {
    check(path, condition, None)
}

fn with_values(path: &str, condition: &str, values: Vec<J>) -> J {
    let J::Obj(mut fields) = bare(path, condition) else {
        unreachable!()
    };
    fields.push(("Values", J::Arr(values)));
    J::Obj(fields)
}

fn is_in(path: &str, values: &[&str]) -> J {
    with_values(path, "IsIn", values.iter().map(|v| j!(*v)).collect())
}

fn any(children: Vec<J>) -> J {
    j!({ "Any": (J::Arr(children)) })
}

fn any_element(path: &str, expressions: Vec<J>) -> J {
    j!({"KeyPath": path, "Condition": "AnyElement", "Expressions": (J::Arr(expressions))})
}

/// One synthetic rule before rendering.
struct Draft {
    name: String,
    severity: &'static str,
    tag: &'static str,
    threshold: u32,
    group_by: Option<&'static str>,
    detection: Vec<J>,
}

fn draft(name: impl Into<String>, severity: &'static str, tag: &'static str) -> Draft {
    Draft {
        name: name.into(),
        severity,
        tag,
        threshold: 1,
        group_by: None,
        detection: Vec::new(),
    }
}

impl Draft {
    fn detect(mut self, detection: Vec<J>) -> Draft {
        self.detection = detection;
        self
    }

    fn threshold(mut self, threshold: u32, group_by: &'static str) -> Draft {
        self.threshold = threshold;
        self.group_by = Some(group_by);
        self
    }

    fn render(self, id: &str) -> String {
        let mut out = String::with_capacity(1024);
        let _ = write!(
            out,
            "AnalysisType: rule\nRuleID: \"{id}\"\nDisplayName: \"{}\"\nEnabled: true\n\
             LogTypes:\n  - AWS.CloudTrail\nTags:\n  - Synthetic\n  - {}\nSeverity: {}\n\
             Description: Generated for benchmarks by benches/support/synth.rs.\n\
             DedupPeriodMinutes: 60\nThreshold: {}\n\
             SummaryAttributes:\n  - eventName\n  - userIdentity:arn\n  - sourceIPAddress\n\
             Detection:",
            self.name, self.tag, self.severity, self.threshold
        );
        J::Arr(self.detection).write_yaml_value(2, &mut out);
        let _ = writeln!(
            out,
            "AlertTitle: \"{} by {{userIdentity.arn|userIdentity.invokedBy}} in {{recipientAccountId}}\"",
            self.name
        );
        if let Some(key) = self.group_by {
            let kind = if key.contains('.') { "KeyPath" } else { "Key" };
            let _ = writeln!(out, "GroupBy:\n  - {kind}: {key}");
        }
        out
    }
}

/// The rule families besides "a sensitive call succeeded", cycled through in order; the
/// variant changes a value or two, so no two rules are the same.
const FAMILIES: usize = 14;

fn family(kind: usize, v: usize) -> Draft {
    let source = |s: &str| is("eventSource", "Equals", s);
    let name = |n: &str| is("eventName", "Equals", n);
    let pick = |options: [&'static str; 3]| options[v % 3];
    match kind {
        0 => draft("IAM user or credentials created outside automation", "Medium", "Persistence").detect(vec![
            source("iam.amazonaws.com"),
            is_in("eventName", &["CreateUser", "CreateLoginProfile", "UpdateLoginProfile", "CreateAccessKey"]),
            is("userIdentity.arn", "DoesNotEndWith", pick(["/terraform", "/ci-deploy", "/OrganizationAccountAccessRole"])),
            bare("errorCode", "IsNull"),
        ]),
        1 => draft("Administrator policy attached", "High", "Privilege Escalation").detect(vec![
            source("iam.amazonaws.com"),
            is_in("eventName", &["AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"]),
            any(vec![
                is("requestParameters.policyArn", "EndsWith", "/AdministratorAccess"),
                is("requestParameters.policyArn", "IContains", pick(["poweruser", "fullaccess", "iamfull"])),
            ]),
        ]),
        2 => draft("Security group opened to the internet", "High", "Defense Evasion").detect(vec![
            source("ec2.amazonaws.com"),
            name("AuthorizeSecurityGroupIngress"),
            is_in("requestParameters.ipPermissions.items[*].ipRanges.items[*].cidrIp", &["0.0.0.0/0"]),
            with_values("requestParameters.ipPermissions.items[*].fromPort", "IsIn", vec![j!(22), j!(3389), j!(([5432, 3306, 1433][v % 3]))]),
        ]),
        3 => draft("Sensitive object read from S3", "Medium", "Collection").detect(vec![
            source("s3.amazonaws.com"),
            is_in("eventName", &["GetObject", "CopyObject"]),
            any(vec![
                is("requestParameters.key", "IContains", "password"),
                is("requestParameters.key", "IEndsWith", pick(["/id_rsa", ".pem", ".kdbx"])),
            ]),
            bare("errorCode", "IsNull"),
        ]),
        4 => draft("Secrets bucket read from a public address", "High", "Exfiltration").detect(vec![
            source("s3.amazonaws.com"),
            name("GetObject"),
            any_element("resources", vec![
                is("type", "Equals", "AWS::S3::Bucket"),
                is("ARN", "StartsWith", pick(["arn:aws:s3:::prod-secrets", "arn:aws:s3:::prod-secrets-config", "arn:aws:s3:::vault-"])),
            ]),
            bare("sourceIPAddress", "IsIPAddressPublic"),
            is("sourceIPAddress", "IsIPAddressNotInCIDR", "81.2.69.0/24"),
        ]),
        5 => draft("Console login without MFA", "Medium", "Initial Access").detect(vec![
            source("signin.amazonaws.com"),
            name("ConsoleLogin"),
            is("additionalEventData.MFAUsed", "Equals", "No"),
            is("responseElements.ConsoleLogin", "Equals", "Success"),
            is("userIdentity.type", "DoesNotEqual", "AssumedRole"),
        ]),
        6 => draft("Console logins failing from outside the office", "Low", "Credential Access")
            .detect(vec![
                source("signin.amazonaws.com"),
                name("ConsoleLogin"),
                is("responseElements.ConsoleLogin", "Equals", "Failure"),
                with_values("sourceIPAddress", "IsIPAddressNotInCIDR", vec![j!("81.2.69.0/24"), j!((pick(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])))]),
            ])
            .threshold(3, "sourceIPAddress"),
        7 => draft("CloudTrail logging changed", "High", "Defense Evasion").detect(vec![
            source("cloudtrail.amazonaws.com"),
            is_in("eventName", &["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]),
            bare("errorCode", "IsNull"),
        ]),
        8 => draft("KMS decrypt by a temporary or scripted principal", "Low", "Collection").detect(vec![
            source("kms.amazonaws.com"),
            is_in("eventName", &["Decrypt", "GenerateDataKey"][..1 + v % 2]),
            any(vec![
                is("userIdentity.sessionContext.sessionIssuer.userName", "StartsWith", "temp-"),
                j!({"All": [
                    (bare("sourceIPAddress", "IsIPAddressPublic")),
                    (is("userAgent", "IContains", pick(["curl", "python-requests", "powershell"])))
                ]}),
            ]),
            bare("errorCode", "IsNull"),
        ]),
        9 => draft("Role assumed across accounts", "Info", "Lateral Movement").detect(vec![
            source("sts.amazonaws.com"),
            name("AssumeRole"),
            is("userIdentity.type", "Equals", "AssumedRole"),
            j!({"Condition": "DoesNotEqual", "Values": [{"KeyPath": "userIdentity.accountId"}, {"Key": "recipientAccountId"}]}),
            any_element("resources", vec![is("ARN", "IContains", pick(["OrganizationAccountAccessRole", "AdministratorAccess", "ci-deploy"]))]),
        ]),
        10 => draft("GPU instances launched", "Low", "Impact").detect(vec![
            source("ec2.amazonaws.com"),
            name("RunInstances"),
            any(vec![
                is("requestParameters.instanceType", "StartsWith", "p4"),
                is("requestParameters.instanceType", "StartsWith", pick(["p5", "g5", "trn1"])),
            ]),
        ]),
        11 => {
            // Pinned to a source only: the name is a prefix, not an equality.
            let service = ["guardduty", "config", "organizations", "securityhub", "access-analyzer", "macie2"][v % 6];
            draft(format!("Security service disabled ({service})"), "High", "Defense Evasion").detect(vec![
                source(&format!("{service}.amazonaws.com")),
                any(vec![
                    is("eventName", "StartsWith", "Delete"),
                    is("eventName", "StartsWith", "Disable"),
                    is("eventName", "StartsWith", "Stop"),
                    name("LeaveOrganization"),
                ]),
                bare("errorCode", "IsNull"),
            ])
        }
        12 => {
            // Pinned to a name only.
            let names: &[&str] = [
                &["PutBucketPolicy", "PutBucketAcl"][..],
                &["DeleteBucketPolicy", "DeleteBucketPublicAccessBlock"],
                &["GetSecretValue"],
            ][v % 3];
            draft(format!("{} by a human from a public address", names.join("/")), "Medium", "Exfiltration").detect(vec![
                is_in("eventName", names),
                is_in("userIdentity.type", &["IAMUser", "Root"]),
                bare("sourceIPAddress", "IsIPAddressPublic"),
            ])
        }
        _ => draft("Break-glass parameter read", "High", "Credential Access")
            .detect(vec![
                source("ssm.amazonaws.com"),
                name("GetParameter"),
                check("requestParameters.withDecryption", "Equals", Some(j!(true))),
                is("requestParameters.name", "IContains", pick(["break-glass", "root-credentials", "/admin/"])),
                is("userIdentity.sessionContext.sessionIssuer.userName", "DoesNotStartWith", "ci-"),
            ])
            .threshold(1, "userIdentity.arn"),
    }
}

/// "A sensitive call succeeded", for one (source, name) pair, in three styles.
fn sensitive(source: &str, name: &str, variant: usize) -> Draft {
    let mut detection = vec![
        is("eventSource", "Equals", source),
        is("eventName", "Equals", name),
    ];
    match variant % 3 {
        0 => detection.push(bare("errorCode", "IsNull")),
        1 => {
            detection.push(bare("errorCode", "DoesNotExist"));
            detection.push(is("userIdentity.type", "DoesNotEqual", "AWSService"));
        }
        _ => detection.push(any(vec![
            is("userIdentity.type", "Equals", "Root"),
            is(
                "userIdentity.sessionContext.attributes.mfaAuthenticated",
                "Equals",
                "false",
            ),
        ])),
    }
    let severity = ["Medium", "High", "Low"][variant % 3];
    draft(format!("{name} called"), severity, "Sensitive API").detect(detection)
}

/// The unindexed rules: they pin neither eventSource nor eventName.
fn unindexed(variant: usize) -> Draft {
    if variant.is_multiple_of(2) {
        return draft("Root account activity", "High", "Privilege Escalation").detect(vec![
            is("userIdentity.type", "Equals", "Root"),
            bare("userIdentity.invokedBy", "IsNull"),
            is("eventType", "DoesNotEqual", "AwsServiceEvent"),
        ]);
    }
    draft(
        "Repeated access denied from a public address",
        "Low",
        "Discovery",
    )
    .detect(vec![
        is_in(
            "errorCode",
            &[
                "AccessDenied",
                "Client.UnauthorizedOperation",
                "UnauthorizedOperation",
            ],
        ),
        is_in("userIdentity.type", &["IAMUser", "Root"]),
        bare("sourceIPAddress", "IsIPAddressPublic"),
        is("userAgent", "DoesNotStartWith", "aws-internal"),
    ])
    .threshold(10, "userIdentity.arn")
}

/// `n` rule files as (file name, YAML text). The first is always the seed rule; the 13th of
/// every 25 is unindexed (2 in 50, 8 in 200); of the rest, every other one guards a
/// sensitive call and the others cycle through the rule families.
pub fn rules(n: usize) -> Vec<(String, String)> {
    let pairs = sensitive_pairs();
    let mut out = Vec::with_capacity(n);
    let mut indexed = 0usize;
    for i in 0..n {
        if i == 0 {
            let name = "aws_rds_security_group_ingress_authorized.yml";
            out.push((name.to_string(), SEED_RULE.to_string()));
            continue;
        }
        let (slug, rule) = if i % 25 == 12 {
            ("unindexed", unindexed(i / 25))
        } else {
            let (k, odd) = (indexed / 2, indexed % 2 == 1);
            indexed += 1;
            if odd {
                ("family", family(k % FAMILIES, k / FAMILIES))
            } else {
                let (source, name) = pairs[k % pairs.len()];
                ("sensitive", sensitive(source, name, k + k / pairs.len()))
            }
        };
        let id = format!("Synthetic.{slug}.{i:04}");
        out.push((format!("synthetic_{slug}_{i:04}.yml"), rule.render(&id)));
    }
    out
}
