//! `organize`: training clips sorted into move categories from their annotation file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use bachata_common::organizer::{
    OrganizeOptions, OrganizeReport, Organizer, check_default_category, read_mapping,
};
use bachata_common::{Error, Policy};

/// `organize` arguments.
#[derive(Debug, Args)]
pub struct OrganizeArgs {
    /// The annotation file: JSON (`{"clips": [{"clip_id", "video_path", "move_label"}]}`) or
    /// CSV with those columns.
    #[arg(long, value_name = "FILE")]
    annotations: PathBuf,
    /// The dataset root the video paths are relative to (default: the annotation file's folder).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Change nothing on disk; report what would be done.
    #[arg(long)]
    dry_run: bool,
    /// A mapping file (JSON or TOML: category → labels) replacing the stock mapping.
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// The category of labels no category lists (default: such clips stay where they are).
    #[arg(long, value_name = "C")]
    default_category: Option<String>,
    /// Write the report as Markdown to OUT.md.
    #[arg(long, value_name = "OUT.md")]
    report: Option<PathBuf>,
}

/// Runs `organize`: exit 0 when every clip ends moved or already organized (in a dry run:
/// would be moved), 1 when some could not be.
pub fn run(policy: &Policy, args: &OrganizeArgs, json: bool) -> Result<ExitCode, Error> {
    let mapping = args
        .mapping
        .as_deref()
        .map(|path| read_mapping(policy, path))
        .transpose()?;
    if let Some(category) = &args.default_category {
        check_default_category(policy, category)?;
    }
    let options = OrganizeOptions {
        annotations: args.annotations.clone(),
        root: args.root.clone(),
        dry_run: args.dry_run,
        mapping,
        default_category: args.default_category.clone(),
    };
    let progress = super::progress::MoveProgress::start(json);
    let update = |done: u64, total: u64| progress.update(done, total);
    let report = Organizer::new(policy)
        .with_progress(&update)
        .organize(&options);
    progress.finish();
    let report = report?;
    if let Some(out) = &args.report {
        bachata_common::capabilities::dataset::write_atomically(
            out,
            report.to_markdown().as_bytes(),
        )
        .map_err(|source| Error::Io {
            path: out.clone(),
            source,
        })?;
    }
    print(&report, json);
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print(report: &OrganizeReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(report).unwrap_or_default());
        return;
    }
    let s = &report.summary;
    let verb = if report.dry_run {
        "would move"
    } else {
        "moved"
    };
    let moved = if report.dry_run {
        s.would_move
    } else {
        s.moved
    };
    println!(
        "{} clips: {moved} {verb}, {} already organized, {} missing, {} target exists, {} unmapped, {} refused, {} errors{}",
        s.total_clips,
        s.already_organized,
        s.missing_files,
        s.target_exists,
        s.unmapped,
        s.refused,
        s.errors,
        if s.resumed > 0 {
            format!(" ({} finished from an interrupted run)", s.resumed)
        } else {
            String::new()
        }
    );
    for clip in report
        .moves
        .iter()
        .filter(|clip| !clip.status.is_done())
        .take(20)
    {
        println!(
            "  {}\t{}\t{}\t{}",
            bachata_common::text::printable(&clip.clip_id),
            clip.status.name(),
            bachata_common::text::printable(&clip.current_path),
            bachata_common::text::printable(clip.error.as_deref().unwrap_or(""))
        );
    }
}
