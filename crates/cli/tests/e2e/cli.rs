//! The CLI's verbs over the native API against a real server (issue 17): profiles, get,
//! list, create, edit (with the ETag, in $EDITOR too), delete, completions.

use std::path::Path;

use serde_json::Value;

use crate::helpers::{path_str, run_binary_with, scratch, spawn_app, TestApp, OPERATOR};

/// Runs `grantd` with the profiles of `config`; (success, stdout, stderr).
async fn grantd(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    run_binary_with(args, |command| {
        command
            .env("GRANTD_CONFIG_DIR", config)
            .env_remove("GRANTD_TOKEN")
            .env_remove("GRANTD_TENANT")
            .env_remove("GRANTD_URL")
            .envs(env.iter().copied());
    })
    .await
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn profile(app: &TestApp, config: &Path, name: &str, token: &str, tenant: &str) {
    let (ok, out, err) = grantd(
        config,
        &[
            "profile", "add", name, "--url", &app.base, "--token", token, "--tenant", tenant,
        ],
        &[],
    )
    .await;
    assert!(ok, "{out} {err}");
}

#[tokio::test]
async fn the_cli_manages_every_object_through_the_api() {
    let app = spawn_app().await;
    let t = app.tenant().await;
    let config = scratch("cli-profiles");
    profile(&app, &config, "local", OPERATOR, &t).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("profiles.toml"))
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the tokens are its owner's only");
    }
    let run = |args: &'static [&'static str]| grantd(&config, args, &[]);

    let (ok, out, err) = run(&[
        "create",
        "users",
        "--set",
        "id=bob",
        "--set",
        "email=bob@example.com",
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(json(&out)["id"], "bob");
    let grant = config.join("grant.json");
    std::fs::write(
        &grant,
        r#"{"id": "g1", "subject": {"type": "user", "id": "bob"},
            "privilege": {"type": "actions", "actions": ["read"]},
            "target": {"type": "tenant"}, "effect": "ALLOW"}"#,
    )
    .expect("write");
    let grant = path_str(&grant);
    let (ok, out, err) = grantd(&config, &["create", "grants", "-f", &grant], &[]).await;
    assert!(ok, "{err}");
    assert_eq!(json(&out)["id"], "g1");
    // Nested fields by their path, values read as JSON where they are.
    let (ok, _, err) = run(&[
        "create",
        "resources",
        "--set",
        "type=SOURCE",
        "--set",
        "id=s1",
        "--set",
        "labels.env=prod",
    ])
    .await;
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["get", "resources", "SOURCE/s1"]).await;
    assert!(ok, "{err}");
    assert_eq!(json(&out)["labels"]["env"], "prod");

    let (ok, out, _) = run(&["get", "users", "bob", "-o", "table"]).await;
    assert!(ok);
    assert!(
        out.starts_with("ID") && out.contains("bob@example.com"),
        "{out}"
    );
    let (ok, out, _) = run(&["list", "users"]).await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "a header and bob: {out}");
    let (ok, out, _) = run(&["list", "grants", "--where", "expired=false", "-o", "json"]).await;
    assert!(ok);
    assert_eq!(json(&out).as_array().map(Vec::len), Some(1), "{out}");
    let (ok, _, err) = run(&["list", "grants", "--where", "expires_within=soon"]).await;
    assert!(!ok);
    assert!(err.contains("400"), "{err}");

    // Edited with fields (a merge patch with the ETag just read)...
    let (ok, out, err) = run(&["edit", "users", "bob", "--set", "name=Bob"]).await;
    assert!(ok, "{err}");
    assert_eq!(json(&out)["name"], "Bob");
    // ...and in an editor, whose save replaces the object.
    let editor = config.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/\"Bob\"/\"Robert\"/' \"$1\"\n",
    )
    .expect("write");
    let editor = format!("sh {}", path_str(&editor));
    let (ok, out, err) = grantd(&config, &["edit", "users", "bob"], &[("EDITOR", &editor)]).await;
    assert!(ok, "{err}");
    assert_eq!(json(&out)["name"], "Robert");
    // Someone changes it while the editor is open: nothing is overwritten.
    let racing = config.join("racing.sh");
    std::fs::write(
        &racing,
        format!(
            "#!/bin/sh\n\"{}\" edit users bob --set name=Other >/dev/null\nsed -i 's/\"Robert\"/\"Rob\"/' \"$1\"\n",
            env!("CARGO_BIN_EXE_grantd")
        ),
    )
    .expect("write");
    let racing = format!("sh {}", path_str(&racing));
    let (ok, _, err) = grantd(&config, &["edit", "users", "bob"], &[("EDITOR", &racing)]).await;
    assert!(!ok);
    assert!(err.contains("nothing was overwritten"), "{err}");
    let (_, out, _) = run(&["get", "users", "bob"]).await;
    assert_eq!(json(&out)["name"], "Other");

    // A read token's profile lists but cannot create.
    let reader = app.token(&t, "read").await;
    profile(&app, &config, "reader", &reader, &t).await;
    let (ok, _, err) = run(&["create", "users", "--set", "id=mallory"]).await;
    assert!(!ok);
    assert!(err.contains("403"), "{err}");
    let (ok, out, _) = run(&["list", "users", "--profile", "local"]).await;
    assert!(ok);
    assert!(!out.contains("mallory"), "{out}");
    let (ok, out, _) = run(&["profile", "list"]).await;
    assert!(ok);
    assert!(
        out.contains("* reader") && !out.contains(&reader),
        "no token shown: {out}"
    );
    let (ok, _, _) = run(&["profile", "use", "local"]).await;
    assert!(ok);

    let (ok, _, err) = run(&["delete", "users", "bob"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["get", "grants", "g1"]).await;
    assert!(!ok, "the grant went with its subject");
    assert!(err.contains("404"), "{err}");

    // A path names what it says: no climbing out of the collection given.
    let (ok, _, err) = run(&["delete", "grants", "x/../../users/alice"]).await;
    assert!(!ok);
    assert!(err.contains("`..`"), "{err}");
    // The profile's token never goes to another server than the profile's.
    let (ok, _, err) = grantd(
        &config,
        &["list", "users", "--url", "http://127.0.0.1:9"],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("give --token"), "{err}");

    let (ok, out, _) = run(&["completions", "bash"]).await;
    assert!(ok);
    assert!(out.contains("grantd"), "{out}");
    // Without a tenant anywhere, the command says what to give.
    let empty = scratch("cli-none");
    let (ok, _, err) = grantd(&empty, &["list", "users", "--token", "x"], &[]).await;
    assert!(!ok);
    assert!(err.contains("--tenant"), "{err}");
}
