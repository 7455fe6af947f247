//! The soak's sequence: feed with kills, stop, replay, a final clean run, compare.

use super::daemon::{sample, Daemon, Sinks};
use super::feed::{self, Chunk, Feed, Target};
use super::filesink::FileSink;
use super::slack::Slack;
use super::synth::Rng;
use super::syslog::Syslog;
use super::verdict::{AlertInfo, SinkVerdict};
use super::{Options, Report};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const READ: &str = "trailwatch_records_read_total";
/// How long the daemon may take to read one chunk, or to settle after a restart.
const PROGRESS_DEADLINE: Duration = Duration::from_secs(120);
/// The final run ends when every sink has everything, or nothing arrived for this long.
const DRAIN_STALL: Duration = Duration::from_secs(60);

/// Runs the soak described by `o`.
pub fn soak(o: &Options) -> Result<Report, String> {
    let started = Instant::now();
    let say = |text: String| {
        if o.verbose {
            eprintln!("chaos: {text}");
        }
    };
    let replay_dir = o.work.join("replay");
    std::fs::create_dir_all(&replay_dir).map_err(|e| format!("{}: {e}", replay_dir.display()))?;
    let mut feed = Feed::new(o.seed, &o.rules, 2)?;
    let slack = Slack::start(o.seed ^ 0x51ac, o.slack_fail_per_mille).map_err(|e| e.to_string())?;
    let syslog = Syslog::start(o.seed ^ 0x5151, o.syslog_max_uptime).map_err(|e| e.to_string())?;
    // Slack takes the injected rules but one: the background traffic alone matches
    // AWS.CloudTrail.IMDSCredentialExfiltration in about 3% of records (16,000 alerts in the
    // full soak). No one pages a channel with that, and honouring a 1 s Retry-After for each
    // tenth of them would take most of an hour.
    let slack_rule_ids: Vec<String> = feed
        .rule_ids()
        .iter()
        .filter(|id| **id != "AWS.CloudTrail.IMDSCredentialExfiltration")
        .map(|s| s.to_string())
        .collect();
    let sinks = Sinks {
        slack_url: slack.url(),
        slack_rule_ids: slack_rule_ids.clone(),
        syslog: syslog.addr,
    };
    let mut daemon = Daemon::prepare(&o.binary, &o.work.join("daemon"), &o.rules, &sinks)?;
    let inbox = daemon.root.join("inbox");
    let mut file = FileSink::watch(daemon.root.join("alerts.jsonl"));
    daemon.start()?;
    let mut report = Report {
        policy: o.policy,
        ..Report::default()
    };
    let mut kills = Vec::new();
    let mut rng = Rng::new(o.seed ^ 0x0c4a05);

    // Kill moments: one seeded record position in each of `kills` equal slices of the stream.
    let slice = (o.records / o.kills.max(1)).max(1) as u64;
    let mut kill_at: Vec<u64> = (0..o.kills as u64)
        .map(|i| i * slice + rng.below(slice))
        .collect();
    kill_at.reverse();
    let mut baseline = settle(&mut daemon)?;
    let mut fed_since_start = 0u64;
    let mut fed = 0u64;
    while (fed as usize) < o.records {
        let (low, high) = o.chunk_records;
        let size =
            (low + rng.below((high - low + 1) as u64) as usize).min(o.records - fed as usize);
        let chunk = feed.next_chunk(&inbox, size);
        feed::write_replay_copy(&chunk, &replay_dir).map_err(|e| format!("replay copy: {e}"))?;
        deliver(&chunk, &mut rng).map_err(|e| format!("inbox: {e}"))?;
        fed += size as u64;
        fed_since_start += size as u64;
        report.chunks += 1;
        if kill_at.last().is_some_and(|&at| at < fed) {
            kill_at.pop();
            // A random moment while the daemon works on what it was just given.
            std::thread::sleep(Duration::from_millis(rng.below(400)));
            daemon.kill();
            kills.push(Instant::now());
            report.kills += 1;
            say(format!("SIGKILL {} at record {fed}", report.kills));
            daemon.start()?;
            baseline = settle(&mut daemon)?;
            fed_since_start = 0;
        } else {
            wait_read(&mut daemon, baseline + fed_since_start)?;
        }
    }
    // Kills whose moment fell in the last chunk.
    while kill_at.pop().is_some() {
        daemon.kill();
        kills.push(Instant::now());
        report.kills += 1;
        daemon.start()?;
    }
    settle(&mut daemon)?;
    daemon.stop(Duration::from_secs(60))?;
    say(format!(
        "fed {fed} records in {} chunks; replaying",
        report.chunks
    ));
    report.records = fed;
    report.injected = feed.injected();

    let expected = replay(&daemon, &o.rules, &replay_dir)?;
    report.replay_alerts = expected.len();
    let slack_expected: BTreeMap<String, AlertInfo> = expected
        .iter()
        .filter(|(_, info)| slack_rule_ids.contains(&info.rule_id))
        .map(|(id, info)| (id.clone(), info.clone()))
        .collect();

    // The final clean run: everything left in the spools is delivered, then SIGTERM.
    say("final clean run".into());
    daemon.start()?;
    let received = |s: &Slack, l: &Syslog, f: &FileSink| {
        (
            s.log.lock().unwrap().accepted.clone(),
            l.log.lock().unwrap().received.clone(),
            f.log.lock().unwrap().received.clone(),
        )
    };
    settle(&mut daemon)?;
    // Done when every sink has something for every expected alert (the common case), or its
    // queue has stayed empty for two seconds (an expected id may never come: see the
    // verdict's re-windowed alerts), or nothing arrived for a minute.
    let (mut last_total, mut last_change, mut empty_since) = (0, Instant::now(), None);
    loop {
        let (s, l, f) = received(&slack, &syslog, &file);
        let has_all = |got: &[(String, Instant)], want: &BTreeMap<String, AlertInfo>| {
            let got: std::collections::BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
            want.keys().all(|id| got.contains(id))
        };
        if has_all(&s, &slack_expected) && has_all(&l, &expected) && has_all(&f, &expected) {
            break;
        }
        if daemon.metric("trailwatch_sink_queue_depth") == Some(0.0) {
            let since = *empty_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(2) {
                break;
            }
        } else {
            empty_since = None;
        }
        let total = s.len() + l.len() + f.len();
        if total != last_total {
            (last_total, last_change) = (total, Instant::now());
        } else if last_change.elapsed() > DRAIN_STALL {
            say("final run: nothing new arrived for 60 s; comparing what is there".into());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    daemon.stop(Duration::from_secs(60))?;
    file.finish();

    let (s, l, f) = received(&slack, &syslog, &file);
    let slack_log = slack.log.lock().unwrap();
    report.slack_refused_500 = slack_log.refused_500;
    report.slack_refused_429 = slack_log.refused_429;
    report.syslog_restarts = syslog.restarts.load(std::sync::atomic::Ordering::Relaxed);
    let syslog_malformed = syslog.log.lock().unwrap().malformed;
    let file_log = file.log.lock().unwrap();
    let published = &file_log.published;
    report.sinks = vec![
        SinkVerdict::new(
            "slack",
            &slack_expected,
            &s,
            published,
            &kills,
            slack_log.malformed,
        ),
        SinkVerdict::new("syslog", &expected, &l, published, &kills, syslog_malformed),
        SinkVerdict::new("file", &expected, &f, published, &kills, file_log.malformed),
    ];
    report.state_check = state_check(&daemon)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Puts a chunk into the inbox. Deliveries are written in place (a reader may see them cut
/// short); NDJSON appends are split in two writes at a random byte, so a reader may see half
/// a line.
fn deliver(chunk: &Chunk, rng: &mut Rng) -> std::io::Result<()> {
    match &chunk.target {
        Target::Delivery(path) => feed::write_delivery(path, &chunk.records),
        Target::Stream(path) => {
            let bytes = feed::ndjson(&chunk.records);
            let cut = rng.below(bytes.len() as u64) as usize;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(&bytes[..cut])?;
            file.flush()?;
            file.write_all(&bytes[cut..])
        }
    }
}

/// Waits until the daemon has read at least `records` since it started.
fn wait_read(daemon: &mut Daemon, records: u64) -> Result<(), String> {
    let deadline = Instant::now() + PROGRESS_DEADLINE;
    while Instant::now() < deadline {
        if !daemon.alive() {
            return Err("the daemon died on its own; see daemon/daemon.log".into());
        }
        if daemon.metric(READ).is_some_and(|n| n as u64 >= records) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!(
        "the daemon did not read {records} records within {PROGRESS_DEADLINE:?}"
    ))
}

/// Waits until a (re)started daemon has re-read what its checkpoints left and gone quiet:
/// nothing read for a second, no batch waiting. Returns the records it read meanwhile.
fn settle(daemon: &mut Daemon) -> Result<u64, String> {
    let deadline = Instant::now() + PROGRESS_DEADLINE;
    let (mut last, mut quiet_since) = (u64::MAX, Instant::now());
    let (mut lag, mut queue, mut unanswered) = (f64::NAN, f64::NAN, 0u32);
    while Instant::now() < deadline {
        if !daemon.alive() {
            return Err("the daemon died on its own; see daemon/daemon.log".into());
        }
        std::thread::sleep(Duration::from_millis(50));
        // One page per look, so the three figures describe the same moment. An unanswered
        // request tells nothing about progress: it neither ends nor restarts the quiet second.
        let Some(page) = daemon.metrics_text() else {
            unanswered += 1;
            continue;
        };
        let read = sample(&page, READ) as u64;
        lag = sample(&page, "trailwatch_checkpoint_lag_batches");
        queue = sample(&page, "trailwatch_pipeline_queue_depth");
        if read != last || lag != 0.0 || queue != 0.0 {
            (last, quiet_since) = (read, Instant::now());
        } else if quiet_since.elapsed() >= Duration::from_secs(1) {
            return Ok(read);
        }
    }
    // What it saw last, so a failure says whether the daemon was still reading or stuck.
    Err(format!(
        "the daemon did not settle after a restart within {PROGRESS_DEADLINE:?}: \
         records read {last}, checkpoint lag {lag} batches, queue depth {queue}, \
         {unanswered} unanswered /metrics requests"
    ))
}

/// `trailwatch replay --output alerts` over the chunk copies, by alert id.
fn replay(
    daemon: &Daemon,
    rules: &Path,
    dir: &Path,
) -> Result<BTreeMap<String, AlertInfo>, String> {
    let (rules, dir) = (rules.display().to_string(), dir.display().to_string());
    let (code, out, err) =
        daemon.command(&["replay", "--rules", &rules, "--output", "alerts", &dir])?;
    if code != Some(0) {
        return Err(format!("replay failed ({code:?}): {err}"));
    }
    out.lines()
        .map(|line| {
            let alert: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("replay output: {e}: {line}"))?;
            let id = alert["alert_id"].as_str().unwrap_or_default().to_string();
            Ok((id, AlertInfo::from_json(&alert)))
        })
        .collect()
}

/// `trailwatch state check`, when the subcommand exists.
fn state_check(daemon: &Daemon) -> Result<Option<bool>, String> {
    let (help, _, _) = daemon.command(&["state", "--help"])?;
    if help != Some(0) {
        return Ok(None);
    }
    let (code, out, err) = daemon.command(&["state", "check", "--config", "trailwatch.yaml"])?;
    if code != Some(0) {
        eprintln!("chaos: state check exited {code:?}:\n{out}{err}");
    }
    Ok(Some(code == Some(0)))
}
