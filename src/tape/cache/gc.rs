//! The caches of a folder within a size budget: every read marks its cache used (its
//! modification time), and past the budget the least recently used are removed first. The
//! budget is `--cache-budget`, else `ALTSIM_CACHE_BUDGET`, else [`DEFAULT_BUDGET`].

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The budget when none is given: 4 GiB, about 25 days of one busy market.
pub const DEFAULT_BUDGET: u64 = 4 << 30;
/// The environment variable that sets the budget.
pub const BUDGET_VAR: &str = "ALTSIM_CACHE_BUDGET";

/// Marks a cache used now. A cache in a folder this process may not write is still read.
pub fn touch(f: &File) {
    let _ = f.set_modified(SystemTime::now());
}

/// A size that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("{0:?} is not a size (a number of bytes, or with K, M, G or T)")]
    NotASize(String),
    #[error("{0:?} is more bytes than 64 bits hold")]
    TooLarge(String),
}

/// A cache budget that is not a size, and where it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given_in}: {source}")]
pub struct BudgetError {
    /// `--cache-budget` or the environment variable.
    pub given_in: &'static str,
    pub source: SizeError,
}

/// Listing or removing the caches of a folder failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct GcError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// A size: a whole number of bytes, or with `K`, `M`, `G` or `T` (powers of 1024; `KB`,
/// `MiB` and the like read the same).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| SizeError::NotASize(s.to_string()))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(SizeError::NotASize(s.to_string())),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| SizeError::TooLarge(s.to_string()))
}

/// The budget given on the command line for this process (`--cache-budget`).
static GIVEN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// Sets this process's budget, as `--cache-budget` does (the first one set stands).
pub fn set_budget(bytes: u64) {
    let _ = GIVEN.set(bytes);
}

/// The budget: `flag` if given, else this process's, else the environment's, else the
/// default.
pub fn budget(flag: Option<&str>) -> Result<u64, BudgetError> {
    if let (None, Some(b)) = (flag, GIVEN.get()) {
        return Ok(*b);
    }
    match flag {
        Some(f) => parse_size(f).map_err(|source| BudgetError {
            given_in: "--cache-budget",
            source,
        }),
        None => match std::env::var(BUDGET_VAR) {
            Ok(v) => parse_size(&v).map_err(|source| BudgetError {
                given_in: BUDGET_VAR,
                source,
            }),
            Err(_) => Ok(DEFAULT_BUDGET),
        },
    }
}

/// One cache file of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub bytes: u64,
    /// When it was last built or read.
    pub used: SystemTime,
}

/// The cache files of `dir` (a `.altsim-cache` folder), most recently used first (by name
/// among equals). A missing folder has none.
pub fn list(dir: &Path) -> Result<Vec<Entry>, GcError> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GcError { path, source }
    };
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(at(dir)(e)),
    };
    let mut out = Vec::new();
    for e in read {
        let e = e.map_err(at(dir))?;
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("events") {
            continue;
        }
        let m = e.metadata().map_err(at(&path))?;
        out.push(Entry {
            path,
            bytes: m.len(),
            used: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        });
    }
    out.sort_by(|a, b| b.used.cmp(&a.used).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

/// Removes the least recently used caches of `dir` until the rest fit in `budget` bytes (the
/// most recent is always kept), and partial files of builds whose process has ended. Returns
/// what was removed.
pub fn collect(dir: &Path, budget: u64) -> Result<Vec<Entry>, GcError> {
    let mut removed = Vec::new();
    let mut total = 0u64;
    for (i, e) in list(dir)?.into_iter().enumerate() {
        total = total.saturating_add(e.bytes);
        if i > 0 && total > budget {
            if let Err(source) = std::fs::remove_file(&e.path) {
                return Err(GcError {
                    path: e.path,
                    source,
                });
            }
            removed.push(e);
        }
    }
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            let p = e.path();
            let pid = p
                .extension()
                .and_then(|x| x.to_str())
                .and_then(|x| x.strip_prefix("partial-"))
                .and_then(|x| x.parse::<u32>().ok());
            if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    Ok(removed)
}

/// A byte count as people read it: `13.9 MB`, `812 kB`.
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1 << 10 => format!("{} kB", b / 1000),
        b => format!("{b} B"),
    }
}

/// The cache folder of `p`: `p` itself when it is one, else its `.altsim-cache`.
fn cache_dir(p: &Path) -> PathBuf {
    if p.file_name().is_some_and(|n| n == super::DIR) {
        p.to_path_buf()
    } else {
        p.join(super::DIR)
    }
}

/// `altsim cache --list` (and, with a budget, `--gc`): each folder's caches, most recently
/// used first, with what was removed.
pub fn report(folders: &[PathBuf], gc: Option<u64>) -> Result<String, GcError> {
    let mut out = String::new();
    for f in folders {
        let dir = cache_dir(f);
        let removed = match gc {
            Some(b) => collect(&dir, b)?,
            None => Vec::new(),
        };
        let kept = list(&dir)?;
        let total: u64 = kept.iter().map(|e| e.bytes).sum();
        out.push_str(&format!(
            "{}: {} caches, {}{}\n",
            crate::console::shown(&dir).display(),
            kept.len(),
            human(total),
            gc.map_or(String::new(), |b| format!(" (budget {})", human(b)))
        ));
        for e in &kept {
            let used = e
                .used
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64);
            let (events, captures) = super::describe(&e.path).unwrap_or_default();
            out.push_str(&format!(
                "  {}  {:>9}  used {}  {} events  {}\n",
                e.path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                human(e.bytes),
                &crate::utc::utc(used)[..19],
                crate::console::thousands(events),
                captures.join(", ")
            ));
        }
        for e in &removed {
            out.push_str(&format!(
                "  removed {} ({}, least recently used)\n",
                e.path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                human(e.bytes)
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_their_units() {
        for (s, v) in [
            ("0", 0),
            ("4096", 4096),
            ("4K", 4096),
            ("500M", 500 << 20),
            ("4G", 4 << 30),
            ("4 GiB", 4 << 30),
            ("1tb", 1 << 40),
        ] {
            assert_eq!(parse_size(s), Ok(v), "{s}");
        }
        for s in ["", "G", "-1", "1.5G", "4X", "99999999999T"] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let dir = std::env::temp_dir().join(format!("altsim-gc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let p = dir.join(format!("{name}.events"));
            std::fs::write(&p, vec![0u8; 100]).unwrap();
            let f = File::options().write(true).open(&p).unwrap();
            // b is the newest, then d, a, c.
            let age = [2u64, 0, 3, 1][i];
            f.set_modified(t0 - std::time::Duration::from_secs(age))
                .unwrap();
        }
        std::fs::write(dir.join("x.partial-4294967295"), b"half").unwrap();
        std::fs::write(dir.join("notes.txt"), b"kept").unwrap();
        let order: Vec<String> = list(&dir)
            .unwrap()
            .iter()
            .map(|e| e.path.file_stem().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(order, ["b", "d", "a", "c"]);
        let gone = collect(&dir, 250).unwrap();
        let gone: Vec<_> = gone
            .iter()
            .map(|e| e.path.file_stem().unwrap().to_owned())
            .collect();
        assert_eq!(gone, ["a", "c"]);
        assert!(!dir.join("x.partial-4294967295").exists());
        assert!(dir.join("notes.txt").exists());
        // The newest stays, however small the budget.
        collect(&dir, 0).unwrap();
        assert_eq!(list(&dir).unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
