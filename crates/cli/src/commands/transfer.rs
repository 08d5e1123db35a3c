//! `grantd export` and `grantd import`: a tenant's objects as NDJSON, through a running
//! server (`GET /v1/tenants/{t}/export`, `POST /v1/tenants/{t}/import`).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use super::client::Remote;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Where to write the NDJSON; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The NDJSON file, as `grantd export` writes it.
    pub file: PathBuf,
    #[command(flatten)]
    pub remote: Remote,
}

/// Streams the tenant's export to the output as it arrives; reports the revision and the
/// count on standard error.
pub async fn export(args: ExportArgs) -> Result<(), String> {
    let started = Instant::now();
    let mut response = args.remote.get("export").await?;
    let revision = response
        .headers()
        .get("grantd-revision")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_string();
    // A file is written beside and renamed in place once whole: an export that breaks off
    // leaves no file that looks complete.
    let partial = args.output.as_ref().map(|p| p.with_extension("partial"));
    let mut out: Box<dyn Write> = match &partial {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut lines = 0usize;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("the export broke off: {e}"))?
    {
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        out.write_all(&chunk)
            .map_err(|e| format!("cannot write the export: {e}"))?;
    }
    out.flush()
        .map_err(|e| format!("cannot write the export: {e}"))?;
    drop(out);
    if let (Some(partial), Some(path)) = (&partial, &args.output) {
        std::fs::rename(partial, path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    eprintln!(
        "exported {lines} objects of tenant {} at revision {revision} in {:.1} s",
        args.remote.resolve()?.tenant,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Sends the file as one import: all of it is written, or nothing. On a terminal, a line
/// on standard error tells how long it has been going and at what rate it would finish.
pub async fn import(args: ImportArgs) -> Result<(), String> {
    let started = Instant::now();
    let body = std::fs::read(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let lines = body.iter().filter(|b| **b == b'\n').count();
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let seconds = started.elapsed().as_secs_f64();
                eprint!(
                    "\rimporting {lines} objects: {seconds:.0} s (all or nothing; the answer comes once all are written)"
                );
            }
        })
    });
    let answer = args
        .remote
        .post_bytes("import", body, "application/x-ndjson")
        .await;
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let answer = answer?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    eprintln!(
        "imported {lines} lines into tenant {} at revision {} in {seconds:.1} s ({:.0} objects/s)",
        args.remote.resolve()?.tenant,
        answer["revision"],
        lines as f64 / seconds.max(0.001)
    );
    Ok(())
}
