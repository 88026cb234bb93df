//! Readings from `/proc`, `/sys` and `getrusage`: resident memory, page faults, and the facts
//! about the machine that go into a results manifest.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The OS page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

/// Memory the kernel says can be allocated without swapping (`MemAvailable` of
/// `/proc/meminfo`), in bytes; `None` where it is not readable.
pub fn mem_available() -> Option<u64> {
    kib_field("/proc/meminfo", "MemAvailable:")
}

/// A `Label:   N kB` line of a `/proc` file (`meminfo`, `status`), in bytes.
fn kib_field(path: &str, label: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(label))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Address space this process may still map under its `RLIMIT_AS` (`ulimit -v`): the limit
/// less what is mapped now (`VmSize` of `/proc/self/status`); `None` without a limit. Memory
/// the machine has free is no use past it: an allocation beyond it fails (and a `Vec` that
/// grows into it aborts the process), however much `MemAvailable` says.
pub fn address_space_left() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and has no other effect.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let mapped = kib_field("/proc/self/status", "VmSize:").unwrap_or(0);
    Some(limit.rlim_cur.saturating_sub(mapped))
}

/// Reads a process's resident set size from `/proc/PID/statm` without allocating: the file
/// is opened once and re-read with `pread` into a stack buffer, so sampling inside a measured
/// loop costs one system call and touches no heap.
pub struct RssReader {
    file: File,
    page: u64,
}

impl RssReader {
    /// A reader for this process.
    pub fn for_self() -> std::io::Result<Self> {
        Self::open("/proc/self/statm")
    }

    /// A reader for another process (its RSS as seen from outside, e.g. a child).
    pub fn for_pid(pid: u32) -> std::io::Result<Self> {
        Self::open(&format!("/proc/{pid}/statm"))
    }

    fn open(path: &str) -> std::io::Result<Self> {
        Ok(RssReader {
            file: File::open(path)?,
            page: page_size(),
        })
    }

    /// Resident bytes now, or `None` when the file cannot be read (process gone).
    #[inline]
    pub fn read(&self) -> Option<u64> {
        let mut buf = [0u8; 128];
        let n = self.file.read_at(&mut buf, 0).ok()?;
        parse_statm_resident(&buf[..n]).map(|pages| pages * self.page)
    }
}

/// The second field of statm (resident pages).
fn parse_statm_resident(buf: &[u8]) -> Option<u64> {
    let mut fields = buf.split(|&b| b == b' ');
    fields.next()?;
    let field = fields.next()?;
    let mut v: u64 = 0;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// CPU time this thread has run, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`). The throughput
/// loop's clock: on a shared machine the time a thread spends descheduled is someone else's
/// load, not the allocator's cost, and one preemption inside a pass would otherwise decide
/// its figure (issue 12). Costs one system call, read only at the ends of a pass.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; the clock id is always supported on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Minor page faults this thread has taken so far (`RUSAGE_THREAD`): what touching freshly
/// mapped memory costs, counted without hardware counters.
pub fn thread_minor_faults() -> u64 {
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_THREAD is Linux's.
    unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut r);
        r.ru_minflt as u64
    }
}

/// Resource usage of this process (`RUSAGE_SELF`) or of its waited-for children.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub minor_faults: u64,
    pub major_faults: u64,
    /// Peak resident set in bytes.
    pub max_rss_bytes: u64,
    pub user_ns: u64,
    pub system_ns: u64,
}

impl Usage {
    pub fn from_rusage(r: &libc::rusage) -> Self {
        let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
        Usage {
            minor_faults: r.ru_minflt as u64,
            major_faults: r.ru_majflt as u64,
            max_rss_bytes: r.ru_maxrss as u64 * 1024,
            user_ns: tv(r.ru_utime),
            system_ns: tv(r.ru_stime),
        }
    }
}

