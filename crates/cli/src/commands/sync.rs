//! `grantd sync`: a running server's data-source sync, as the API shows it: the SQL the
//! next pass would run, and what the last one did.

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::client::Remote;
use super::objects::item;

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Print the SQL statements the next pass over a data source would run, without running
    /// them (needs the `admin` scope).
    Plan {
        /// The data source's id.
        source: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show a data source's last pass and its data permissions' sync statuses (JSON).
    Status {
        source: String,
        #[command(flatten)]
        remote: Remote,
    },
}

pub async fn run(command: SyncCommand) -> Result<(), String> {
    match command {
        SyncCommand::Plan { source, remote } => {
            let remote = remote.resolve()?;
            let path = format!("{}/plan", item("data-sources", &source)?);
            let (plan, _) = remote.call(Method::GET, &path, None, None).await?;
            let statements = plan["statements"].as_array().cloned().unwrap_or_default();
            let revision = plan["revision"].as_i64().unwrap_or_default();
            if statements.is_empty() {
                eprintln!("-- data source {source} holds revision {revision}: nothing to run");
            } else {
                eprintln!(
                    "-- {} statement(s) to bring data source {source} to revision {revision}",
                    statements.len()
                );
            }
            for statement in statements.iter().filter_map(Value::as_str) {
                println!("{statement};");
            }
            for skipped in plan["skipped"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                eprintln!("-- left alone: {skipped}");
            }
            Ok(())
        }
        SyncCommand::Status { source, remote } => {
            let remote = remote.resolve()?;
            let path = format!("{}/status", item("data-sources", &source)?);
            let (status, _) = remote.call(Method::GET, &path, None, None).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&status).unwrap_or_default()
            );
            Ok(())
        }
    }
}
