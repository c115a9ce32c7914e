//! Writing checkpoints without ever losing a user's data.
//!
//! # The contract
//!
//! A target `DIR` given to [`Writer::open`] is one of
//! - a path that does not exist yet (its parent must be a directory),
//! - an empty directory, or
//! - an unmask checkpoint: a directory holding `train_state.json` and nothing but the files a
//!   checkpoint consists of ([`CHECKPOINT_FILES`]).
//!
//! Anything else (a file, a symbolic link, `/`, a folder of the user's, a LLaDA checkpoint that
//! `unmask train` did not write) is refused before anything is written. The writer holds an
//! advisory lock (`flock`) on `.DIR.lock` in the parent for its whole life, so a second writer
//! fails at once, naming the process that holds it.
//!
//! Each [`Writer::save`] writes every file into a fresh directory with a unique name inside the
//! parent (`.DIR.tmp-PID-N`, created with `mkdir`, which never reuses an existing path), then
//! exchanges it with `DIR` in one atomic `renameat2(RENAME_EXCHANGE)` where the kernel and the
//! file system allow it, so a reader sees the old checkpoint or the new one and never a missing
//! or partial one. The old files are then deleted by name (only [`CHECKPOINT_FILES`]); the
//! folder they were in is removed only when that leaves it empty. Where the exchange is not
//! available (another OS, a file system without it) the old checkpoint is first renamed to a
//! unique `.DIR.old-PID-N` and the new one moved into place; a crash between the two renames
//! leaves the old checkpoint there, and [`interrupted_swap`] finds it for `--resume`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use candle_core::Tensor;

use super::{Extra, Vocab, write_files};
use crate::{Config, NnError};

/// The files a checkpoint written by this tool may hold. A directory with any other entry is
/// not overwritten.
pub const CHECKPOINT_FILES: &[&str] = &[
    "config.json",
    "model.safetensors",
    "vocab.json",
    "tokenizer.json",
    "optimizer.safetensors",
    "train_state.json",
];

fn fail(path: &Path, msg: impl std::fmt::Display) -> NnError {
    NnError::File {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// What a target path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing yet.
    New,
    /// An empty directory.
    Empty,
    /// A checkpoint written by `unmask train`.
    Checkpoint,
}

/// Classifies `dir` as a checkpoint target, or refuses it with the reason (see the module
/// docs).
///
/// # Errors
///
/// [`NnError::File`] naming the path and what it holds.
pub fn check_target(dir: &Path) -> Result<Target, NnError> {
    dir.file_name().filter(|n| !n.is_empty()).ok_or_else(|| {
        fail(
            dir,
            "is not a folder name (give the path of a new folder, e.g. runs/model)",
        )
    })?;
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = parent_of(dir);
            if !parent.is_dir() {
                return Err(fail(
                    dir,
                    format_args!("its parent {} is not a directory", parent.display()),
                ));
            }
            return Ok(Target::New);
        }
        Err(e) => return Err(fail(dir, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(fail(
            dir,
            "is a symbolic link; give the checkpoint folder itself",
        ));
    }
    if !meta.is_dir() {
        return Err(fail(
            dir,
            "is an existing file, not a checkpoint folder; nothing was written (choose a new path)",
        ));
    }
    let mut strangers = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| fail(dir, e))? {
        let entry = entry.map_err(|e| fail(dir, e))?;
        count += 1;
        let file = entry.file_name().to_string_lossy().into_owned();
        let plain = match entry.file_type() {
            Ok(t) => t.is_file(),
            // Deleted while listed: a writer replacing the checkpoint removes the old files.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => false,
        };
        if !plain || !CHECKPOINT_FILES.contains(&file.as_str()) {
            strangers.push(file);
        }
    }
    if count == 0 {
        return Ok(Target::Empty);
    }
    if strangers.is_empty() && dir.join("train_state.json").is_file() {
        return Ok(Target::Checkpoint);
    }
    strangers.sort();
    let what = if strangers.is_empty() {
        "holds no train_state.json, so it is not a checkpoint written by unmask train".to_string()
    } else {
        format!(
            "holds {} that {} not part of an unmask checkpoint ({}{})",
            strangers.len(),
            if strangers.len() == 1 { "is" } else { "are" },
            strangers
                .iter()
                .take(5)
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            if strangers.len() > 5 { ", …" } else { "" }
        )
    };
    Err(fail(
        dir,
        format_args!(
            "is an existing folder that {what}; nothing was written or deleted (choose a new path, or an empty folder)"
        ),
    ))
}

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A sibling of `dir` in its parent: `.NAME<suffix>`.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(dir.file_name().unwrap_or_default());
    name.push(suffix);
    parent_of(dir).join(name)
}

