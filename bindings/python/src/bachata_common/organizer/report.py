"""The organizer's report for people, in Markdown (``host/src/services/organizer/report.rs``):
the current structure, the plan's totals, clips per category and the first issues."""

from __future__ import annotations

from .._text import printable as _printable

__all__ = ["ISSUES", "STATUSES", "to_markdown"]

#: Issues listed at most.
ISSUES = 20
#: Every clip status, in report order.
STATUSES = ("moved", "would_move", "already_organized", "missing", "target_exists", "unmapped", "refused", "error")
_DONE = ("moved", "already_organized", "would_move")
_DESCRIBE = {"organized": "organized", "partially": "partially organized", "not": "not organized"}


def _cell(text: str) -> str:
    return _printable(text).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def to_markdown(report: dict, proposed: bool = False) -> str:
    """A report of :func:`bachata_common.organizer.organize` as Markdown (the native host's).
    ``proposed`` adds, before the plan, the original app's "Proposed organization" figures:
    clips to process, files to move (moved, or to be moved in a dry run), already organized,
    missing files."""
    summary, structure = report["summary"], report["structure"]
    lines = ["# Directory organization report", ""]
    lines += [
        f"- Annotation file: `{_cell(report['annotations'])}`",
        f"- Dataset root: `{_cell(report['root'])}`",
        "- Mode: " + ("dry run (nothing on disk changed)" if report["dry_run"] else "organize"),
        "- Result: "
        + ("every clip is in place" if report["success"] else "some clips could not be placed (see the issues)"),
        "",
        "## Current structure (before this run)",
        "",
        f"- Video files: {structure['video_files']}",
        f"- Folders: {structure['folders']}",
        f"- Videos in `<category>/<label>/`: {structure['organized_files']} — {_DESCRIBE[report['organized']]}",
    ]
    if structure["skipped"]:
        lines.append(f"- Not looked into (links, other filesystems, unreadable): {structure['skipped']}")
    for category, count in structure["per_category"].items():
        lines.append(f"  - `{_cell(category)}`: {count}")
    if proposed:
        to_move = sum(1 for move in report["moves"] if move["status"] in ("moved", "would_move"))
        lines += [
            "",
            "## Proposed organization",
            "",
            f"- Total clips to process: {summary['total_clips']}",
            f"- Files to move: {to_move}",
            f"- Already organized: {summary['already_organized']}",
            f"- Missing files: {summary['missing_files']}",
        ]
    lines += ["", "## Plan", "", "| Status | Clips |", "|---|---:|", f"| total | {summary['total_clips']} |"]
    for status in STATUSES:
        count = sum(1 for move in report["moves"] if move["status"] == status)
        if count:
            lines.append(f"| {status} | {count} |")
    if summary["resumed"]:
        lines += ["", f"{summary['resumed']} moves of an interrupted run were finished first."]
    if report["per_category"]:
        lines += ["", "## Clips per category", "", "| Category | Clips |", "|---|---:|"]
        lines += [f"| `{_cell(category)}` | {count} |" for category, count in report["per_category"].items()]
    issues = [move for move in report["moves"] if move["status"] not in _DONE]
    if issues:
        lines += [
            "",
            f"## Issues ({len(issues)} clips; the first {min(len(issues), ISSUES)})",
            "",
            "| Clip | Path | Status | Why |",
            "|---|---|---|---|",
        ]
        for move in issues[:ISSUES]:
            lines.append(
                f"| {_cell(move['clip_id'])} | `{_cell(move['current_path'])}` | {move['status']} | "
                f"{_cell(move['error'] or '')} |"
            )
    return "\n".join(lines) + "\n"
