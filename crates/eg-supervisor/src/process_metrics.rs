//! The standard Prometheus process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, …) of this process, read from Linux's `/proc` when
//! `/metrics` is scraped, with the names and types Prometheus client libraries use.

use std::fmt::Write as _;

/// Clock ticks per second of the times in `/proc/<pid>/stat` (Linux's `USER_HZ`, fixed at
/// 100 in the kernel's user-space interface).
const USER_HZ: f64 = 100.0;

/// The metrics as Prometheus text, empty where `/proc` cannot be read.
pub fn process_metrics() -> String {
    let mut out = String::new();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    // /proc/self/stat: the fields after the parenthesised command name, from field 3.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let stat_field = |n: usize| after.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let mut put = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
    };
    let cpu = stat_field(14)
        .zip(stat_field(15))
        .map(|(u, s)| (u + s) as f64 / USER_HZ);
    put(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        cpu,
    );
    put(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        field("VmRSS:").map(|kb| (kb * 1024) as f64),
    );
    put(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        field("VmSize:").map(|kb| (kb * 1024) as f64),
    );
    put(
        "process_threads",
        "gauge",
        "Number of OS threads in the process.",
        field("Threads:").map(|n| n as f64),
    );
    let open = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as f64);
    put(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        open,
    );
    let max = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<f64>().ok())
        });
    put(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        max,
    );
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    let start = boot
        .zip(stat_field(22))
        .map(|(b, ticks)| b as f64 + ticks as f64 / USER_HZ);
    put(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        start,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
    }

    #[test]
    fn reads_this_process() {
        let t = process_metrics();
        assert!(value(&t, "process_resident_memory_bytes") > 1024.0 * 1024.0);
        assert!(
            value(&t, "process_virtual_memory_bytes") >= value(&t, "process_resident_memory_bytes")
        );
        assert!(value(&t, "process_threads") >= 1.0);
        assert!(value(&t, "process_open_fds") >= 3.0);
        assert!(value(&t, "process_max_fds") >= value(&t, "process_open_fds"));
        assert!(value(&t, "process_cpu_seconds_total") >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value(&t, "process_start_time_seconds");
        assert!(
            start <= now + 1.0 && start > now - 24.0 * 3600.0,
            "{start} vs {now}"
        );
        assert!(t.contains("# TYPE process_cpu_seconds_total counter"));
    }
}
