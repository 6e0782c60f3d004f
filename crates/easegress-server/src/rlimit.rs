//! The open-files limit of the process.
//!
//! Many systems start services with a soft `RLIMIT_NOFILE` of 1024 and a far higher hard
//! limit. A gateway holds a descriptor per client and per upstream connection, so, as Go's
//! runtime does for Easegress, the soft limit is raised to the hard one at start.

use std::io;

/// The soft and hard `RLIMIT_NOFILE`.
pub fn nofile_limit() -> io::Result<(libc::rlim_t, libc::rlim_t)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) only writes the `rlimit` it is given, which is a valid, exclusively
    // borrowed local for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

fn set_soft_nofile(soft: libc::rlim_t, hard: libc::rlim_t) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit(2) only reads the `rlimit` it is given, a valid local that outlives
    // the call. Changing the limit affects no memory of this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Linux's ceiling on any descriptor limit (`fs.nr_open`).
fn nr_open() -> Option<libc::rlim_t> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limits in force after.
///
/// An unlimited hard limit cannot be the soft limit of open files on Linux: the soft limit
/// then goes up to `fs.nr_open`.
pub fn raise_nofile_limit() -> io::Result<(libc::rlim_t, libc::rlim_t)> {
    let (soft, hard) = nofile_limit()?;
    if soft >= hard {
        return Ok((soft, hard));
    }
    let mut target = hard;
    if target == libc::RLIM_INFINITY {
        target = nr_open().filter(|n| *n > soft).unwrap_or(soft);
    }
    if target > soft {
        set_soft_nofile(target, hard)?;
    }
    nofile_limit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let (soft, hard) = nofile_limit().unwrap();
        if hard != libc::RLIM_INFINITY && hard > 1 {
            // Start just below the hard limit, as a service manager would leave it (only one
            // below: other tests of this process run meanwhile).
            set_soft_nofile(hard - 1, hard).unwrap();
        }
        let (new_soft, new_hard) = raise_nofile_limit().unwrap();
        assert_eq!(new_hard, hard);
        if hard == libc::RLIM_INFINITY {
            assert!(new_soft >= soft);
        } else {
            assert_eq!(new_soft, hard);
        }
        assert_eq!(nofile_limit().unwrap(), (new_soft, new_hard));
        // Raising again changes nothing.
        assert_eq!(raise_nofile_limit().unwrap(), (new_soft, new_hard));
    }
}
