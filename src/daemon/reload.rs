//! Applying a load to the running daemon, at start and at every reload.
//!
//! Both go through `setup::load` and [`apply_rules`], so broken rule files are reported the
//! same way whenever they are met; a reload whose config or sinks are broken applies nothing
//! ([`Running::reject`]). The policy itself is described in `setup`.

use super::metrics::Metrics;
use super::setup;
use super::systemd::Notifier;
use crate::alert::Alert;
use crate::rule::RuleSet;
use crate::rule_loader::LoadedRule;
use crate::sink::Router;
use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What a reload needs from the running daemon.
pub(super) struct Running {
    pub config_path: Option<PathBuf>,
    pub rules: Arc<ArcSwap<RuleSet>>,
    /// The rules in `rules`, with the files they came from (a broken file keeps these).
    pub running_rules: std::sync::Mutex<Vec<LoadedRule>>,
    pub router: Router,
    pub metrics: Arc<Metrics>,
    pub notifier: Notifier,
}

/// Swaps in the rules of `loaded` and reports its broken rule files: logged as
/// `path:line:col: message`, counted in `trailwatch_rule_errors`, and sent to the sinks as an
/// internal `trailwatch.rule_errors` alert. The same at start and at reload.
pub(super) async fn apply_rules(
    loaded: &setup::Setup,
    rules: &ArcSwap<RuleSet>,
    router: &Router,
    metrics: &Metrics,
) -> Vec<LoadedRule> {
    let set = RuleSet::new(loaded.rules.iter().map(|l| l.rule.clone()).collect());
    let count = set.len();
    rules.store(Arc::new(set));
    metrics.rules_loaded.store(count as u64, Ordering::Relaxed);
    metrics
        .rule_errors
        .store(loaded.rule_errors.len() as u64, Ordering::Relaxed);
    *metrics.rules_hash.lock().unwrap_or_else(|e| e.into_inner()) = loaded.hash.clone();
    tracing::info!(rules = count, hash = %loaded.hash, dir = %loaded.config.rules_dir.display(), "rules loaded");
    if loaded.rule_errors.is_empty() {
        return loaded.rules.clone();
    }
    let errors: Vec<String> = loaded.rule_errors.iter().map(ToString::to_string).collect();
    // `file`, `line` and `column` are stable field names for log shippers (OPERATIONS.md).
    for e in &loaded.rule_errors {
        let (file, line, column) = (e.path.display(), e.line, e.column);
        tracing::error!(%file, line, column, "{e}");
    }
    for path in &loaded.kept_files {
        tracing::warn!(file = %path.display(), "broken rule file: its previous version keeps running");
    }
    tracing::error!(
        errors = errors.len(),
        "rule errors: broken files are skipped (or keep their previous version), the other rules run"
    );
    let mut context = Map::new();
    context.insert("errors".into(), Value::from(errors.clone()));
    let alert = Alert::internal(
        "trailwatch.rule_errors",
        format!("trailwatch rule errors: {} error(s)", errors.len()),
        errors.join("\n"),
        context,
    );
    if let Err(e) = router.publish(&alert).await {
        tracing::error!(error = %e, "cannot deliver the rule_errors alert");
    }
    loaded.rules.clone()
}

impl Running {
    /// Loads and validates everything through the same path as start; applies it, or keeps
    /// what runs when the config or a sink is broken.
    pub async fn reload(&self) {
        self.notifier.reloading();
        let result = {
            let running = self.running_rules.lock().unwrap_or_else(|e| e.into_inner());
            setup::load(self.config_path.as_deref(), &running)
        };
        let loaded = match result {
            Ok(loaded) => loaded,
            Err(fatal) => {
                self.reject(fatal).await;
                self.notifier.ready();
                return;
            }
        };
        if let Err(e) = self.router.reload(loaded.sinks.clone()).await {
            self.reject(setup::Fatal(vec![crate::error::Located::new(
                &loaded.config.sinks_dir,
                1,
                1,
                e.to_string(),
            )]))
            .await;
            self.notifier.ready();
            return;
        }
        let running = apply_rules(&loaded, &self.rules, &self.router, &self.metrics).await;
        *self.running_rules.lock().unwrap_or_else(|e| e.into_inner()) = running;
        self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
        self.metrics.facts.reloaded(true, 0);
        tracing::info!(rules = loaded.rules.len(), hash = %loaded.hash, "reloaded");
        self.notifier.ready();
    }

    /// A reload that cannot apply: every error logged, counted and sent as an internal alert.
    async fn reject(&self, fatal: setup::Fatal) {
        self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
        let errors: Vec<String> = fatal.0.iter().map(ToString::to_string).collect();
        self.metrics.facts.reloaded(false, errors.len());
        for e in &errors {
            tracing::error!("{e}");
        }
        tracing::error!(
            errors = errors.len(),
            "reload rejected; the running rules and sinks are kept"
        );
        let mut context = Map::new();
        context.insert("errors".into(), Value::from(errors.clone()));
        let alert = Alert::internal(
            "trailwatch.reload_failed",
            format!("trailwatch reload failed: {} error(s)", errors.len()),
            errors.join("\n"),
            context,
        );
        if let Err(e) = self.router.publish(&alert).await {
            tracing::error!(error = %e, "cannot deliver the reload_failed alert");
        }
    }
}
