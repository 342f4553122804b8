//! `mamori sanitize`: the 無害化 engine on the command line.
//!
//! - `mamori sanitize mail IN -o OUT [--report FILE] [--policy FILE]`
//! - `mamori sanitize mail --out-dir DIR [--report-dir DIR] [--jobs N] [--policy FILE] IN...`
//! - `mamori sanitize file …` (the same two forms)
//! - `mamori sanitize --print-default-policy`
//!
//! Exit 0 when output was written (clean or sanitised), 1 when an input is blocked, 2 on usage or
//! I/O errors (in a batch: the worst of all messages; a bad input does not stop the others).
//! Outputs and reports are written to a temporary name beside the target and renamed, so a
//! reader never sees half a file. Files (and mail attachments when the policy sanitises them) are
//! processed in a child process — this same binary, hidden subcommand `sanitize worker` — with
//! limits. A batch runs one process for many messages, which is how a relay runs the engine, on
//! `--jobs` threads (default: the available cores), each holding one message at a time.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mamori_sanitize::isolate::ChildProcess;
use mamori_sanitize::{FileSanitizer, InProcess, Outcome, Policy, Verdict};

/// Options of `mamori sanitize`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SanitizeArgs {
    #[command(subcommand)]
    command: Option<SanitizeCommand>,
    /// 既定の無害化ポリシー (TOML) を表示して終了する。
    #[arg(long)]
    print_default_policy: bool,
}

#[derive(Debug, clap::Subcommand)]
enum SanitizeCommand {
    /// メールをテキスト形式に変換する (添付は削除または無害化)。
    Mail(RunArgs),
    /// ファイルを無害化して再構築する。
    File(RunArgs),
    /// Internal: one file in a limited child process (stdin → stdout).
    #[command(hide = true)]
    Worker,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// 入力ファイル (--out-dir のときは複数可)。
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// 出力ファイル (遮断時は書き込まない)。
    #[arg(
        short = 'o',
        long = "output",
        required_unless_present = "out_dir",
        conflicts_with = "out_dir"
    )]
    output: Option<PathBuf>,
    /// 判定結果 (JSON) の書き出し先。
    #[arg(long, conflicts_with = "out_dir")]
    report: Option<PathBuf>,
    /// 複数の入力をまとめて処理し、入力と同じ名前で出力するディレクトリ (遮断時は書き込まない)。
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// まとめて処理するときの判定結果 (入力名.json) の書き出し先ディレクトリ。
    #[arg(long, requires = "out_dir")]
    report_dir: Option<PathBuf>,
    /// まとめて処理するときの並列数 (既定: 利用できる CPU 数)。
    #[arg(long, requires = "out_dir")]
    jobs: Option<std::num::NonZeroUsize>,
    /// 無害化ポリシー (TOML)。省略時は既定値。
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Run the file engine in this process instead of a child (for debugging and measuring).
    #[arg(long, hide = true)]
    in_process: bool,
}

/// Runs `mamori sanitize`.
pub fn run(args: SanitizeArgs) -> ExitCode {
    if args.print_default_policy {
        print!("{}", Policy::default_toml());
        return ExitCode::SUCCESS;
    }
    match args.command {
        Some(SanitizeCommand::Mail(a)) => run_args(&a, true),
        Some(SanitizeCommand::File(a)) => run_args(&a, false),
        Some(SanitizeCommand::Worker) => match mamori_sanitize::isolate::run_worker() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mamori sanitize worker: {e}");
                ExitCode::from(2)
            }
        },
        None => {
            eprintln!(
                "使い方: mamori sanitize mail|file IN -o OUT [--report FILE] [--policy FILE] | mail|file --out-dir DIR [--report-dir DIR] [--jobs N] IN... | --print-default-policy (usage)"
            );
            ExitCode::from(2)
        }
    }
}

fn usage_error(msg: String) -> ExitCode {
    eprintln!("mamori sanitize: {msg}");
    ExitCode::from(2)
}

fn load_policy(path: Option<&Path>) -> Result<Policy, String> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("ポリシー {} を読めません (io.read): {e}", path.display()))?;
    Policy::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn worker() -> Option<ChildProcess> {
    let exe = std::env::current_exe().ok()?;
    Some(ChildProcess::new(
        exe,
        vec!["sanitize".into(), "worker".into()],
    ))
}

/// How one input ended, ordered by the exit code it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Done {
    Delivered,
    Blocked,
    Failed,
}

impl Done {
    fn exit_code(self) -> ExitCode {
        match self {
            Done::Delivered => ExitCode::SUCCESS,
            Done::Blocked => ExitCode::from(1),
            Done::Failed => ExitCode::from(2),
        }
    }
}

