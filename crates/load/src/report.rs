//! What a load run measured: requests and latency percentiles per operation, errors, and
//! the server's resident memory; printed as a Markdown table, or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::mix::Op;

/// The answers of one phase (warm-up or measured).
#[derive(Default)]
pub struct Phase {
    pub latencies: BTreeMap<Op, Vec<u32>>,
    pub errors: Vec<(Op, String)>,
    pub elapsed: Duration,
}

impl Phase {
    pub fn merge(&mut self, latencies: BTreeMap<Op, Vec<u32>>, errors: Vec<(Op, String)>) {
        for (op, mut values) in latencies {
            self.latencies.entry(op).or_default().append(&mut values);
        }
        self.errors.extend(errors);
    }

    fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    fn per_second(&self, count: usize) -> f64 {
        count as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn all(&self) -> Vec<u32> {
        self.latencies.values().flatten().copied().collect()
    }
}

pub struct Report {
    pub connections: usize,
    pub warmup: Phase,
    pub measured: Phase,
    pub memory_before: Option<u64>,
    pub memory_warm: Option<u64>,
    pub memory_after: Option<u64>,
    /// Sampled every tenth of the measured phase, in KiB.
    pub memory_samples: Vec<u64>,
}

/// The `p`th percentile (0..=1) of some latencies, in microseconds.
fn percentile(values: &mut [u32], p: f64) -> u32 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn ms(micros: u32) -> f64 {
    f64::from(micros) / 1000.0
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

impl Report {
    pub fn table(&self) -> String {
        let m = &self.measured;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} requests in {:.1} s on {} connections: {:.0} req/s, {} errors (warm-up: {} requests, {} errors)\n",
            m.requests(),
            m.elapsed.as_secs_f64(),
            self.connections,
            m.per_second(m.requests()),
            m.errors.len(),
            self.warmup.requests(),
            self.warmup.errors.len()
        );
        let _ = writeln!(
            out,
            "| operation | requests | req/s | p50 ms | p99 ms | max ms |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        let mut rows: Vec<(&str, Vec<u32>)> = m
            .latencies
            .iter()
            .map(|(op, values)| (op.name(), values.clone()))
            .collect();
        rows.push(("all", m.all()));
        for (name, mut values) in rows {
            let count = values.len();
            let _ = writeln!(
                out,
                "| {name} | {count} | {:.0} | {:.2} | {:.2} | {:.2} |",
                m.per_second(count),
                ms(percentile(&mut values, 0.5)),
                ms(percentile(&mut values, 0.99)),
                ms(percentile(&mut values, 1.0)),
            );
        }
        let _ = writeln!(
            out,
            "\nserver resident memory: {} before, {} after warm-up, {} at the end",
            mib(self.memory_before),
            mib(self.memory_warm),
            mib(self.memory_after)
        );
        let samples: Vec<String> = self
            .memory_samples
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect();
        let _ = writeln!(
            out,
            "samples during the measured phase (MiB): {}",
            samples.join(" ")
        );
        for (op, error) in m.errors.iter().chain(&self.warmup.errors).take(10) {
            let _ = writeln!(out, "error: {}: {error}", op.name());
        }
        out
    }

    pub fn json(&self) -> Value {
        let m = &self.measured;
        let operations: Vec<Value> = m
            .latencies
            .iter()
            .map(|(op, values)| {
                let mut values = values.clone();
                json!({
                    "operation": op.name(),
                    "requests": values.len(),
                    "p50_ms": ms(percentile(&mut values, 0.5)),
                    "p99_ms": ms(percentile(&mut values, 0.99)),
                })
            })
            .collect();
        let mut all = m.all();
        json!({
            "connections": self.connections,
            "seconds": m.elapsed.as_secs_f64(),
            "requests": m.requests(),
            "requests_per_second": m.per_second(m.requests()),
            "p50_ms": ms(percentile(&mut all, 0.5)),
            "p99_ms": ms(percentile(&mut all, 0.99)),
            "errors": m.errors.len() + self.warmup.errors.len(),
            "operations": operations,
            "rss_kib": {"before": self.memory_before, "after_warmup": self.memory_warm,
                        "end": self.memory_after, "samples": self.memory_samples},
        })
    }

    /// Why this run fails: any error, or memory growth after warm-up past the bound.
    pub fn failures(&self, max_growth_mib: u64) -> Vec<String> {
        let mut failures = Vec::new();
        let errors = self.measured.errors.len() + self.warmup.errors.len();
        if errors > 0 {
            failures.push(format!("{errors} requests failed"));
        }
        if self.measured.requests() == 0 {
            failures.push("no request was answered".into());
        }
        if let (Some(warm), Some(end)) = (self.memory_warm, self.memory_after) {
            let growth = end.saturating_sub(warm);
            if growth > max_growth_mib * 1024 {
                failures.push(format!(
                    "resident memory grew by {:.1} MiB after warm-up (bound {max_growth_mib} MiB)",
                    growth as f64 / 1024.0
                ));
            }
        }
        failures
    }
}

/// A process's resident set size in KiB, from /proc (Linux).
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
