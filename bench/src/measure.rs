//! What the workloads read from the operating system: CPU time, resident
//! memory, threads.

use std::time::Duration;

/// User + system CPU time of this process so far, all threads.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resident memory now, KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Peak resident memory of this process, KiB (`VmHWM`, the same as
/// `ru_maxrss`).
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// Threads of this process now.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

/// The last process or thread id the kernel handed out (any process):
/// a thread started per call would move it by at least one per call.
pub fn last_pid() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `N cores, CPU model`.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(String::new(), |kib| {
            format!(", {} GiB", (kib as f64 / 1024.0 / 1024.0).round())
        });
    format!("{cores} cores ({model}){memory}")
}

/// Pins this thread, and the threads and processes it starts from now on,
/// to these CPUs (all of them if empty). Returns false where the kernel
/// refused (a CPU that does not exist).
pub fn pin(cpus: &[usize]) -> bool {
    let all: Vec<usize> = (0..cpu_count()).collect();
    let cpus = if cpus.is_empty() { &all[..] } else { cpus };
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes within it;
    // sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// CPUs online.
pub fn cpu_count() -> usize {
    // SAFETY: sysconf reads a system value.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(1).max(1)
}