fn run_args(a: &RunArgs, mail: bool) -> ExitCode {
    let policy = match load_policy(a.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let child = if a.in_process { None } else { worker() };
    let files: &(dyn FileSanitizer + Sync) = match &child {
        Some(c) => c,
        None => &InProcess,
    };
    match (&a.output, &a.out_dir, a.inputs.as_slice()) {
        (Some(_), None, [_]) if a.report_dir.is_some() || a.jobs.is_some() => usage_error(
            "--report-dir と --jobs は --out-dir と一緒に指定してください (usage)".to_owned(),
        ),
        (Some(output), None, [input]) => {
            let targets = Targets {
                output: output.clone(),
                report: a.report.clone(),
                label: None,
            };
            run_one(input, &targets, mail, &policy, files).exit_code()
        }
        (None, Some(dir), inputs) => {
            let jobs = a
                .jobs
                .or_else(|| std::thread::available_parallelism().ok())
                .map_or(1, std::num::NonZeroUsize::get);
            run_batch(
                inputs,
                dir,
                a.report_dir.as_deref(),
                jobs,
                mail,
                &policy,
                files,
            )
        }
        _ => usage_error(
            "-o OUT には入力を 1 つ、複数の入力には --out-dir DIR を指定してください (usage)"
                .to_owned(),
        ),
    }
}

/// Where one input's output and report go.
struct Targets {
    output: PathBuf,
    report: Option<PathBuf>,
    /// Shown before each message line in a batch.
    label: Option<String>,
}

/// Sanitises many inputs in this process: `jobs` threads take the next input from a shared
/// counter, so at most `jobs` messages are in memory at once. Each input is handled exactly as
/// `run_one` handles a single one; the exit code is the worst of them.
fn run_batch(
    inputs: &[PathBuf],
    out_dir: &Path,
    report_dir: Option<&Path>,
    jobs: usize,
    mail: bool,
    policy: &Policy,
    files: &(dyn FileSanitizer + Sync),
) -> ExitCode {
    // Two inputs with the same file name would overwrite each other's output: refuse up front.
    let mut names = std::collections::BTreeSet::new();
    let mut targets = Vec::with_capacity(inputs.len());
    for input in inputs {
        let Some(name) = input.file_name() else {
            return usage_error(format!(
                "入力 {} にファイル名がありません (usage)",
                input.display()
            ));
        };
        if !names.insert(name.to_owned()) {
            return usage_error(format!(
                "同じ名前の入力が複数あります: {} (usage)",
                name.to_string_lossy()
            ));
        }
        let output = out_dir.join(name);
        if let (Ok(a), Ok(b)) = (std::fs::canonicalize(input), std::fs::canonicalize(&output))
            && a == b
        {
            return usage_error(format!(
                "出力 {} が入力と同じファイルです (usage)",
                output.display()
            ));
        }
        let mut report_name = name.to_owned();
        report_name.push(".json");
        targets.push(Targets {
            output,
            report: report_dir.map(|d| d.join(&report_name)),
            label: Some(input.display().to_string()),
        });
    }
    for dir in std::iter::once(out_dir).chain(report_dir) {
        if !dir.is_dir() {
            return usage_error(format!(
                "出力先ディレクトリ {} がありません (io.write)",
                dir.display()
            ));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worst = std::sync::Mutex::new(Done::Delivered);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, inputs.len().max(1)) {
            scope.spawn(|| {
                let mut mine = Done::Delivered;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (Some(input), Some(t)) = (inputs.get(i), targets.get(i)) else {
                        break;
                    };
                    // A panic is a bug, but it costs this one message, never the others.
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_one(input, t, mail, policy, files)
                    }))
                    .unwrap_or_else(|_| {
                        fail(
                            t.label.as_deref(),
                            "内部エラーのため処理できませんでした (internal.panic)".to_owned(),
                        )
                    });
                    mine = mine.max(done);
                }
                if let Ok(mut w) = worst.lock() {
                    *w = (*w).max(mine);
                }
            });
        }
    });
    // A worker that died leaves the lock poisoned: count that as a failure, never as success.
    worst.into_inner().unwrap_or(Done::Failed).exit_code()
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, then a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn fail(label: Option<&str>, msg: String) -> Done {
    match label {
        Some(l) => eprintln!("mamori sanitize: {l}: {msg}"),
        None => eprintln!("mamori sanitize: {msg}"),
    }
    Done::Failed
}

fn run_one(
    input_path: &Path,
    t: &Targets,
    mail: bool,
    policy: &Policy,
    files: &(dyn FileSanitizer + Sync),
) -> Done {
    let label = t.label.as_deref();
    let input = match std::fs::read(input_path) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                label,
                format!("入力 {} を読めません (io.read): {e}", input_path.display()),
            );
        }
    };
    let outcome: Outcome = if mail {
        mamori_sanitize::sanitize_mail(&input, policy, files)
    } else {
        let name = input_path.file_name().and_then(|n| n.to_str());
        files.sanitize(&input, name, policy)
    };
    drop(input);
    if let Some(path) = &t.report
        && let Err(e) = write_atomically(path, (outcome.report.to_json() + "\n").as_bytes())
    {
        return fail(
            label,
            format!("レポート {} を書けません (io.write): {e}", path.display()),
        );
    }
    let prefix = label.map(|l| format!("{l}: ")).unwrap_or_default();
    match (&outcome.output, outcome.report.verdict) {
        (Some(bytes), Verdict::Clean | Verdict::Sanitized) => {
            if let Err(e) = write_atomically(&t.output, bytes) {
                return fail(
                    label,
                    format!("出力 {} を書けません (io.write): {e}", t.output.display()),
                );
            }
            eprintln!(
                "{prefix}{} ({}): {} 件の処理",
                outcome.report.verdict.label_ja(),
                serde_json::to_value(outcome.report.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                outcome.report.actions.len()
            );
            Done::Delivered
        }
        _ => {
            let reason = outcome
                .report
                .block_reason()
                .map(|r| format!("{} [{}]", r.reason, r.code))
                .unwrap_or_default();
            eprintln!("{prefix}遮断 (blocked): {reason}");
            Done::Blocked
        }
    }
}
