//! The age rule, decided page by page: files, links and other entries older than the limit
//! go as they are listed; a directory goes when it is finished, old, and nothing below it
//! stays. For the `cache` area the same walk counts what stays, for the cap.

use std::collections::HashSet;

use super::Filesystem;
use super::cap::Count;
use super::tally::Tally;
use super::walk::{Frame, Stack, Visitor};
use crate::types::{Entry, EntryKind, RemovalReason};

/// When an entry is old.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Seconds since the epoch.
    pub now: u64,
    /// The age limit in seconds.
    pub max_age_secs: f64,
    /// Everything is old.
    pub force: bool,
}

impl Rules {
    /// Whether an entry last modified at `mtime` (seconds) is strictly older than the limit.
    pub fn is_old(&self, mtime: u64) -> bool {
        self.force || (self.now.saturating_sub(mtime) as f64) > self.max_age_secs
    }

    /// Whether the age rule removes this entry when the host lets it (old, not locked, not
    /// below a locked directory).
    pub fn goes(&self, entry: &Entry, held: bool) -> bool {
        !held && !entry.locked && self.is_old(entry.mtime)
    }
}

/// Locked directories of one area already counted in `skipped-in-use`, so each counts once
/// whatever the number of passes.
#[derive(Debug, Default)]
pub struct Counted(HashSet<String>);

impl Counted {
    /// Counts `frame` (a locked directory that closed) once, if it kept anything back.
    pub fn close<F: Filesystem>(
        &mut self,
        tally: &mut Tally<'_, F>,
        frame: &Frame,
        outermost: bool,
    ) {
        if outermost && frame.held && self.0.insert(frame.path.clone()) {
            tally.in_use();
        }
    }
}

/// The age pass over one area.
pub struct AgePass<'c> {
    /// When entries are old.
    pub rules: Rules,
    /// Locked directories counted.
    pub counted: &'c mut Counted,
    /// For the `cache` area: what stays, for the cap.
    pub count: Option<&'c mut Count>,
}

impl AgePass<'_> {
    fn stays(&mut self, entry: &Entry, evictable: bool) {
        if let Some(count) = self.count.as_deref_mut()
            && entry.kind == EntryKind::File
        {
            count.stays(entry, evictable);
        }
    }
}

impl<F: Filesystem> Visitor<F> for AgePass<'_> {
    fn entry(&mut self, tally: &mut Tally<'_, F>, stack: &mut Stack, entry: Entry) {
        let old = self.rules.is_old(entry.mtime);
        if entry.kind == EntryKind::Directory {
            stack.push(Frame {
                path: entry.path,
                old,
                locked: entry.locked,
                keeps: false,
                held: false,
            });
            return;
        }
        if let Some(holder) = stack.holder() {
            if old {
                stack.hold(holder);
            }
            stack.keep_parent();
            self.stays(&entry, false);
        } else if entry.locked {
            if old {
                tally.in_use();
            }
            stack.keep_parent();
            self.stays(&entry, false);
        } else if old {
            tally.remove(entry.path, entry.kind, entry.size, RemovalReason::Age);
        } else {
            stack.keep_parent();
            self.stays(&entry, true);
        }
    }

    fn leave(
        &mut self,
        tally: &mut Tally<'_, F>,
        stack: &mut Stack,
        mut frame: Frame,
        holder: Option<usize>,
    ) {
        if let Some(holder) = holder {
            let outermost = holder == stack.depth();
            if frame.old {
                if outermost {
                    frame.held = true;
                } else {
                    stack.hold(holder);
                }
            }
            self.counted.close(tally, &frame, outermost);
            stack.keep_parent();
        } else if frame.old && !frame.keeps {
            tally.remove(frame.path, EntryKind::Directory, 0, RemovalReason::Age);
        } else {
            stack.keep_parent();
        }
    }
}
