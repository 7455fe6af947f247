//! Which alerts a sink wants: `min_severity` plus the optional `filter` lists.
//!
//! Filtering happens in `publish`, before an alert reaches a sink's queue, so an alert a sink
//! does not want costs it neither spool space nor a delivery attempt.

use super::config::{Delivery, FilterConfig};
use crate::alert::Alert;
use crate::severity::Severity;

/// A sink's compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFilter {
    min_severity: Severity,
    lists: FilterConfig,
}

impl AlertFilter {
    pub fn new(delivery: &Delivery<'_>) -> AlertFilter {
        AlertFilter {
            min_severity: delivery.min_severity,
            lists: delivery.filter.clone(),
        }
    }

    /// True when the sink should receive `alert`.
    pub fn accepts(&self, alert: &Alert) -> bool {
        let lists = &self.lists;
        alert.severity >= self.min_severity
            && (lists.rule_ids.is_empty() || lists.rule_ids.contains(&alert.rule_id))
            && (lists.tags.is_empty() || alert.tags.iter().any(|t| lists.tags.contains(t)))
            && (lists.log_types.is_empty() || lists.log_types.contains(&alert.log_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::config::{QueueConfig, RetryConfig};
    use crate::sink::sample_alert;

    fn filter(min: Severity, lists: FilterConfig) -> AlertFilter {
        let (queue, retry) = (QueueConfig::default(), RetryConfig::default());
        AlertFilter::new(&Delivery {
            min_severity: min,
            filter: &lists,
            queue: &queue,
            retry: &retry,
        })
    }

    #[test]
    fn severity_floor_and_lists() {
        let mut alert = sample_alert();
        alert.severity = Severity::Medium;
        alert.tags = vec!["IAM".into(), "Persistence".into()];
        assert!(filter(Severity::Medium, FilterConfig::default()).accepts(&alert));
        assert!(!filter(Severity::High, FilterConfig::default()).accepts(&alert));
        let tags = FilterConfig {
            tags: vec!["Persistence".into()],
            ..FilterConfig::default()
        };
        assert!(filter(Severity::Info, tags).accepts(&alert));
        let rules = FilterConfig {
            rule_ids: vec!["Other.Rule".into()],
            ..FilterConfig::default()
        };
        assert!(!filter(Severity::Info, rules).accepts(&alert));
        let logs = FilterConfig {
            log_types: vec!["AWS.CloudTrail".into()],
            ..FilterConfig::default()
        };
        assert!(filter(Severity::Info, logs).accepts(&alert));
    }
}