/// Folders left by a write that stopped between its two renames (only where the atomic exchange
/// is unavailable), newest first: `.DIR.old-*` siblings that hold a checkpoint.
pub fn interrupted_swap(dir: &Path) -> Vec<PathBuf> {
    let Some(name) = dir.file_name() else {
        return Vec::new();
    };
    let prefix = format!(".{}.old-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent_of(dir)) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .filter(|p| p.join("train_state.json").is_file())
        .map(|p| {
            let t = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (t, p)
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The exclusive right to write checkpoints to one target (see the module docs). Dropping it
/// releases the lock.
#[derive(Debug)]
pub struct Writer {
    dir: PathBuf,
    lock: File,
}

impl Writer {
    /// Checks `dir` ([`check_target`]) and takes its lock.
    ///
    /// # Errors
    ///
    /// [`NnError::File`] when the target is refused, and [`NnError::Locked`] when another
    /// process writes to it (naming that process).
    pub fn open(dir: &Path) -> Result<Writer, NnError> {
        let lock_path = sibling(dir, ".lock");
        if let Err(e) = check_target(dir) {
            // What another writer's swap shows for an instant is not the user's folder: when
            // the lock is held, that is the answer. (An existing lock file only: nothing is
            // created beside a refused target.)
            if let Ok(lock) = File::options().read(true).open(&lock_path)
                && let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock()
            {
                return Err(locked(dir, lock, lock_path));
            }
            return Err(e);
        }
        loop {
            let mut lock = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock_path)
                .map_err(|e| fail(&lock_path, e))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(locked(dir, lock, lock_path));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(&lock_path, e)),
            }
            // The file may have been replaced between open and lock; the lock counts only if
            // the path still names the file locked.
            if !same_file(&lock, &lock_path) {
                continue;
            }
            lock.set_len(0).map_err(|e| fail(&lock_path, e))?;
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            writeln!(
                lock,
                "process {} (unmask train), since unix time {since}",
                std::process::id()
            )
            .map_err(|e| fail(&lock_path, e))?;
            // Checked again under the lock: another writer may have finished meanwhile.
            check_target(dir)?;
            return Ok(Writer {
                dir: dir.to_path_buf(),
                lock,
            });
        }
    }

    /// The target directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a checkpoint (see [`super::save`] for the files) and puts it in place of the
    /// previous one atomically.
    ///
    /// # Errors
    ///
    /// [`NnError::NonFinite`] before anything is written when a tensor holds a NaN or an
    /// infinity; [`NnError::File`] naming what could not be written (the previous checkpoint is
    /// then intact).
    pub fn save(
        &self,
        config: &Config,
        tensors: &BTreeMap<String, Tensor>,
        vocab: &Vocab,
        extra: Extra<'_>,
    ) -> Result<(), NnError> {
        let tmp = self.fresh(".tmp")?;
        if let Err(e) = write_files(&tmp, config, tensors, vocab, extra) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let result = self.swap(&tmp);
        if result.is_err() && tmp.exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// A new, empty directory `.DIR<suffix>-PID-N` in the parent.
    fn fresh(&self, suffix: &str) -> Result<PathBuf, NnError> {
        for k in 0..1000 {
            let path = sibling(&self.dir, &format!("{suffix}-{}-{k}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(&path, e)),
            }
        }
        Err(fail(&self.dir, "no free temporary name in its parent"))
    }

    fn swap(&self, tmp: &Path) -> Result<(), NnError> {
        // The target is checked again: the user may have put a file into it since.
        let target = check_target(&self.dir)?;
        if target == Target::New {
            return std::fs::rename(tmp, &self.dir).map_err(|e| fail(&self.dir, e));
        }
        let old = if exchange(tmp, &self.dir) {
            tmp.to_path_buf()
        } else {
            let old = self.fresh(".old")?;
            std::fs::remove_dir(&old).map_err(|e| fail(&old, e))?;
            std::fs::rename(&self.dir, &old).map_err(|e| fail(&self.dir, e))?;
            std::fs::rename(tmp, &self.dir).map_err(|e| fail(&self.dir, e))?;
            old
        };
        remove_checkpoint_files(&old)
    }
}

/// The refusal of a target whose lock another process holds, with what it wrote there.
fn locked(dir: &Path, mut lock: File, lock_path: PathBuf) -> NnError {
    let mut holder = String::new();
    let _ = lock.read_to_string(&mut holder);
    NnError::Locked {
        path: dir.to_path_buf(),
        holder: holder.trim().to_string(),
        lock: lock_path,
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Truncated, not removed: removing a lock file races with a process opening it.
        let _ = self.lock.set_len(0);
        let _ = self.lock.unlock();
    }
}

/// Swaps two directories atomically; false where the OS or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// Deletes a previous checkpoint by its file names; the folder goes only if that empties it.
fn remove_checkpoint_files(dir: &Path) -> Result<(), NnError> {
    for name in CHECKPOINT_FILES {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(&path, e)),
        }
    }
    std::fs::remove_dir(dir).map_err(|e| {
        fail(
            dir,
            format_args!("kept: it holds files that are not a checkpoint's ({e})"),
        )
    })
}
