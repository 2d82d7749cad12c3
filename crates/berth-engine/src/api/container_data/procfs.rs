//! What stats need from /proc: the host's CPU time, its memory, and a container's
//! network counters (from `/proc/<pid>/net/dev`, which shows the process's namespace).

use std::collections::BTreeMap;

use berth_client::types::stats::NetworkStats;

/// The host's CPU time in nanoseconds, as Docker computes `system_cpu_usage`: the first
/// seven fields of the `cpu` line of /proc/stat (user, nice, system, idle, iowait, irq,
/// softirq), in clock ticks, converted with `ticks_per_second`.
pub fn system_cpu_usage(proc_stat: &str, ticks_per_second: u64) -> Option<u64> {
    let line = proc_stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some("cpu"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(7)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if fields.len() < 7 || ticks_per_second == 0 {
        return None;
    }
    let ticks: u128 = fields.iter().map(|&t| u128::from(t)).sum();
    u64::try_from(ticks * 1_000_000_000 / u128::from(ticks_per_second)).ok()
}

/// The interfaces of a `/proc/net/dev` table, loopback left out (Docker reports the
/// container's endpoints only).
pub fn network_stats(net_dev: &str) -> BTreeMap<String, NetworkStats> {
    let mut out = BTreeMap::new();
    // Two header lines, then `  name: rx_bytes rx_packets rx_errs rx_drop fifo frame
    // compressed multicast tx_bytes tx_packets tx_errs tx_drop ...`.
    for line in net_dev.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name == "lo" || name.is_empty() {
            continue;
        }
        let values: Vec<u64> = counters
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        if values.len() < 12 {
            continue;
        }
        out.insert(
            name.to_string(),
            NetworkStats {
                rx_bytes: values[0],
                rx_packets: values[1],
                rx_errors: values[2],
                rx_dropped: values[3],
                tx_bytes: values[8],
                tx_packets: values[9],
                tx_errors: values[10],
                tx_dropped: values[11],
            },
        );
    }
    out
}

/// `MemTotal` of /proc/meminfo, in bytes.
pub fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Clock ticks per second (`USER_HZ`), the unit of /proc/stat.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0).unwrap_or(100)
}

/// CPUs online now (Docker's `online_cpus`).
pub fn online_cpus() -> u32 {
    // SAFETY: sysconf only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
}

/// The host's CPU time now, in nanoseconds.
pub fn read_system_cpu_usage() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    system_cpu_usage(&text, ticks_per_second())
}

/// The host's memory, in bytes.
pub fn read_mem_total() -> Option<u64> {
    mem_total(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// The network counters process `pid` sees.
pub fn read_network_stats(pid: i64) -> Option<BTreeMap<String, NetworkStats>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    Some(network_stats(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_cpu_usage_sums_seven_fields_in_nanoseconds() {
        let stat = "cpu  100 2 30 400 5 6 7 8 0 0\ncpu0 50 1 15 200 2 3 3 4 0 0\nintr 1 2\n";
        // 100+2+30+400+5+6+7 = 550 ticks at 100 Hz = 5.5 s (steal, the 8th, is left out).
        assert_eq!(system_cpu_usage(stat, 100), Some(5_500_000_000));
        assert_eq!(system_cpu_usage(stat, 250), Some(2_200_000_000));
        assert_eq!(system_cpu_usage("cpu0 1 2 3 4 5 6 7\n", 100), None);
        assert_eq!(system_cpu_usage("cpu 1 2 x 4 5 6 7\n", 100), None);
    }

    #[test]
    fn the_hosts_proc_stat_parses() {
        let usage = read_system_cpu_usage().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert!(read_system_cpu_usage().unwrap() >= usage);
    }

    #[test]
    fn net_dev_gives_each_interface_but_loopback() {
        let table = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:    5230      41    1    2    0     0          0         0     1838      19    3    4    0     0       0          0
eth1:7 1 0 0 0 0 0 0 9 2 0 0 0 0 0 0
";
        let stats = network_stats(table);
        assert_eq!(stats.keys().collect::<Vec<_>>(), ["eth0", "eth1"]);
        let eth0 = stats["eth0"];
        assert_eq!(
            (
                eth0.rx_bytes,
                eth0.rx_packets,
                eth0.rx_errors,
                eth0.rx_dropped
            ),
            (5230, 41, 1, 2)
        );
        assert_eq!(
            (
                eth0.tx_bytes,
                eth0.tx_packets,
                eth0.tx_errors,
                eth0.tx_dropped
            ),
            (1838, 19, 3, 4)
        );
        assert_eq!((stats["eth1"].rx_bytes, stats["eth1"].tx_bytes), (7, 9));
    }

    #[test]
    fn meminfo_total_is_in_bytes() {
        assert_eq!(
            mem_total("MemTotal:       16318412 kB\nMemFree: 1 kB\n"),
            Some(16318412 * 1024)
        );
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert!(read_mem_total().unwrap() > 0);
    }
}
