//! The cache cap in bounded memory. The age pass counts what stays (all files toward the
//! size, files that may go into a [`Histogram`] by eviction key); further scans narrow the
//! bucket that holds the cut-off down to one key; a last scan removes every evictable file
//! below the cut-off and, at it, just enough (in walk order).

use super::Filesystem;
use super::age::{Counted, Rules};
use super::histogram::Histogram;
use super::tally::Tally;
use super::walk::{Frame, Stack, Visitor, Walked, walk};
use crate::types::{Entry, EntryKind, RemovalReason};

/// Most scans spent narrowing the cut-off (each shrinks the range at least 2048-fold, so
/// six reach one key of a 64-bit range); past them the last range goes in walk order.
const MAX_NARROWING: u32 = 6;

/// The eviction key of a file: files with smaller keys go first.
pub type Eviction = fn(&Entry) -> u64;

/// What stays in the capped area after the age rule.
#[derive(Debug)]
pub struct Count {
    /// Bytes of the regular files that stay, evictable or not.
    pub total: u64,
    /// Bytes of the evictable ones, by key.
    pub histogram: Histogram,
    /// The eviction order.
    pub key: Eviction,
}

impl Count {
    /// Nothing counted yet, over every key.
    pub fn new(key: Eviction) -> Self {
        Self {
            total: 0,
            histogram: Histogram::new(0, u64::MAX),
            key,
        }
    }

    /// Counts a regular file that stays; `evictable` when nothing holds it.
    pub fn stays(&mut self, entry: &Entry, evictable: bool) {
        self.total = self.total.saturating_add(entry.size);
        if evictable {
            self.histogram.add((self.key)(entry), entry.size);
        }
    }
}

/// Which evictable files go: every key below `lo`, and keys `lo..=hi` in walk order while
/// fewer than `bytes` of them have gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Keys below this go.
    pub lo: u64,
    /// Keys up to this may go.
    pub hi: u64,
    /// Bytes to take from `lo..=hi`.
    pub bytes: u64,
}

/// How a file stands against the cap in a scan after the age pass.
enum Standing {
    /// Not a regular file, or the age rule takes it.
    Ignored,
    /// Stays whatever the order: locked, or below a locked directory (the index).
    Held(Option<usize>),
    /// May be evicted.
    Evictable(u64),
}

fn standing(entry: &Entry, stack: &Stack, rules: &Rules, key: Eviction) -> Standing {
    let held = stack.holder();
    if entry.kind != EntryKind::File || rules.goes(entry, held.is_some()) {
        Standing::Ignored
    } else if held.is_some() || entry.locked {
        Standing::Held(held)
    } else {
        Standing::Evictable(key(entry))
    }
}

fn push_directory(stack: &mut Stack, entry: Entry) {
    stack.push(Frame {
        path: entry.path,
        old: false,
        locked: entry.locked,
        keeps: false,
        held: false,
    });
}

/// A scan that counts the evictable bytes of one key range.
struct Narrow<'r> {
    rules: &'r Rules,
    key: Eviction,
    histogram: Histogram,
}

impl<F: Filesystem> Visitor<F> for Narrow<'_> {
    fn entry(&mut self, _tally: &mut Tally<'_, F>, stack: &mut Stack, entry: Entry) {
        if entry.kind == EntryKind::Directory {
            push_directory(stack, entry);
        } else if let Standing::Evictable(key) = standing(&entry, stack, self.rules, self.key) {
            self.histogram.add(key, entry.size);
        }
    }

    fn leave(&mut self, _: &mut Tally<'_, F>, _: &mut Stack, _: Frame, _: Option<usize>) {}
}

/// Finds the cut that frees at least `need` bytes from the evictable files counted in
/// `count`, scanning the area again while the bucket that holds it spans several keys.
pub fn find_cut<F: Filesystem>(
    tally: &mut Tally<'_, F>,
    rules: &Rules,
    count: Count,
    need: u64,
) -> Option<Cut> {
    let mut histogram = count.histogram;
    let mut below = 0u64;
    let mut passes = 0;
    loop {
        let Some(crossing) = histogram.crossing(need.saturating_sub(below)) else {
            // Not enough in this range: all of it goes (and everything below it).
            let (_, top) = histogram.range();
            return Some(Cut {
                lo: top,
                hi: top,
                bytes: u64::MAX,
            });
        };
        below = below.saturating_add(crossing.before);
        if crossing.lo == crossing.hi || passes >= MAX_NARROWING {
            return Some(Cut {
                lo: crossing.lo,
                hi: crossing.hi,
                bytes: need.saturating_sub(below),
            });
        }
        let mut narrow = Narrow {
            rules,
            key: count.key,
            histogram: Histogram::new(crossing.lo, crossing.hi),
        };
        if let Walked::Failed = walk(tally, &mut narrow) {
            return None;
        }
        histogram = narrow.histogram;
        passes += 1;
    }
}

/// The scan that removes what the cut takes.
pub struct Evict<'c> {
    /// The age rule (what it takes is not the cap's).
    pub rules: Rules,
    /// The eviction order.
    pub key: Eviction,
    /// What goes.
    pub cut: Cut,
    /// Bytes taken so far at the cut's range.
    pub taken: u64,
    /// Locked directories counted.
    pub counted: &'c mut Counted,
}

impl<F: Filesystem> Visitor<F> for Evict<'_> {
    fn entry(&mut self, tally: &mut Tally<'_, F>, stack: &mut Stack, entry: Entry) {
        if entry.kind == EntryKind::Directory {
            push_directory(stack, entry);
            return;
        }
        match standing(&entry, stack, &self.rules, self.key) {
            Standing::Ignored => {}
            Standing::Held(holder) => {
                // Kept back although the order would take it.
                if (self.key)(&entry) <= self.cut.hi {
                    match holder {
                        Some(holder) => stack.hold(holder),
                        None => tally.in_use(),
                    }
                }
            }
            Standing::Evictable(key) => {
                let goes = if key < self.cut.lo {
                    true
                } else if key <= self.cut.hi && self.taken < self.cut.bytes {
                    self.taken = self.taken.saturating_add(entry.size);
                    true
                } else {
                    false
                };
                if goes {
                    tally.remove(entry.path, entry.kind, entry.size, RemovalReason::CacheCap);
                }
            }
        }
    }

    fn leave(
        &mut self,
        tally: &mut Tally<'_, F>,
        stack: &mut Stack,
        frame: Frame,
        holder: Option<usize>,
    ) {
        if let Some(holder) = holder {
            self.counted.close(tally, &frame, holder == stack.depth());
        }
    }
}
