//! A memory budget, so that an input too big for the machine is refused with a message
//! instead of the process being killed by the kernel half-way through.
//!
//! The budget is the `MemAvailable` line of `/proc/meminfo` (Linux; elsewhere there is
//! no check), lowered by the `MLTQ_MAX_MEMORY` environment variable when it is set
//! (bytes, or a number with a `K`, `M`, `G` or `T` suffix, powers of 1024), for example
//! to share a machine with other jobs. Callers estimate what an input needs before
//! allocating it ([`crate::model::read`] for models, [`crate::gen`] for generated
//! networks) and call [`check`].

use crate::error::{Error, Result};

/// Keep the memory the process frees for its next allocations (glibc only; a no-op
/// elsewhere). By default glibc hands big blocks back to the kernel as soon as they are
/// freed (`munmap`, or shrinking the heap past 128 KB free at its top), so every layer's
/// buffers come back as fresh pages, each faulting in and being zeroed by the kernel:
/// on resnet50 that was 4,000 page faults and about a fifth of `simulate`'s wall time
/// on two threads. Here blocks under 32 MB come from the heap, the heap grows 64 MB at a
/// time (address space: pages count only once touched) and is never shrunk while the
/// process runs. Peak memory is unchanged: freed blocks are reused, not added to.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters (under the allocator's own lock);
    // each value is within the range glibc documents for it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// The environment variable that caps the budget.
pub const ENV: &str = "MLTQ_MAX_MEMORY";

/// How much memory may be used, and where that number comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes.
    pub bytes: u64,
    /// "MemAvailable in /proc/meminfo" or "MLTQ_MAX_MEMORY=…".
    pub source: String,
}

/// The current budget, or `None` when nothing is known (no `/proc/meminfo` and no
/// `MLTQ_MAX_MEMORY`). An unreadable `MLTQ_MAX_MEMORY` is an error.
pub fn budget() -> Result<Option<Budget>> {
    let system = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| mem_available(&t))
        .map(|bytes| Budget {
            bytes,
            source: "MemAvailable in /proc/meminfo".to_string(),
        });
    let cap = match std::env::var(ENV) {
        Ok(v) => Some(Budget {
            bytes: parse_size(&v).ok_or_else(|| {
                Error::invalid(format!(
                    "{ENV}={v:?} is not a size: write bytes or a number with K, M, G or T \
                     (powers of 1024), e.g. {ENV}=8G"
                ))
            })?,
            source: format!("{ENV}={v}"),
        }),
        Err(_) => None,
    };
    Ok(match (system, cap) {
        (Some(s), Some(c)) => Some(if c.bytes < s.bytes { c } else { s }),
        (s, c) => s.or(c),
    })
}

/// Refuse `need` bytes for `what` (e.g. "model big.mltq") when the budget is smaller:
/// "model big.mltq needs 12.0 GiB but only 3.1 GiB are available (…); …".
pub fn check(what: &str, need: u64, hint: &str) -> Result<()> {
    let Some(b) = budget()? else {
        return Ok(());
    };
    if need <= b.bytes {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "{what} needs {} but only {} are available ({}); {hint}",
        human(need),
        human(b.bytes),
        b.source
    )))
}

/// A size for people: GiB with one decimal from 1 GiB up (the usual case), MiB or KiB
/// below, bytes under 1 KiB.
pub fn human(bytes: u64) -> String {
    const UNITS: [(u32, &str); 3] = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
    for (shift, unit) in UNITS {
        if bytes >= 1u64 << shift {
            return format!("{:.1} {unit}", bytes as f64 / (1u64 << shift) as f64);
        }
    }
    format!("{bytes} bytes")
}

/// The `MemAvailable:` line of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut parts = line.split_whitespace().skip(1);
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = match parts.next() {
        Some("kB") | Some("KB") => 1024,
        None => 1,
        _ => return None,
    };
    n.checked_mul(unit)
}

/// `123`, `64K`, `512M`, `8G`, `1T` (also `8GiB`, `8GB`: powers of 1024 all the same).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, unit) = s.split_at(digits);
    let n: u64 = num.parse().ok()?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available_in_bytes() {
        let t = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   16000000 kB\n";
        assert_eq!(mem_available(t), Some(16_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("8GiB"), Some(8 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999T"), None);
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human(3 << 30), "3.0 GiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(512 << 20), "512.0 MiB");
        assert_eq!(human(2048), "2.0 KiB");
        assert_eq!(human(7), "7 bytes");
    }
}
