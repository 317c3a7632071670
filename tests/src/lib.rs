//! Shared helpers of the end-to-end tests: running the `bachata-common` binary in an
//! isolated directory with a controlled environment, and a fake Google Cloud Secret Manager
//! (with token endpoints) on 127.0.0.1.

pub mod databases;

pub mod fake_gcp;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `bachata-common` binary built next to this test executable.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/bachata-common
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let binary = dir.join(format!("bachata-common{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` so the binary is built",
        binary.display()
    );
    binary
}

/// The finished run of a command.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The run of a finished process.
    pub fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }

    /// The one `error: ...` line the binary prints on failure (log lines may surround it).
    pub fn error_line(&self) -> &str {
        self.stderr
            .lines()
            .find(|line| line.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line in {self:?}"))
    }

    /// Both streams together, for "never appears anywhere" checks.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// The ONNX Runtime library for the pose tests: `ORT_DYLIB_PATH`, else the one in the
/// repository's `.venv` (where the README's test command installs `onnxruntime`).
pub fn ort_library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/lib");
    std::fs::read_dir(lib)
        .ok()?
        .filter_map(Result::ok)
        .find_map(|python| {
            bachata_common::capabilities::pose::library_in_package(
                &python.path().join("site-packages/onnxruntime"),
            )
        })
}

/// A file under the shared test assets (`../shared` beside the repository).
pub fn shared(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative);
    assert!(
        path.exists(),
        "{} is missing: the tests need ../shared beside the repository",
        path.display()
    );
    path
}

/// A test sandbox: an empty working directory and an environment holding only what the test
/// sets (plus `PATH`), so the developer's own variables and `.env` never leak in.
pub struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A new empty sandbox.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            env: Vec::new(),
        }
    }

    /// The working directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets an environment variable for the commands run.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Writes a file (relative to the working directory) and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path
    }

    /// A `bachata-common` command with `args` in this sandbox, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        // Where ONNX Runtime is, as a user would have set it up.
        if let Some(library) = ort_library() {
            command.env("ORT_DYLIB_PATH", library);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Runs `bachata-common` with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from_output(self.command(args).output().expect("run bachata-common"))
    }

    /// Starts `bachata-common run` and waits for its `listening on` line.
    pub fn daemon(&self) -> Daemon {
        let mut child = self
            .command(&["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the daemon");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the daemon's first line");
        let Some(address) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let output = child.wait_with_output().expect("daemon output");
            panic!(
                "daemon did not start: {line:?} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        };
        let port = address.rsplit(':').next().unwrap_or_default().to_string();
        Daemon {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// A running daemon; killed when dropped if still running.
pub struct Daemon {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Daemon {
    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /v1/cleanup` with `body` (JSON text); the report it answers.
    pub fn cleanup(&self, body: &str) -> serde_json::Value {
        reqwest::blocking::Client::new()
            .post(self.url("/v1/cleanup"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("cleanup")
            .json()
            .expect("json")
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        reqwest::blocking::get(self.url("/metrics"))
            .expect("metrics")
            .text()
            .expect("text")
    }

    /// Waits (up to a minute, for slow machines) until `/metrics` contains `needle`; returns
    /// the text that does.
    pub fn wait_for_metric(&self, needle: &str) -> String {
        let start = std::time::Instant::now();
        loop {
            let text = self.metrics();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "{needle:?} never appeared in /metrics:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and stderr.
    pub fn terminate(mut self) -> (i32, String) {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let status = child.wait().expect("wait");
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status.code().unwrap_or(-1), stderr)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sets a file's modification (and access) time to `hours` hours ago.
pub fn age(path: &Path, hours: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .expect("open to set times");
    file.set_times(
        std::fs::FileTimes::new()
            .set_modified(when)
            .set_accessed(when),
    )
    .expect("set times");
}

/// SHA-256 of every file (and link target text) under `root`, for "nothing else changed" checks.
pub fn tree_digest(root: &Path) -> std::collections::BTreeMap<String, String> {
    use sha2::{Digest, Sha256};
    let mut digest = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let key = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                digest.insert(key, format!("link:{}", target.display()));
            } else if meta.is_dir() {
                digest.insert(key, "dir".to_string());
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                digest.insert(key, hex::encode(Sha256::digest(bytes)));
            }
        }
    }
    digest
}

/// The component of a test policy: one of the misbehaving examples of `tests/policies`
/// (`spin`, `memory_bomb`, `trap`, `escape`, `flood`, `nonsense`, `metrics_probe`) or
/// `size-first` (the policy of `examples/size-first`). They are built once per test run, for
/// `wasm32-wasip2`, into their own target directory (so the stock component's build is never
/// disturbed).
pub fn test_policy(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let out = BUILT
        .get_or_init(build_test_policies)
        .as_ref()
        .unwrap_or_else(|error| {
            panic!("cannot build the test policies: {error}");
        });
    let path = match name {
        "size-first" => out.join("size_first_policy.wasm"),
        fixture => out.join("examples").join(format!("{fixture}.wasm")),
    };
    assert!(
        path.is_file(),
        "no test policy {name} at {}",
        path.display()
    );
    path
}

fn build_test_policies() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let target_dir = root.join("target/test-policies");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "wasm-release",
            "-p",
            "bachata-test-policies",
            "--examples",
            "-p",
            "size-first-policy",
            "--lib",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(target_dir.join("wasm32-wasip2/wasm-release"))
}

/// Makes a FIFO (mode 0600) at `path`, for the tests that prove nothing blocks on one.
pub fn fifo(path: &Path) {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");
}
