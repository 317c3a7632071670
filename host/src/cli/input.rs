//! Input files of the commands that read many items (`monitor log-decision --from`,
//! `experiments assign --units-from`): regular files, pipes and standard input, read once;
//! devices and directories refused.

use std::path::Path;

use bachata_common::Error;
use bachata_common::monitor::invalid;

/// Opens an input file named by option `field`: `-` is standard input; a path may name a regular file, a pipe
/// (`<(…)`, `/dev/stdin`), a socket or a terminal, read once. Other special files (devices
/// such as `/dev/zero`, directories) are refused. A named pipe is opened waiting for its
/// writer, as `cat` would.
pub(super) fn open(
    path: &Path,
    field: &'static str,
    expected: &str,
) -> Result<(Box<dyn std::io::Read>, String), Error> {
    use rustix::fs::{FileType, Mode, OFlags};
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin().lock()), "standard input".into()));
    }
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // A named pipe is opened as `cat` opens it, waiting for its writer: opened without
    // waiting, a pipe with no writer yet reads as empty, and closing it again would drop what
    // a writer had just put in. Anything else is opened without waiting and looked at.
    let named_pipe = std::fs::metadata(path)
        .is_ok_and(|found| std::os::unix::fs::FileTypeExt::is_fifo(&found.file_type()));
    if named_pipe {
        let file = std::fs::File::open(path).map_err(io)?;
        let opened = rustix::fs::fstat(&file).map_err(|errno| io(errno.into()))?;
        if FileType::from_raw_mode(opened.st_mode) != FileType::Fifo {
            return Err(replaced(path, field));
        }
        return Ok((Box::new(file), path.display().to_string()));
    }
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|errno| io(errno.into()))?;
    let stat = rustix::fs::fstat(&fd).map_err(|errno| io(errno.into()))?;
    let kind = FileType::from_raw_mode(stat.st_mode);
    let accepted = match kind {
        FileType::RegularFile | FileType::Fifo | FileType::Socket => true,
        FileType::CharacterDevice => {
            std::io::IsTerminal::is_terminal(&std::os::fd::AsFd::as_fd(&fd))
        }
        _ => false,
    };
    if !accepted {
        let what = match kind {
            FileType::Directory => "a directory",
            FileType::CharacterDevice | FileType::BlockDevice => "a device",
            _ => "not a file",
        };
        return Err(invalid(
            field,
            Some(path.display().to_string()),
            format!(
                "{} is {what}: give {expected}, a pipe or `-` for standard input",
                path.display()
            ),
        )
        .into());
    }
    if kind == FileType::Fifo {
        // It became a named pipe after it was looked at.
        return Err(replaced(path, field));
    }
    // Reads block again once open.
    rustix::fs::fcntl_setfl(&fd, OFlags::empty()).map_err(|errno| io(errno.into()))?;
    Ok((
        Box::new(std::fs::File::from(fd)),
        path.display().to_string(),
    ))
}

/// An input that changed kind while it was being opened.
fn replaced(path: &Path, field: &'static str) -> Error {
    invalid(
        field,
        Some(path.display().to_string()),
        format!("{} was replaced while being opened", path.display()),
    )
    .into()
}
