//! What a virtual machine's hypervisor does with the guest's free memory, read from sysfs.
//!
//! With virtio-balloon *free page reporting* (feature bit 5 of the balloon device), the guest
//! kernel tells the hypervisor about free blocks of at least 2^order pages (order 9: 2 MiB)
//! that have stayed free for about two seconds, and the hypervisor drops their backing. A
//! huge page is exactly such a block, so a process that faults in huge pages on a machine
//! idle for a few seconds makes the hypervisor back each again: measured on the AMD EPYC
//! guest of 2026-12-02, touching 128 MiB of `MADV_HUGEPAGE` memory took 224 – 289 ms with the
//! blocks free for 3 s, 13.5 – 90 ms right after another process freed them (five pairs); 4 KiB pages come
//! from smaller free fragments, which are not reported, and cost the same either way. So on
//! such a machine an allocator that asks for huge pages (mimalloc 3.x advises its arenas)
//! pays a cost that depends on what ran just before it (README, "Does the replay predict the
//! real program?").

use std::path::Path;

/// The virtio device id of a memory balloon (virtio specification, "Device Types").
const BALLOON_DEVICE_ID: &str = "0x0005";
/// `VIRTIO_BALLOON_F_REPORTING`: the device accepts free page reports.
const REPORTING_FEATURE_BIT: usize = 5;

/// Environment variable naming a directory to read instead of `/sys`, for tests only: the
/// note must be testable on machines with and without a balloon.
pub const FAKE_SYSFS_ENV: &str = "PYBENCH_FAKE_SYSFS";

/// Free page reporting as the guest has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageReporting {
    /// Whether the balloon device offers reporting (the guest then reports; Linux 5.7+).
    pub enabled: bool,
    /// The smallest reported block, as a power of two of pages (`page_reporting_order`), when
    /// the kernel exposes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u32>,
}

impl PageReporting {
    /// Reads it from the machine's sysfs; `None` without a balloon device (bare metal, or a
    /// hypervisor without one) or when sysfs cannot be read.
    pub fn read() -> Option<Self> {
        match std::env::var_os(FAKE_SYSFS_ENV) {
            Some(root) => Self::read_from(Path::new(&root)),
            None => Self::read_from(Path::new("/sys")),
        }
    }

    /// As [`PageReporting::read`], from a sysfs tree rooted at `sys` (tests use a fake one).
    pub fn read_from(sys: &Path) -> Option<Self> {
        let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
        // Whether each balloon device offers reporting; unknown if one's features cannot be
        // read. `features` is one '0'/'1' character per feature bit, bit 0 first.
        let balloons = std::fs::read_dir(sys.join("bus/virtio/devices"))
            .ok()?
            .flatten()
            .map(|dev| dev.path())
            .filter(|d| read(d.join("device")).as_deref().map(str::trim) == Some(BALLOON_DEVICE_ID))
            .map(|d| {
                Some(
                    read(d.join("features"))?
                        .as_bytes()
                        .get(REPORTING_FEATURE_BIT)
                        == Some(&b'1'),
                )
            })
            .collect::<Option<Vec<bool>>>()?;
        if balloons.is_empty() {
            return None;
        }
        let order = read(sys.join("module/page_reporting/parameters/page_reporting_order"))
            .and_then(|s| s.trim().parse().ok());
        Some(PageReporting {
            enabled: balloons.contains(&true),
            order,
        })
    }

    /// One line for a run's stderr when reporting is on, saying what it does to real runs.
    pub fn note(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let block = match self.order {
            Some(o) => format!("blocks of 2^{o} pages"),
            None => "large free blocks".to_string(),
        };
        Some(format!(
            "note: this machine hands free memory back to its hypervisor (free page reporting, \
             {block}): huge pages idle for ~2 s cost several times more to fault in again, so an \
             allocator using them (mimalloc) pays system time that depends on what ran before"
        ))
    }
}

