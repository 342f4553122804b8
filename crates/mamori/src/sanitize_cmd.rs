//! `mamori sanitize`: the 無害化 engine on the command line.
//!
//! - `mamori sanitize mail IN -o OUT [--report FILE] [--policy FILE]`
//! - `mamori sanitize file IN -o OUT [--report FILE] [--policy FILE]`
//! - `mamori sanitize --print-default-policy`
//!
//! Exit 0 when output was written (clean or sanitised), 1 when the input is blocked, 2 on usage or
//! I/O errors. Files (and mail attachments when the policy sanitises them) are processed in a
//! child process — this same binary, hidden subcommand `sanitize worker` — with limits.

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
    /// 入力ファイル。
    input: PathBuf,
    /// 出力ファイル (遮断時は書き込まない)。
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// 判定結果 (JSON) の書き出し先。
    #[arg(long)]
    report: Option<PathBuf>,
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
        Some(SanitizeCommand::Mail(a)) => run_one(&a, true),
        Some(SanitizeCommand::File(a)) => run_one(&a, false),
        Some(SanitizeCommand::Worker) => match mamori_sanitize::isolate::run_worker() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mamori sanitize worker: {e}");
                ExitCode::from(2)
            }
        },
        None => {
            eprintln!(
                "使い方: mamori sanitize mail|file IN -o OUT [--report FILE] [--policy FILE] | --print-default-policy (usage)"
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

fn run_one(a: &RunArgs, mail: bool) -> ExitCode {
    let policy = match load_policy(a.policy.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let input = match std::fs::read(&a.input) {
        Ok(b) => b,
        Err(e) => {
            return usage_error(format!(
                "入力 {} を読めません (io.read): {e}",
                a.input.display()
            ));
        }
    };
    let child = if a.in_process { None } else { worker() };
    let files: &dyn FileSanitizer = match &child {
        Some(c) => c,
        None => &InProcess,
    };
    let outcome: Outcome = if mail {
        mamori_sanitize::sanitize_mail(&input, &policy, files)
    } else {
        let name = a.input.file_name().and_then(|n| n.to_str());
        files.sanitize(&input, name, &policy)
    };
    if let Some(path) = &a.report
        && let Err(e) = std::fs::write(path, outcome.report.to_json() + "\n")
    {
        return usage_error(format!(
            "レポート {} を書けません (io.write): {e}",
            path.display()
        ));
    }
    match (&outcome.output, outcome.report.verdict) {
        (Some(bytes), Verdict::Clean | Verdict::Sanitized) => {
            if let Err(e) = std::fs::write(&a.output, bytes) {
                return usage_error(format!(
                    "出力 {} を書けません (io.write): {e}",
                    a.output.display()
                ));
            }
            eprintln!(
                "{} ({}): {} 件の処理",
                outcome.report.verdict.label_ja(),
                serde_json::to_value(outcome.report.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                outcome.report.actions.len()
            );
            ExitCode::SUCCESS
        }
        _ => {
            let reason = outcome
                .report
                .block_reason()
                .map(|r| format!("{} [{}]", r.reason, r.code))
                .unwrap_or_default();
            eprintln!("遮断 (blocked): {reason}");
            ExitCode::from(1)
        }
    }
}
