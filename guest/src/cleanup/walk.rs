//! One streaming walk of an area: pages of entries from the host, and the stack of the
//! directories open on the current path (the only state that lasts between pages).
//!
//! The host lists a directory before what it holds and everything below it before anything
//! that follows it, so a directory is finished as soon as an entry comes that is not below
//! it (or the walk ends).

use super::Filesystem;
use super::tally::Tally;
use crate::types::{Entry, FsError, Page};

/// Entries asked for per page.
pub const PAGE: u32 = 1024;

/// A directory on the current path.
#[derive(Debug)]
pub struct Frame {
    /// Its path in the area.
    pub path: String,
    /// Whether it is old enough to go by age.
    pub old: bool,
    /// Whether a process holds a lock on it.
    pub locked: bool,
    /// Whether something below it stays (so it stays too).
    pub keeps: bool,
    /// For a locked directory: whether it kept back something that would otherwise go.
    pub held: bool,
}

/// The directories open on the current path, outermost first.
#[derive(Debug, Default)]
pub struct Stack {
    frames: Vec<Frame>,
    /// Index of the outermost locked frame.
    first_locked: Option<usize>,
}

impl Stack {
    /// The outermost locked directory on the current path, if any.
    pub fn holder(&self) -> Option<usize> {
        self.first_locked
    }

    /// How many directories are open.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// Marks the locked directory at `index` as having kept something back.
    pub fn hold(&mut self, index: usize) {
        if let Some(frame) = self.frames.get_mut(index) {
            frame.held = true;
        }
    }

    /// Marks the innermost open directory as keeping something.
    pub fn keep_parent(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            frame.keeps = true;
        }
    }

    /// Opens a directory below the current path.
    pub fn push(&mut self, frame: Frame) {
        if frame.locked && self.first_locked.is_none() {
            self.first_locked = Some(self.frames.len());
        }
        self.frames.push(frame);
    }

    /// Closes the innermost directory; with it, whether it or a directory above it is locked
    /// (the index of the outermost locked one).
    fn pop(&mut self) -> Option<(Frame, Option<usize>)> {
        let holder = self.first_locked;
        let frame = self.frames.pop()?;
        if self.first_locked == Some(self.frames.len()) {
            self.first_locked = None;
        }
        Some((frame, holder))
    }
}

/// Whether `path` lies below the directory `directory`.
fn is_below(path: &str, directory: &str) -> bool {
    path.len() > directory.len()
        && path.starts_with(directory)
        && path.as_bytes()[directory.len()] == b'/'
}

/// What a pass does with the entries of a walk.
pub trait Visitor<F: Filesystem> {
    /// An entry, with the directories above it open on `stack`.
    fn entry(&mut self, tally: &mut Tally<'_, F>, stack: &mut Stack, entry: Entry);

    /// A directory is finished: everything below it has been seen. `holder` is the index
    /// the outermost locked directory had (its own index is `stack`'s new depth).
    fn leave(
        &mut self,
        tally: &mut Tally<'_, F>,
        stack: &mut Stack,
        frame: Frame,
        holder: Option<usize>,
    );
}

/// How a walk ended.
pub enum Walked {
    /// Every entry was seen.
    Done,
    /// The area could not be scanned (the problem is in the report).
    Failed,
}

/// Walks `area` to the end, handing every entry and finished directory to `visitor`.
pub fn walk<F: Filesystem>(tally: &mut Tally<'_, F>, visitor: &mut impl Visitor<F>) -> Walked {
    let area = tally.area().to_string();
    let scan = match tally.fs.open_scan(&area) {
        Ok(scan) => scan,
        Err(FsError::UnknownArea(name)) => {
            tally.problem("", format!("unknown area `{name}`"));
            return Walked::Failed;
        }
        Err(FsError::Io(reason)) => {
            tally.problem("", reason);
            return Walked::Failed;
        }
    };
    let mut stack = Stack::default();
    loop {
        let Page {
            entries,
            problems,
            done,
        } = F::next(&scan, PAGE);
        tally.scanned(entries.len());
        for problem in problems {
            tally.problem(&problem.path, problem.reason);
        }
        for entry in entries {
            while stack
                .frames
                .last()
                .is_some_and(|open| !is_below(&entry.path, &open.path))
            {
                close(tally, visitor, &mut stack);
            }
            visitor.entry(tally, &mut stack, entry);
        }
        if done {
            break;
        }
    }
    while !stack.frames.is_empty() {
        close(tally, visitor, &mut stack);
    }
    Walked::Done
}

fn close<F: Filesystem>(
    tally: &mut Tally<'_, F>,
    visitor: &mut impl Visitor<F>,
    stack: &mut Stack,
) {
    if let Some((frame, holder)) = stack.pop() {
        visitor.leave(tally, stack, frame, holder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_means_inside_not_a_longer_name() {
        assert!(is_below("a/b", "a"));
        assert!(is_below("a/b/c", "a/b"));
        assert!(!is_below("ab", "a"));
        assert!(!is_below("a", "a"));
        assert!(!is_below("a-b/c", "a"));
    }

    fn frame(path: &str, locked: bool) -> Frame {
        Frame {
            path: path.to_string(),
            old: false,
            locked,
            keeps: false,
            held: false,
        }
    }

    #[test]
    fn the_outermost_locked_directory_holds_until_it_closes() {
        let mut stack = Stack::default();
        stack.push(frame("a", false));
        stack.push(frame("a/b", true));
        stack.push(frame("a/b/c", true));
        assert_eq!(stack.holder(), Some(1));
        let (_, holder) = stack.pop().expect("c");
        assert_eq!(holder, Some(1));
        assert_eq!(stack.holder(), Some(1));
        let (closed, holder) = stack.pop().expect("b");
        assert_eq!((closed.path.as_str(), holder), ("a/b", Some(1)));
        assert_eq!(stack.holder(), None);
    }
}
