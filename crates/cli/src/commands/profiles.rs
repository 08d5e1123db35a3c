//! `grantd profile`: named servers, each a URL, a token and (optionally) a tenant, kept in
//! `profiles.toml` in the configuration folder (`$GRANTD_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/grantd`, else `~/.config/grantd`), readable by its owner only, as
//! `zed context` or a kubeconfig keep theirs. One of them is current.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Subcommand;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub url: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

fn folder() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    env("GRANTD_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| env("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("grantd")))
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config").join("grantd")))
}

fn file() -> Result<PathBuf, String> {
    folder()
        .map(|f| f.join("profiles.toml"))
        .ok_or_else(|| "no configuration folder: set GRANTD_CONFIG_DIR or HOME".into())
}

impl Profiles {
    /// The saved profiles; none when the file does not exist.
    pub fn load() -> Result<Profiles, String> {
        let Some(path) = folder().map(|f| f.join("profiles.toml")) else {
            return Ok(Profiles::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    fn save(&self) -> Result<(), String> {
        let path = file()?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        // Written beside, readable by its owner only, then moved in place: the tokens in it
        // are never readable by others, not even for an instant.
        let partial = path.with_extension("toml.partial");
        // A partial file left by an earlier failure would keep its own permissions.
        let _ = std::fs::remove_file(&partial);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options
            .open(&partial)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        std::io::Write::write_all(&mut out, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        std::fs::rename(&partial, &path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    pub fn current(&self) -> Option<&Profile> {
        self.current.as_deref().and_then(|name| self.get(name))
    }
}

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Save a profile (replacing one of the same name) and make it current.
    Add {
        name: String,
        #[arg(long)]
        url: String,
        #[arg(long, env = "GRANTD_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Make a saved profile the current one.
    Use { name: String },
    /// List the profiles; the current one is marked `*`. Tokens are not shown.
    List,
    /// Forget a profile.
    Remove { name: String },
}

pub fn run(command: ProfileCommand) -> Result<(), String> {
    let mut profiles = Profiles::load()?;
    match command {
        ProfileCommand::Add {
            name,
            url,
            token,
            tenant,
        } => {
            profiles
                .profiles
                .insert(name.clone(), Profile { url, token, tenant });
            profiles.current = Some(name.clone());
            profiles.save()?;
            println!("profile {name} saved and current");
        }
        ProfileCommand::Use { name } => {
            if profiles.get(&name).is_none() {
                return Err(format!("no profile {name:?} (see grantd profile list)"));
            }
            profiles.current = Some(name.clone());
            profiles.save()?;
            println!("profile {name} is current");
        }
        ProfileCommand::List => {
            for (name, profile) in &profiles.profiles {
                let mark = if profiles.current.as_deref() == Some(name) {
                    "*"
                } else {
                    " "
                };
                println!(
                    "{mark} {name}\t{}\t{}",
                    profile.url,
                    profile.tenant.as_deref().unwrap_or("-")
                );
            }
        }
        ProfileCommand::Remove { name } => {
            if profiles.profiles.remove(&name).is_none() {
                return Err(format!("no profile {name:?}"));
            }
            if profiles.current.as_deref() == Some(name.as_str()) {
                profiles.current = None;
            }
            profiles.save()?;
            println!("profile {name} removed");
        }
    }
    Ok(())
}
