//! The open-files limit of the process.
//!
//! Many systems start services with a soft `RLIMIT_NOFILE` of 1024 and a far higher hard
//! limit. A gateway holds a descriptor per client and per upstream connection, so, as Go's
//! runtime does for Easegress, the soft limit is raised to the hard one at start.

use std::io;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft and hard `RLIMIT_NOFILE`; `None` is unlimited.
pub fn nofile_limit() -> (Option<u64>, Option<u64>) {
    let lim = getrlimit(Resource::Nofile);
    (lim.current, lim.maximum)
}

fn set_soft_nofile(soft: u64, hard: Option<u64>) -> io::Result<()> {
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: hard,
        },
    )
    .map_err(io::Error::from)
}

/// Linux's ceiling on any descriptor limit (`fs.nr_open`).
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limits in force after
/// (`None` is unlimited).
///
/// An unlimited hard limit cannot be the soft limit of open files on Linux: the soft limit
/// then goes up to `fs.nr_open`.
pub fn raise_nofile_limit() -> io::Result<(Option<u64>, Option<u64>)> {
    let (soft, hard) = nofile_limit();
    let Some(soft_now) = soft else {
        return Ok((soft, hard));
    };
    let target = match hard {
        Some(h) => h,
        None => nr_open().unwrap_or(soft_now),
    };
    if target > soft_now {
        set_soft_nofile(target, hard)?;
    }
    Ok(nofile_limit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (soft, hard) = nofile_limit();
        if let Some(h) = hard.filter(|h| *h > 1) {
            // Start just below the hard limit, as a service manager would leave it (only one
            // below: other tests of this process run meanwhile).
            set_soft_nofile(h - 1, hard).unwrap();
        }
        let (new_soft, new_hard) = raise_nofile_limit().unwrap();
        assert_eq!(new_hard, hard);
        match hard {
            Some(h) => assert_eq!(new_soft, Some(h)),
            None => assert!(new_soft >= soft),
        }
        assert_eq!(nofile_limit(), (new_soft, new_hard));
        // Raising again changes nothing.
        assert_eq!(raise_nofile_limit().unwrap(), (new_soft, new_hard));
    }
}
