//! The soak's input: a deterministic stream of CloudTrail records cut into chunks.
//!
//! Background traffic comes from the benchmark generator (`benches/support/synth.rs`), which
//! rarely trips a shipped rule. So that the soak has hundreds of alerts to lose or duplicate,
//! the positive `Tests` logs of the enabled rules in `rules.d/` are injected in bursts: the
//! same log repeated a few times within minutes (one dedup key, so windows fill up and
//! thresholds are reached), each copy with the stream's current `eventTime` and a fresh
//! `eventID`. Everything is in event-time order, as CloudTrail delivers it.
//!
//! Each chunk goes to the daemon's inbox either as a new `.json.gz` delivery file or as an
//! append to a growing NDJSON file, and is also written as its own numbered file under the
//! replay directory: `trailwatch replay` sorts its inputs by name, so it reads the chunks in
//! the order the daemon was fed them.

use super::synth;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a chunk goes in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new delivery file (`{"Records":[...]}`, gzipped) at this path.
    Delivery(PathBuf),
    /// Lines appended to this growing NDJSON file.
    Stream(PathBuf),
}

/// One piece of input, fed to the daemon as a whole.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub index: usize,
    pub target: Target,
    /// Records, one JSON object per entry, in event-time order.
    pub records: Vec<String>,
}

/// A rule's positive test log, ready to be stamped with a time and an id.
struct Template {
    rule_id: String,
    log: serde_json::Map<String, Value>,
}

/// The generator of chunks: background traffic plus injected bursts.
pub struct Feed {
    events: synth::Events,
    rng: synth::Rng,
    templates: Vec<Template>,
    /// Copies of a template still to inject, with the record count until the next one.
    burst: Option<(usize, usize, usize)>,
    injected: u64,
    next_chunk: usize,
    streams: usize,
}

impl Feed {
    /// A feed seeded with `seed`, injecting logs of the enabled rules under `rules_dir`.
    pub fn new(seed: u64, rules_dir: &Path, streams: usize) -> Result<Feed, String> {
        let templates = templates(rules_dir)?;
        if templates.is_empty() {
            return Err(format!("no positive test logs in {}", rules_dir.display()));
        }
        Ok(Feed {
            events: synth::Events::new(seed),
            rng: synth::Rng::new(seed ^ 0x5eed),
            templates,
            burst: None,
            injected: 0,
            next_chunk: 0,
            streams: streams.max(1),
        })
    }

    /// How many records came from rule test logs so far.
    pub fn injected(&self) -> u64 {
        self.injected
    }

    /// The next chunk of about `size` records; 40% of chunks are NDJSON appends.
    pub fn next_chunk(&mut self, inbox: &Path, size: usize) -> Chunk {
        self.next_chunk += 1;
        let index = self.next_chunk;
        let target = if self.rng.chance(400) {
            let stream = self.rng.below(self.streams as u64);
            Target::Stream(inbox.join(format!("streams/stream-{stream}.ndjson")))
        } else {
            Target::Delivery(inbox.join(format!("deliveries/{index:06}.json.gz")))
        };
        let records = (0..size).map(|_| self.next_record()).collect();
        Chunk {
            index,
            target,
            records,
        }
    }

    fn next_record(&mut self) -> String {
        let mut line = String::with_capacity(2048);
        self.events.write_next(&mut line);
        // About one record in 60 is injected; a burst repeats one log 1 to 25 times.
        let (template, left, _) = match self.burst.take() {
            Some((t, left, gap)) if gap > 0 => {
                self.burst = Some((t, left, gap - 1));
                return line;
            }
            Some(burst) => burst,
            None if self.rng.chance(3) => {
                let t = self.rng.below(self.templates.len() as u64) as usize;
                (t, 1 + self.rng.below(25) as usize, 0)
            }
            None => return line,
        };
        if left > 1 {
            self.burst = Some((template, left - 1, self.rng.below(40) as usize));
        }
        self.injected += 1;
        let time = event_time(&line)
            .unwrap_or("2024-01-17T00:00:00Z")
            .to_string();
        let mut log = self.templates[template].log.clone();
        log.insert("eventTime".into(), Value::String(time));
        let id = format!("chaos-{:016x}-{}", self.rng.next_u64(), self.injected);
        log.insert("eventID".into(), Value::String(id));
        Value::Object(log).to_string()
    }

    /// Rule ids whose logs are injected (for the report).
    pub fn rule_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.templates.iter().map(|t| t.rule_id.as_str()).collect();
        ids.dedup();
        ids
    }
}

/// The `eventTime` of a synthetic record (the generator writes it without spaces).
fn event_time(line: &str) -> Option<&str> {
    let start = line.find("\"eventTime\":\"")? + "\"eventTime\":\"".len();
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// The positive test logs of every enabled rule file in `dir` (sorted by file name, so the
/// feed does not depend on directory order).
fn templates(dir: &Path) -> Result<Vec<Template>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let Ok(doc) = serde_yaml::from_str::<Value>(&text) else {
            continue;
        };
        let (Some(rule_id), Some(tests)) = (doc["RuleID"].as_str(), doc["Tests"].as_array()) else {
            continue;
        };
        if doc["Enabled"] == Value::Bool(false) {
            continue;
        }
        for test in tests {
            let positive = test["ExpectedResult"] == Value::Bool(true);
            if let (true, None, Some(log)) = (positive, test.get("Mocks"), test["Log"].as_object())
            {
                out.push(Template {
                    rule_id: rule_id.to_string(),
                    log: log.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Writes `chunk` as its own file under `replay_dir` (the same bytes the daemon reads).
pub fn write_replay_copy(chunk: &Chunk, replay_dir: &Path) -> std::io::Result<()> {
    match &chunk.target {
        Target::Delivery(_) => write_delivery(
            &replay_dir.join(format!("{:06}.json.gz", chunk.index)),
            &chunk.records,
        ),
        Target::Stream(_) => std::fs::write(
            replay_dir.join(format!("{:06}.ndjson", chunk.index)),
            ndjson(&chunk.records),
        ),
    }
}

/// A gzipped `{"Records":[...]}` file.
pub fn write_delivery(path: &Path, records: &[String]) -> std::io::Result<()> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"Records\":[")?;
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            gz.write_all(b",")?;
        }
        gz.write_all(record.as_bytes())?;
    }
    gz.write_all(b"]}")?;
    std::fs::write(path, gz.finish()?)
}

/// Records as NDJSON bytes, each line ended by a newline.
pub fn ndjson(records: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
    for record in records {
        out.extend_from_slice(record.as_bytes());
        out.push(b'\n');
    }
    out
}
