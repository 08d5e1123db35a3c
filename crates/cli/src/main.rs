//! The `grantd` binary: parses the command line, sets up logging, and runs one command.

#![forbid(unsafe_code)]

mod commands;
mod settings;

use clap::{Parser, Subcommand};

/// mimalloc: a request allocates and frees many small objects, which it does much faster
/// than the system allocator (measured in docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// grantd: a self-hosted permissions service.
#[derive(Parser)]
#[command(name = "grantd", version, about)]
struct Cli {
    /// How log lines are written to stderr: `text` (coloured only on a terminal) or `json`
    /// (one object per line, for log collectors).
    #[arg(long, global = true, env = "GRANTD_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(settings::Settings),
    /// Manage tenant tokens directly in the store.
    Token {
        #[command(subcommand)]
        command: commands::token::TokenCommand,
    },
    /// Ask a running server whether a user may do an action on a resource.
    Check(commands::check::CheckArgs),
    /// Ask a running server what a user can reach, or who can reach a resource.
    Lookup {
        #[command(subcommand)]
        command: commands::check::LookupCommand,
    },
    /// Verify or export a tenant's audit trail, straight from the store.
    Audit {
        #[command(subcommand)]
        command: commands::audit::AuditCommand,
    },
    /// Manage tenants directly in the store.
    Tenant {
        #[command(subcommand)]
        command: commands::tenant::TenantCommand,
    },
    /// Copy the embedded store to a file while the server runs, straight from the store.
    Backup(commands::backup::BackupArgs),
    /// Check a backup and make it the store of a new data folder, straight on the file.
    Restore(commands::backup::RestoreArgs),
    /// Show one object of a running server's tenant: `grantd get users alice`.
    Get(commands::objects::GetArgs),
    /// List a collection of a running server's tenant: `grantd list grants --where expired=true`.
    List(commands::objects::ListArgs),
    /// Create an object from a JSON file or `--set` fields: `grantd create users --set id=bob`.
    Create(commands::objects::CreateArgs),
    /// Change an object (with its ETag, so a concurrent change is never overwritten).
    Edit(commands::objects::EditArgs),
    /// Delete an object, with what cascades from it.
    Delete(commands::objects::DeleteArgs),
    /// Save, choose and list the servers the commands above talk to.
    Profile {
        #[command(subcommand)]
        command: commands::profiles::ProfileCommand,
    },
    /// Print a shell's completion script: `grantd completions bash > /etc/bash_completion.d/grantd`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// A running server's data-source sync: the next pass's plan, the last pass's status.
    Sync {
        #[command(subcommand)]
        command: commands::sync::SyncCommand,
    },
    /// Write a tenant's objects as NDJSON, from a running server.
    Export(commands::transfer::ExportArgs),
    /// Import NDJSON as `export` writes it into a tenant of a running server: all of it,
    /// or nothing.
    Import(commands::transfer::ImportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRANTD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        // Colour codes only where a terminal reads them, not in a file or a collector.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("grantd: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(settings) => commands::serve::run(settings).await,
            Command::Token { command } => commands::token::run(command).await,
            Command::Tenant { command } => commands::tenant::run(command).await,
            Command::Audit { command } => commands::audit::run(command).await,
            Command::Check(args) => commands::check::check(args).await,
            Command::Lookup { command } => commands::check::lookup(command).await,
            Command::Backup(args) => commands::backup::backup(args).await,
            Command::Restore(args) => commands::backup::restore(args).await,
            Command::Get(args) => commands::objects::get(args).await,
            Command::List(args) => commands::objects::list(args).await,
            Command::Create(args) => commands::objects::create(args).await,
            Command::Edit(args) => commands::objects::edit(args).await,
            Command::Delete(args) => commands::objects::delete(args).await,
            Command::Profile { command } => commands::profiles::run(command),
            Command::Completions { shell } => {
                let mut command = <Cli as clap::CommandFactory>::command();
                clap_complete::generate(shell, &mut command, "grantd", &mut std::io::stdout());
                Ok(())
            }
            Command::Sync { command } => commands::sync::run(command).await,
            Command::Export(args) => commands::transfer::export(args).await,
            Command::Import(args) => commands::transfer::import(args).await,
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("grantd: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