/// Facts about the machine for a results manifest; each is `None` when not readable.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MachineInfo {
    pub cpu_model: Option<String>,
    pub cores: usize,
    pub kernel: Option<String>,
    pub transparent_hugepages: Option<String>,
    pub cpu_governor: Option<String>,
    pub libc: Option<String>,
    /// 1-minute load average when the run started (see [`load_average`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<f64>,
    /// The measuring binary's build ([`crate::BUILD`]); absent in runs saved before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// Whether a virtual machine gives free memory back to its hypervisor, which makes huge
    /// pages dearer after idle moments ([`super::hypervisor`]); absent without a balloon
    /// device and in runs saved before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_page_reporting: Option<super::hypervisor::PageReporting>,
    /// How contended the shared L3 was as the run started ([`super::cache_probe`]): measured
    /// by the commands that time things (`run`, `exec`, `validate`); absent elsewhere and in
    /// runs saved before 2026-12-05.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_share: Option<super::cache_probe::CacheShare>,
    /// The core's effective clock as the run started ([`super::clock_probe`]): measured by
    /// the commands that time things; absent elsewhere, off x86-64 and in runs saved before
    /// 2026-12-07.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<super::clock_probe::ClockSpeed>,
}

/// Environment variable that replaces `/proc/loadavg`'s first field, for tests only: the noise
/// warnings must be testable without loading the machine.
pub const FAKE_LOADAVG_ENV: &str = "PYBENCH_FAKE_LOADAVG";

/// The 1-minute load average (`/proc/loadavg`, or [`FAKE_LOADAVG_ENV`] when set).
pub fn load_average() -> Option<f64> {
    let text = match std::env::var(FAKE_LOADAVG_ENV) {
        Ok(v) => v,
        Err(_) => std::fs::read_to_string("/proc/loadavg").ok()?,
    };
    text.split_whitespace().next()?.parse().ok()
}

/// Environment variable that replaces [`busy_cores`]' measurement, for tests only: the hint it
/// feeds must be testable without loading the machine.
pub const FAKE_BUSY_CORES_ENV: &str = "PYBENCH_FAKE_BUSY_CORES";

/// How busy the CPUs this process may run on are: over the next `window`, the cores' worth
/// of CPU time they spent busy (`/proc/stat`'s per-CPU lines read at both ends: everything
/// but idle and iowait), and how many such CPUs there are (the affinity mask: a CI runner
/// pinned to 2 of a host's 64 cores is judged by its 2). With [`FAKE_BUSY_CORES_ENV`] set,
/// that many busy cores of the available ones. The load average cannot say this: it decays
/// over a minute, so it still counts a command that ended seconds ago.
pub fn busy_cores(window: std::time::Duration) -> Option<(f64, usize)> {
    let cpus = allowed_cpus()?;
    if let Ok(v) = std::env::var(FAKE_BUSY_CORES_ENV) {
        return Some((v.trim().parse().ok()?, cpus.len()));
    }
    let before = cpu_ticks(&cpus)?;
    std::thread::sleep(window);
    let after = cpu_ticks(&cpus)?;
    let total = after.0.checked_sub(before.0)?;
    let idle = after.1.checked_sub(before.1)?.min(total);
    let busy = (total > 0).then(|| (total - idle) as f64 / total as f64 * cpus.len() as f64)?;
    Some((busy, cpus.len()))
}

/// The CPUs this process may run on (`sched_getaffinity`).
fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set, and the kernel writes at most its
    // size into it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if got != 0 {
        return None;
    }
    // SAFETY: `set` is initialised above; CPU_ISSET reads it within CPU_SETSIZE.
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

/// `/proc/stat`'s lines of the CPUs `cpus`, summed: (every tick, idle and iowait ticks).
fn cpu_ticks(cpus: &[usize]) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let (mut total, mut idle) = (0u64, 0u64);
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(n) = words.next().and_then(|w| w.strip_prefix("cpu")) else {
            continue;
        };
        if !n.parse().is_ok_and(|n: usize| cpus.contains(&n)) {
            continue; // the all-CPU line, or a CPU this process may not use
        }
        let fields: Vec<u64> = words.map(|f| f.parse().ok()).collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal (guest time is inside user already).
        total += fields.iter().take(8).sum::<u64>();
        idle += fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    }
    Some((total, idle))
}

