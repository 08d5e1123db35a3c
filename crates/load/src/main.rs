//! grantd-load: drives a mixed workload (checks, lookups, and reads and writes through the
//! native, Segment, SlashID and DataArts surfaces) against a running grantd for a bounded
//! time, then reports throughput, latency percentiles per operation, errors, and the
//! server's resident memory before and after. Exits non-zero on any error, or when memory
//! grew after warm-up by more than `--max-growth-mib`.
//!
//! `benches/soak.sh` builds and starts the server and runs this against it. With
//! `--scenario isolation` it runs the isolation scenario instead (`isolation.rs`,
//! `benches/isolation.sh`).

mod fixture;
mod isolation;
mod mix;
mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::mix::{Mix, Op, Worker};
use crate::report::{resident_kib, Phase, Report};

#[derive(Parser)]
#[command(name = "grantd-load", about = "Mixed load and soak for grantd")]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The operator token (it creates the load's tenant).
    #[arg(long, env = "GRANTD_ADMIN_TOKEN")]
    admin_token: String,
    /// The server's process id, to sample its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds of load before measuring (not reported; memory is sampled after it).
    #[arg(long, default_value_t = 10)]
    warmup_secs: u64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// Users in the tenant (each in one of `users / 20` groups).
    #[arg(long, default_value_t = 2000)]
    users: usize,
    /// Documents in the tenant, in `docs / 100` folders.
    #[arg(long, default_value_t = 10000)]
    docs: usize,
    /// Fail when resident memory grew by more than this after warm-up.
    #[arg(long, default_value_t = 64)]
    max_growth_mib: u64,
    /// Only these operations (comma-separated: check, check-batch, lookup-resources,
    /// lookup-subjects, native-write, segment-read, segment-write, slashid-check,
    /// slashid-write, dataarts-read, dataarts-write), in their proportions.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// `mixed` (the default), or `isolation`: one tenant hammering a deep graph while
    /// another's revocations and `/healthz` are timed.
    #[arg(long, default_value = "mixed")]
    scenario: String,
    /// Isolation: how deep the busy tenant's chains of roles and groups are.
    #[arg(long, default_value_t = 1000)]
    depth: usize,
    /// Isolation: concurrent writers changing the busy tenant's chains.
    #[arg(long, default_value_t = 4)]
    writers: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.scenario == "isolation" {
        let settings = isolation::Settings {
            url: args.url.clone(),
            admin_token: args.admin_token.clone(),
            depth: args.depth.max(2),
            users: args.users,
            writers: args.writers,
            secs: args.secs,
        };
        match isolation::run(&settings).await {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(error) => {
                eprintln!("grantd-load: {error}");
                std::process::exit(2);
            }
        }
        return;
    }
    match run(&args).await {
        Ok(report) => {
            print!("{}", report.table());
            if let Some(path) = &args.json {
                if let Err(e) = std::fs::write(path, report.json().to_string()) {
                    eprintln!("grantd-load: cannot write {}: {e}", path.display());
                    std::process::exit(2);
                }
            }
            let failures = report.failures(args.max_growth_mib);
            if !failures.is_empty() {
                for failure in failures {
                    eprintln!("grantd-load: FAIL: {failure}");
                }
                std::process::exit(1);
            }
        }
        Err(error) => {
            eprintln!("grantd-load: {error}");
            std::process::exit(2);
        }
    }
}

async fn run(args: &Args) -> Result<Report, String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()
        .map_err(|e| e.to_string())?;
    let size = fixture::Size {
        users: args.users.max(20),
        groups: (args.users / 20).max(1),
        folders: (args.docs / 100).max(1),
        docs: args.docs.max(1),
    };
    let started = Instant::now();
    let fx = fixture::build(&client, &args.url, &args.admin_token, &size).await?;
    eprintln!(
        "grantd-load: tenant {} written in {:.1} s ({} users, {} documents)",
        fx.tenant,
        started.elapsed().as_secs_f64(),
        fx.users,
        fx.docs
    );
    let fx = Arc::new(fx);
    let mix = Arc::new(Mix::only(&args.only)?);
    let memory_before = args.pid.and_then(resident_kib);
    let warmup = drive(&client, &fx, &mix, args.connections, args.warmup_secs).await;
    let memory_warm = args.pid.and_then(resident_kib);
    let sampler = args
        .pid
        .map(|pid| tokio::spawn(sample_memory(pid, args.secs)));
    let measured = drive(&client, &fx, &mix, args.connections, args.secs).await;
    let memory_after = args.pid.and_then(resident_kib);
    let memory_samples = match sampler {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(Report {
        connections: args.connections,
        warmup,
        measured,
        memory_before,
        memory_warm,
        memory_after,
        memory_samples,
    })
}

/// The server's resident memory every tenth of the measured phase.
async fn sample_memory(pid: u32, secs: u64) -> Vec<u64> {
    let every = Duration::from_millis(secs * 100).max(Duration::from_millis(100));
    let mut samples = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(every).await;
        samples.extend(resident_kib(pid));
    }
    samples
}

/// Runs the mix on `connections` workers for `secs`; every answer is recorded.
async fn drive(
    client: &reqwest::Client,
    fx: &Arc<fixture::Fixture>,
    mix: &Arc<Mix>,
    connections: usize,
    secs: u64,
) -> Phase {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..connections {
        let (client, fx, mix) = (client.clone(), fx.clone(), mix.clone());
        tasks.spawn(async move {
            let mut rng = SmallRng::seed_from_u64(id as u64);
            let mut worker = Worker::new(id);
            let mut latencies: BTreeMap<Op, Vec<u32>> = BTreeMap::new();
            let mut errors: Vec<(Op, String)> = Vec::new();
            while Instant::now() < deadline {
                let op = mix.pick(&mut rng);
                let sent = Instant::now();
                let outcome = worker.run(op, &client, &fx, &mut rng).await;
                let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                latencies.entry(op).or_default().push(micros);
                if let Err(error) = outcome {
                    errors.push((op, error));
                }
            }
            if let Err(error) = worker.undo(&client, &fx).await {
                errors.push((Op::NativeWrite, format!("undoing the last writes: {error}")));
            }
            (latencies, errors)
        });
    }
    let mut phase = Phase::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((latencies, errors)) => phase.merge(latencies, errors),
            Err(e) => phase
                .errors
                .push((Op::Check, format!("worker failed: {e}"))),
        }
    }
    phase.elapsed = started.elapsed();
    phase
}
