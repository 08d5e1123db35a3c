//! `grantd get | list | create | edit | delete`: the native API's objects from the command
//! line, for every kind. A kind is named by its collection as the API names it (`users`,
//! `grants`, `groups/eng/members`, `permission-sets/ID/permissions`...), an object by the
//! rest of its item path (`alice`, `SOURCE/s1`, `user/bob`): see docs/API.md.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use reqwest::Method;
use serde_json::{Map, Value};

use super::client::Remote;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Args)]
pub struct GetArgs {
    /// The collection, e.g. `users`, `resources`, `groups/eng/members`.
    pub collection: String,
    /// The object's item path within it, e.g. `alice`, `SOURCE/s1`, `user/bob`.
    pub id: String,
    #[arg(long, short, value_enum, default_value = "json")]
    pub output: Output,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct ListArgs {
    pub collection: String,
    /// A list filter as the API takes it, e.g. `type=SOURCE`, `expires_within=12h`.
    #[arg(long = "where", value_name = "NAME=VALUE")]
    pub filters: Vec<String>,
    /// Items per page asked of the server.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Follow the pages to the end instead of printing the first.
    #[arg(long)]
    pub all: bool,
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Output,
    #[command(flatten)]
    pub remote: Remote,
}

/// What a new or changed object says: a JSON file and `--set` fields on top of it.
#[derive(Args)]
pub struct Fields {
    /// A JSON object to send (`-` reads standard input).
    #[arg(long, short)]
    pub file: Option<PathBuf>,
    /// A field, by its dotted path: `subject.type=user`. The value is read as JSON when
    /// it is (`true`, `3`, `["read"]`), else as a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Args)]
pub struct CreateArgs {
    pub collection: String,
    #[command(flatten)]
    pub fields: Fields,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct EditArgs {
    pub collection: String,
    pub id: String,
    /// Fields to change (a JSON merge patch); without them, $VISUAL or $EDITOR opens the
    /// object, and what is saved replaces it.
    #[command(flatten)]
    pub fields: Fields,
    #[command(flatten)]
    pub remote: Remote,
}

#[derive(Args)]
pub struct DeleteArgs {
    pub collection: String,
    pub id: String,
    /// Delete only at this version (the ETag's number), else 412.
    #[arg(long)]
    pub if_version: Option<i64>,
    #[command(flatten)]
    pub remote: Remote,
}

/// The path of an object under the tenant. `.` and `..` segments are refused: a path
/// names what it says, and never climbs to another collection.
pub(super) fn item(collection: &str, id: &str) -> Result<String, String> {
    let path = format!(
        "{}/{}",
        collection.trim_matches('/'),
        id.trim_start_matches('/')
    );
    collection_path(&path)
}

fn collection_path(path: &str) -> Result<String, String> {
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("{path:?}: a path may not hold `.` or `..`"));
    }
    Ok(path.trim_matches('/').to_string())
}

fn print(value: &Value, output: Output) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Output::Table => print!("{}", table(std::slice::from_ref(value))),
    }
}

/// Fields a table shows first, in this order: what names an object.
const FIRST: [&str; 6] = ["id", "type", "key", "email", "subject", "member"];

/// Fields a table leaves out (the JSON output has them).
const HIDDEN: [&str; 2] = ["created_at", "updated_at"];

