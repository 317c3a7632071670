//! The organizer's report for people, in Markdown: the current structure, the plan's totals,
//! clips per category and the first issues.

use std::fmt::Write as _;

use crate::types::organizer::{ClipStatus, OrganizeReport};

/// Issues listed at most.
const ISSUES: usize = 20;

/// Markdown table cells: `|` escaped, line breaks and control characters made spaces.
fn cell(text: &str) -> String {
    crate::types::text::printable(text)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

impl OrganizeReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut page = String::new();
        let s = &self.summary;
        let _ = writeln!(page, "# Directory organization report\n");
        let _ = writeln!(
            page,
            "- Annotation file: `{}`\n- Dataset root: `{}`\n- Mode: {}\n- Result: {}\n",
            cell(&self.annotations),
            cell(&self.root),
            if self.dry_run {
                "dry run (nothing on disk changed)"
            } else {
                "organize"
            },
            if self.success {
                "every clip is in place"
            } else {
                "some clips could not be placed (see the issues)"
            }
        );
        let st = &self.structure;
        let _ = writeln!(page, "## Current structure (before this run)\n");
        let _ = writeln!(
            page,
            "- Video files: {}\n- Folders: {}\n- Videos in `<category>/<label>/`: {} — {}",
            st.video_files,
            st.folders,
            st.organized_files,
            self.organized.describe()
        );
        if st.skipped > 0 {
            let _ = writeln!(
                page,
                "- Not looked into (links, other filesystems, unreadable): {}",
                st.skipped
            );
        }
        for (category, count) in &st.per_category {
            let _ = writeln!(page, "  - `{}`: {count}", cell(category));
        }
        let _ = writeln!(page, "\n## Plan\n\n| Status | Clips |\n|---|---:|");
        let _ = writeln!(page, "| total | {} |", s.total_clips);
        for status in ClipStatus::ALL {
            let count = self.moves.iter().filter(|m| m.status == status).count();
            if count > 0 {
                let _ = writeln!(page, "| {} | {count} |", status.name());
            }
        }
        if s.resumed > 0 {
            let _ = writeln!(
                page,
                "\n{} moves of an interrupted run were finished first.",
                s.resumed
            );
        }
        if !self.per_category.is_empty() {
            let _ = writeln!(
                page,
                "\n## Clips per category\n\n| Category | Clips |\n|---|---:|"
            );
            for (category, count) in &self.per_category {
                let _ = writeln!(page, "| `{}` | {count} |", cell(category));
            }
        }
        let issues: Vec<_> = self.moves.iter().filter(|m| !m.status.is_done()).collect();
        if !issues.is_empty() {
            let _ = writeln!(
                page,
                "\n## Issues ({} clips; the first {})\n\n| Clip | Path | Status | Why |\n|---|---|---|---|",
                issues.len(),
                issues.len().min(ISSUES)
            );
            for clip in issues.iter().take(ISSUES) {
                let _ = writeln!(
                    page,
                    "| {} | `{}` | {} | {} |",
                    cell(&clip.clip_id),
                    cell(&clip.current_path),
                    clip.status.name(),
                    cell(clip.error.as_deref().unwrap_or(""))
                );
            }
        }
        page
    }
}
