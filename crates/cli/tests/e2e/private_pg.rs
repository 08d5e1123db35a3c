//! A private PostgreSQL cluster (initdb and pg_ctl of the installed PostgreSQL, run as the
//! postgres user, on a free port) for tests that stop and start the database: the shared
//! server other tests use is never touched.

use std::path::PathBuf;
use std::process::Stdio;

/// A private PostgreSQL cluster on a free port, stopped when dropped.
pub struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn bin_dir() -> Option<PathBuf> {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .collect();
        versions.sort();
        versions.pop()
    }

    fn pg(&self, tool: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run a PostgreSQL tool as postgres")
    }

    pub fn start(&self) {
        let dir = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let out = self.pg(
            "pg_ctl",
            &[
                "-D",
                &dir.display().to_string(),
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn stop(&self) {
        let dir = self.dir.join("data");
        let out = self.pg(
            "pg_ctl",
            &["-D", &dir.display().to_string(), "-m", "fast", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new cluster, started; `None` (said on stderr) where PostgreSQL is not installed,
    /// which CI does not allow.
    pub fn create() -> Option<PrivatePostgres> {
        let Some(bin) = Self::bin_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must have PostgreSQL installed"
            );
            eprintln!("skipping: PostgreSQL's initdb is not installed");
            return None;
        };
        let dir = std::env::temp_dir().join(grantd_store::testing::unique_name("private-pg"));
        std::fs::create_dir_all(&dir).expect("dir");
        let chown = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres", &dir.display().to_string()])
            .status()
            .expect("chown");
        assert!(chown.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = PrivatePostgres { dir, bin, port };
        let data = cluster.dir.join("data").display().to_string();
        let out = cluster.pg("initdb", &["-D", &data, "--auth=trust", "-U", "postgres"]);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start();
        Some(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let dir = self.dir.join("data").display().to_string();
        let _ = self.pg("pg_ctl", &["-D", &dir, "-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