/// Rows with a column for every top-level field (nested values as compact JSON), those
/// naming the object first.
fn table(items: &[Value]) -> String {
    let seen: BTreeSet<&String> = items
        .iter()
        .flat_map(|item| item.as_object().into_iter().flat_map(Map::keys))
        .filter(|k| !HIDDEN.contains(&k.as_str()))
        .collect();
    let mut columns: Vec<String> = seen.into_iter().cloned().collect();
    columns.sort_by_key(|c| FIRST.iter().position(|f| f == c).unwrap_or(FIRST.len()));
    let cell = |item: &Value, column: &str| -> String {
        let text = match item.get(column) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        if text.chars().count() > 60 {
            format!("{}…", text.chars().take(59).collect::<String>())
        } else {
            text
        }
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| columns.iter().map(|c| cell(item, c)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(columns.iter().map(|c| c.to_uppercase()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Sets `value` at the dotted `path` of `object`, making the objects on the way.
fn set_path(object: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut at = object;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!("--set {path}: an empty field name"));
        }
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let map = at.as_object_mut().ok_or("not an object")?;
        if i == parts.len() - 1 {
            map.insert(part.to_string(), value);
            return Ok(());
        }
        at = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

impl Fields {
    fn given(&self) -> bool {
        self.file.is_some() || !self.sets.is_empty()
    }

    /// The JSON object they make.
    fn body(&self) -> Result<Value, String> {
        let mut body = match &self.file {
            Some(path) => {
                let text = if path.as_os_str() == "-" {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| format!("cannot read standard input: {e}"))?;
                    text
                } else {
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                };
                serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not JSON: {e}", path.display()))?
            }
            None => Value::Object(Map::new()),
        };
        for set in &self.sets {
            let (path, raw) = set
                .split_once('=')
                .ok_or_else(|| format!("--set takes PATH=VALUE, not {set:?}"))?;
            let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()));
            set_path(&mut body, path, value)?;
        }
        Ok(body)
    }
}

pub async fn get(args: GetArgs) -> Result<(), String> {
    let remote = args.remote.resolve()?;
    let (object, _) = remote
        .call(Method::GET, &item(&args.collection, &args.id)?, None, None)
        .await?;
    print(&object, args.output);
    Ok(())
}

pub async fn list(args: ListArgs) -> Result<(), String> {
    let remote = args.remote.resolve()?;
    let mut query: Vec<(String, String)> = vec![("limit".into(), args.limit.to_string())];
    for filter in &args.filters {
        let (name, value) = filter
            .split_once('=')
            .ok_or_else(|| format!("--where takes NAME=VALUE, not {filter:?}"))?;
        query.push((name.into(), value.into()));
    }
    let mut items: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut pairs = query.clone();
        if let Some(c) = &cursor {
            pairs.push(("cursor".into(), c.clone()));
        }
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let path = format!(
            "{}?{}",
            collection_path(&args.collection)?,
            encoded.join("&")
        );
        let (page, _) = remote.call(Method::GET, &path, None, None).await?;
        items.extend(page["items"].as_array().into_iter().flatten().cloned());
        cursor = page["next_cursor"].as_str().map(String::from);
        if !args.all || cursor.is_none() {
            break;
        }
    }
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&items).unwrap_or_default()
        ),
        Output::Table => print!("{}", table(&items)),
    }
    if let (false, Some(_)) = (args.all, cursor) {
        eprintln!("(more: --all to follow every page)");
    }
    Ok(())
}

/// Percent-encodes a query component.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn create(args: CreateArgs) -> Result<(), String> {
    let remote = args.remote.resolve()?;
    let body = args.fields.body()?;
    let (created, _) = remote
        .call(
            Method::POST,
            &collection_path(&args.collection)?,
            Some(&body),
            None,
        )
        .await?;
    print(&created, Output::Json);
    Ok(())
}

/// What the server adds to an object, which a replacement does not send back.
const META: [&str; 3] = ["version", "created_at", "updated_at"];

pub async fn edit(args: EditArgs) -> Result<(), String> {
    let remote = args.remote.resolve()?;
    let path = item(&args.collection, &args.id)?;
    let (current, etag) = remote.call(Method::GET, &path, None, None).await?;
    let etag = etag.ok_or("the server gave the object no ETag")?;
    let conflict = |e: String| {
        if e.starts_with("412") {
            format!("{path} changed since it was read; nothing was overwritten (read it again)")
        } else {
            e
        }
    };
    let (method, body) = if args.fields.given() {
        (Method::PATCH, args.fields.body()?)
    } else {
        let mut object = current.clone();
        if let Some(map) = object.as_object_mut() {
            for key in META {
                map.remove(key);
            }
        }
        match edit_in_editor(&object)? {
            Some(changed) => (Method::PUT, changed),
            None => {
                eprintln!("no change");
                return Ok(());
            }
        }
    };
    let (changed, _) = remote
        .call(method, &path, Some(&body), Some(&etag))
        .await
        .map_err(conflict)?;
    print(&changed, Output::Json);
    Ok(())
}

/// Opens the object in the user's editor; what was saved, if it differs.
fn edit_in_editor(object: &Value) -> Result<Option<Value>, String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .map_err(|_| "set VISUAL or EDITOR, or give --set or --file")?;
    // A new file only (never through a link someone left), readable by its owner only.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path =
        std::env::temp_dir().join(format!("grantd-edit-{}-{nanos}.json", std::process::id()));
    let text = serde_json::to_string_pretty(object).unwrap_or_default();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .map_err(|e| format!("cannot run {editor}: {e}"))?;
    let saved = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        return Err(format!("{editor} failed; nothing was sent"));
    }
    let saved = saved.map_err(|e| format!("cannot read back the edit: {e}"))?;
    let changed: Value =
        serde_json::from_str(&saved).map_err(|e| format!("the edit is not JSON: {e}"))?;
    Ok((changed != *object).then_some(changed))
}

pub async fn delete(args: DeleteArgs) -> Result<(), String> {
    let remote = args.remote.resolve()?;
    let path = item(&args.collection, &args.id)?;
    let etag = args.if_version.map(|v| format!("\"{v}\""));
    remote
        .call(Method::DELETE, &path, None, etag.as_deref())
        .await?;
    eprintln!("deleted {path}");
    Ok(())
}
