//! `grantd check` and `grantd lookup`: ask a running server, print the answer.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::client::Remote;

/// What a check or lookup is about: a resource `TYPE/ID`, or a data path.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// A resource as TYPE/ID, e.g. SOURCE/s1.
    #[arg(long, conflicts_with = "data_path")]
    pub resource: Option<String>,
    /// A data object's path, e.g. hive/c1/sales/public/orders.
    #[arg(long)]
    pub data_path: Option<String>,
}

impl Target {
    fn apply(&self, body: &mut Value) -> Result<(), String> {
        match (&self.resource, &self.data_path) {
            (Some(resource), None) => {
                let (t, id) = resource.split_once('/').ok_or("--resource takes TYPE/ID")?;
                body["resource"] = json!({"type": t, "id": id});
            }
            (None, Some(path)) => body["data_path"] = json!(path),
            _ => return Err("give --resource TYPE/ID or --data-path PATH".into()),
        }
        Ok(())
    }
}

/// Freshness: by default whatever the server has applied.
#[derive(Args, Debug, Clone)]
pub struct Freshness {
    /// See at least this revision (a write's Grantd-Revision).
    #[arg(long, conflicts_with = "fully_consistent")]
    pub at_least: Option<i64>,
    /// See every write committed before the check.
    #[arg(long)]
    pub fully_consistent: bool,
}

impl Freshness {
    fn apply(&self, body: &mut Value) {
        if let Some(revision) = self.at_least {
            body["consistency"] = json!({"mode": "at_least_as_fresh", "revision": revision});
        } else if self.fully_consistent {
            body["consistency"] = json!({"mode": "fully_consistent"});
        }
    }
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub action: String,
    #[command(flatten)]
    pub target: Target,
    /// Print which grants decided, and through which memberships.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub freshness: Freshness,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Subcommand, Debug)]
pub enum LookupCommand {
    /// Every resource (of a type) on which the user may do the action.
    Resources {
        #[arg(long)]
        user: String,
        #[arg(long)]
        action: String,
        #[arg(long = "type")]
        resource_type: Option<String>,
        #[command(flatten)]
        freshness: Freshness,
        #[command(flatten)]
        remote: Remote,
    },
    /// Every user who may do the action on the resource.
    Subjects {
        #[arg(long)]
        action: String,
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        freshness: Freshness,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Prints the decision; fails (exit 1) unless it is `allow`, so scripts can branch on it.
pub async fn check(args: CheckArgs) -> Result<(), String> {
    let mut body = json!({"subject": {"type": "user", "id": args.user}, "action": args.action, "explain": args.explain});
    args.target.apply(&mut body)?;
    args.freshness.apply(&mut body);
    let answer = args.remote.post("check", &body).await?;
    let decision = answer["decision"].as_str().unwrap_or("unknown");
    println!("{decision} (revision {})", answer["revision"]);
    if let Some(explanation) = answer.get("explanation") {
        println!("  {}", explanation["reason"].as_str().unwrap_or_default());
        for m in explanation["decided_by"].as_array().into_iter().flatten() {
            let via: Vec<&str> = m["via"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            println!(
                "  {} grant {} via {}",
                m["effect"].as_str().unwrap_or_default(),
                m["grant"].as_str().unwrap_or_default(),
                via.join(" -> ")
            );
        }
    }
    if answer["allowed"].as_bool() == Some(true) {
        Ok(())
    } else {
        Err(format!("not allowed ({decision})"))
    }
}

/// Prints every item of the lookup, following the cursors.
pub async fn lookup(command: LookupCommand) -> Result<(), String> {
    let (path, mut body, remote) = match command {
        LookupCommand::Resources {
            user,
            action,
            resource_type,
            freshness,
            remote,
        } => {
            let mut body = json!({"subject": {"type": "user", "id": user}, "action": action});
            if let Some(t) = resource_type {
                body["resource_type"] = json!(t);
            }
            freshness.apply(&mut body);
            ("lookup/resources", body, remote)
        }
        LookupCommand::Subjects {
            action,
            target,
            freshness,
            remote,
        } => {
            let mut body = json!({"action": action});
            target.apply(&mut body)?;
            freshness.apply(&mut body);
            ("lookup/subjects", body, remote)
        }
    };
    body["limit"] = json!(1000);
    loop {
        let page = remote.post(path, &body).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            println!(
                "{}/{}",
                item["type"].as_str().unwrap_or_default(),
                item["id"].as_str().unwrap_or_default()
            );
        }
        match page.get("next_cursor") {
            Some(cursor) => body["cursor"] = cursor.clone(),
            None => return Ok(()),
        }
    }
}