/// Faults in `bytes` of fresh anonymous memory, one write a page, and unmaps it again: on a
/// machine that reports free pages, the hypervisor backs those pages now and the guest holds
/// them free and backed for the next ~2 s, so what a process faults in next costs the guest's
/// own fault and no more. 4 KiB pages escape the hypervisor's cost only while the guest has
/// unreported fragments to serve them from: a process that has just taken gigabytes (a
/// materialised stream) has used those up, and its next 4 KiB pages cost 3 – 4× as much
/// (README "Cold passes on a machine that reports free pages"). The harness does this,
/// untimed, before a cold pass whose heap would otherwise land on memory the hypervisor had
/// dropped ([`crate::harness::throughput`]).
pub fn back_free_memory(bytes: u64) -> std::io::Result<()> {
    const PAGE: usize = 4096;
    let len = usize::try_from(bytes).map_err(std::io::Error::other)?;
    if len == 0 {
        return Ok(());
    }
    let base = super::mem::reserve(len).ok_or_else(std::io::Error::last_os_error)?;
    for off in (0..len).step_by(PAGE) {
        // SAFETY: inside the mapping just made, which nothing else holds.
        unsafe { base.as_ptr().add(off).write_volatile(1) };
    }
    // SAFETY: exactly the mapping made above, no longer used.
    unsafe { super::mem::unmap(base, len) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::testing::{scratch, Scratch};

    /// Every page is written (so the kernel, and a hypervisor under it, backs it): the thread
    /// takes a minor fault at least for most of them, and the mapping is gone afterwards.
    #[test]
    fn backing_free_memory_faults_in_every_page() {
        let before = crate::sys::procfs::thread_minor_faults();
        back_free_memory(32 << 20).unwrap();
        let faults = crate::sys::procfs::thread_minor_faults() - before;
        // 8,192 pages of 4 KiB; with transparent huge pages, 16 faults of 2 MiB can serve them.
        assert!(faults >= 16, "{faults} faults");
        back_free_memory(0).unwrap();
        assert!(
            back_free_memory(u64::MAX >> 1).is_err(),
            "an impossible size is an error"
        );
    }

    /// A fake sysfs with the given virtio devices (id, features) and reporting order.
    fn fake_sys(devices: &[(&str, &str)], order: Option<&str>) -> Scratch {
        let dir = scratch("fake-sysfs");
        std::fs::create_dir_all(dir.join("bus/virtio/devices")).unwrap();
        for (i, (id, features)) in devices.iter().enumerate() {
            let d = dir.join(format!("bus/virtio/devices/virtio{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("device"), format!("{id}\n")).unwrap();
            std::fs::write(d.join("features"), format!("{features}\n")).unwrap();
        }
        if let Some(o) = order {
            let p = dir.join("module/page_reporting/parameters");
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("page_reporting_order"), o).unwrap();
        }
        dir
    }

    #[test]
    fn a_balloon_with_the_reporting_bit_is_reporting_at_its_order() {
        // The feature string of the 2026-12-02 guest: bits 1, 2, 5 and 7 (and 32) set.
        let sys = fake_sys(
            &[
                ("0x0002", "0010001001100100000000000000010010000000"),
                ("0x0005", "0110010100000000000000000000000010000000"),
            ],
            Some("9\n"),
        );
        let r = PageReporting::read_from(&sys).unwrap();
        assert_eq!(
            r,
            PageReporting {
                enabled: true,
                order: Some(9)
            }
        );
        assert!(r.note().unwrap().contains("blocks of 2^9 pages"));
    }

    #[test]
    fn a_balloon_without_the_bit_is_not_reporting_and_says_nothing() {
        let sys = fake_sys(&[("0x0005", "0110000100000000")], None);
        let r = PageReporting::read_from(&sys).unwrap();
        assert_eq!(
            r,
            PageReporting {
                enabled: false,
                order: None
            }
        );
        assert_eq!(r.note(), None);
    }

    #[test]
    fn no_balloon_or_no_sysfs_is_unknown() {
        // A block device whose feature bit 5 happens to be set is not a balloon.
        let sys = fake_sys(&[("0x0002", "0000010000")], Some("9"));
        assert_eq!(PageReporting::read_from(&sys), None);
        assert_eq!(PageReporting::read_from(&sys.join("missing")), None);
    }
}
