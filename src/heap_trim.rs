//! Gives the heap a process freed back to the system, now and then (glibc).
//!
//! glibc returns freed memory to the system only from the top of each arena,
//! and only past a threshold that grows with the largest block freed (up to
//! 64 MiB). A sync's short-lived plan input, a read-back's pages and a burst
//! of writes free hundreds of MiB in the middle of the heap, which then stays
//! resident: the operator's RSS stood several times its live heap after a
//! rollout (whole-loop benchmark). `malloc_trim(0)` hands every free page of
//! every arena back; it costs milliseconds, so a timer runs it, and a log line
//! at debug level says how much RSS it gave back, and how much of the heap
//! is live.

use std::time::Duration;

/// How many malloc arenas the process may have. glibc gives each thread that
/// meets a locked arena one of its own, up to eight per core; the async
/// workers and the blocking threads that plan each free into their own, and
/// chunks freed across many arenas are reused by none of the others: at 5,000
/// users the operator's heap held 305 MiB free beside 140 MiB live after a
/// rollout. Two arenas share that free space; the operator's threads take an
/// arena's lock for a malloc's few nanoseconds, so they seldom wait.
const ARENAS: i32 = 2;

/// Caps the malloc arenas at [`ARENAS`]: called first thing, before the runtime starts its threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only sets glibc's own tunable.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Trims the heap every `every`, in a task of its own, where glibc's allocator runs.
pub fn spawn(every: Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let before = resident_bytes();
            // Off the async workers: it holds each arena's lock while it walks it.
            let _ = tokio::task::spawn_blocking(trim).await;
            if let (Some(before), Some(after)) = (before, resident_bytes()) {
                let (in_use, free) = heap_use();
                tracing::debug!(
                    before_mib = before >> 20,
                    after_mib = after >> 20,
                    in_use_mib = in_use >> 20,
                    free_mib = free >> 20,
                    "trimmed the heap"
                );
            }
        }
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = every;
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The bytes glibc's arenas hand out now (live allocations, mmapped ones
/// included) and the bytes they hold free: what RSS would be without
/// fragmentation, and what the trim could not give back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_use() -> (u64, u64) {
    // SAFETY: mallinfo2 takes no pointer; it sums every arena's counters under their locks.
    let info = unsafe { libc::mallinfo2() };
    ((info.uordblks + info.hblkhd) as u64, info.fordblks as u64)
}

/// The process's resident set, from /proc/self/statm (pages of 4 KiB).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