impl MachineInfo {
    pub fn read() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string());
        // The selected THP mode is the bracketed word: "always [madvise] never".
        let transparent_hugepages =
            std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
                .ok()
                .and_then(|s| {
                    let start = s.find('[')? + 1;
                    let end = s[start..].find(']')? + start;
                    Some(s[start..end].to_string())
                });
        let cpu_governor =
            std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
                .ok()
                .map(|s| s.trim().to_string());
        MachineInfo {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel,
            transparent_hugepages,
            cpu_governor,
            libc: glibc_version(),
            load_average: load_average(),
            build: Some(crate::BUILD.to_string()),
            free_page_reporting: super::hypervisor::PageReporting::read(),
            cache_share: None,
            clock: None,
        }
    }

    /// [`MachineInfo::read`], the shared cache's state and the core's clock (about 0.6 s), for
    /// a command about to time something.
    pub fn read_for_timing() -> Self {
        MachineInfo {
            cache_share: super::cache_probe::measure(),
            clock: super::clock_probe::measure(),
            ..MachineInfo::read()
        }
    }
}

/// The running glibc's version, e.g. "2.36".
pub fn glibc_version() -> Option<String> {
    extern "C" {
        fn gnu_get_libc_version() -> *const libc::c_char;
    }
    // SAFETY: returns a pointer to a static NUL-terminated string.
    let p = unsafe { gnu_get_libc_version() };
    if p.is_null() {
        return None;
    }
    // SAFETY: as above.
    Some(
        unsafe { std::ffi::CStr::from_ptr(p) }
            .to_string_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading covers the CPUs this process may use (at least one), and their busy time
    /// can be no more than all of them.
    #[test]
    fn busy_cores_reads_the_allowed_cpus_within_their_count() {
        if std::env::var_os(FAKE_BUSY_CORES_ENV).is_some() {
            return; // faked by the environment: nothing of this machine to check
        }
        let (busy, cpus) = busy_cores(std::time::Duration::from_millis(30)).expect("a reading");
        assert_eq!(cpus, allowed_cpus().unwrap().len());
        assert!(cpus >= 1);
        assert!((0.0..=cpus as f64).contains(&busy), "{busy} of {cpus}");
        // Only the allowed CPUs' lines count: none of them gives no ticks at all.
        assert_eq!(cpu_ticks(&[]), Some((0, 0)));
    }

    #[test]
    fn statm_resident_field_is_parsed() {
        assert_eq!(parse_statm_resident(b"12345 678 90 1 0 2 0\n"), Some(678));
        assert_eq!(parse_statm_resident(b"garbage"), None);
        assert_eq!(parse_statm_resident(b"1 x2 3"), None);
    }

    /// The kernel's own resident-set figure from /proc/self/status, in bytes.
    fn vm_rss() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    #[test]
    fn rss_reader_agrees_with_the_kernels_vmrss() {
        // Other tests allocate and free on other threads, so growth cannot be isolated here;
        // instead two readings taken back to back must agree (statm pages × page size).
        let rss = RssReader::for_self().unwrap();
        let mut agreed = 0;
        for _ in 0..20 {
            let ours = rss.read().unwrap() as i64;
            let kernel = vm_rss() as i64;
            if (ours - kernel).abs() <= 2 << 20 {
                agreed += 1;
            }
        }
        assert!(
            agreed >= 15,
            "statm and VmRSS disagreed in {} of 20 readings",
            20 - agreed
        );
    }

    #[test]
    fn machine_info_has_cores_and_glibc() {
        let m = MachineInfo::read();
        assert!(m.cores >= 1);
        assert!(m.libc.as_deref().is_some_and(|v| v.starts_with("2.")));
    }
}
