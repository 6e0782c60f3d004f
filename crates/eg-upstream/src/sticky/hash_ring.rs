//! The consistent-hash ring of `CookieConsistentHash` sticky sessions, built as Go's
//! `github.com/buraksezer/consistent` v0.10 builds it with Easegress's settings (1024
//! partitions, 50 replicas per member, load factor 1.25, murmur3), so that a key lands on
//! the same server as in Easegress given the same healthy servers.
//!
//! Members are named by their server URL; each gets 50 points on the ring (murmur3 of
//! `url` followed by the replica number in decimal). Partition `p` (murmur3 of `p` as 8
//! little-endian bytes) goes to the first point at or after its hash, skipping members that
//! already own `ceil(floor(1024 / members) * 1.25)` partitions. A key belongs to partition
//! `murmur3(key) % 1024`.

use super::murmur3::sum64;

/// Partitions of the ring.
pub const PARTITIONS: u64 = 1024;
/// Points per member.
pub const REPLICAS: usize = 50;
/// Most partitions a member owns, as a multiple of the average.
pub const LOAD: f64 = 1.25;

/// Partition → owner, for a set of members.
#[derive(Debug)]
pub struct HashRing {
    /// The member (index into the list given to [`HashRing::new`]) owning each partition.
    owners: Box<[u32]>,
}

impl HashRing {
    /// The ring of `members` (their names); `None` when there is none.
    pub fn new(members: &[&str]) -> Option<HashRing> {
        if members.is_empty() {
            return None;
        }
        // (point, member); a later member with an equal point replaces the earlier one, as
        // Go's map does.
        let mut points: Vec<(u64, u32)> = Vec::with_capacity(members.len() * REPLICAS);
        let mut key = String::new();
        for (m, name) in members.iter().enumerate() {
            for r in 0..REPLICAS {
                key.clear();
                key.push_str(name);
                key.push_str(&r.to_string());
                points.push((sum64(key.as_bytes()), m as u32));
            }
        }
        points.sort_by_key(|&(h, _)| h);
        let mut owner_at: Vec<u32> = points.iter().map(|&(_, m)| m).collect();
        for i in (0..points.len()).rev() {
            if i + 1 < points.len() && points[i].0 == points[i + 1].0 {
                owner_at[i] = owner_at[i + 1];
            }
        }
        let distinct = {
            let mut names: Vec<&str> = members.to_vec();
            names.sort_unstable();
            names.dedup();
            names.len() as u64
        };
        let avg = ((PARTITIONS / distinct) as f64 * LOAD).ceil();
        let mut loads = vec![0f64; members.len()];
        let mut owners = Vec::with_capacity(PARTITIONS as usize);
        for part in 0..PARTITIONS {
            let h = sum64(&part.to_le_bytes());
            let mut idx = points.partition_point(|&(p, _)| p < h);
            if idx >= points.len() {
                idx = 0;
            }
            let mut count = 0;
            loop {
                count += 1;
                if count >= points.len() {
                    // Go panics here; with the fixed settings it cannot happen.
                    return None;
                }
                let m = owner_at[idx] as usize;
                if loads[m] + 1.0 <= avg {
                    loads[m] += 1.0;
                    owners.push(m as u32);
                    break;
                }
                idx = (idx + 1) % points.len();
            }
        }
        Some(HashRing {
            owners: owners.into(),
        })
    }

    /// The member owning `key`.
    pub fn locate(&self, key: &[u8]) -> usize {
        self.owners[(sum64(key) % PARTITIONS) as usize] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_spread_within_the_load_bound() {
        let names = [
            "http://10.0.0.1:80",
            "http://10.0.0.2:80",
            "http://10.0.0.3:80",
        ];
        let ring = HashRing::new(&names).unwrap();
        let mut counts = [0usize; 3];
        for &o in ring.owners.iter() {
            counts[o as usize] += 1;
        }
        let bound = ((PARTITIONS / 3) as f64 * LOAD).ceil() as usize;
        assert!(counts.iter().all(|&c| c > 0 && c <= bound), "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), PARTITIONS as usize);
        // The same members give the same owner.
        let again = HashRing::new(&names).unwrap();
        assert_eq!(ring.locate(b"user-1"), again.locate(b"user-1"));
    }

    #[test]
    fn removing_a_member_moves_mostly_its_own_keys() {
        let names = ["http://a:1", "http://b:1", "http://c:1", "http://d:1"];
        let full = HashRing::new(&names).unwrap();
        let less = HashRing::new(&names[..3]).unwrap();
        let mut moved = 0;
        for i in 0..1000 {
            let k = format!("session-{i}");
            let before = full.locate(k.as_bytes());
            if before != 3 && less.locate(k.as_bytes()) != before {
                moved += 1;
            }
        }
        // Only the bounded-load spill moves keys of the remaining members.
        assert!(moved < 300, "{moved}");
        assert!(HashRing::new(&[]).is_none());
    }
}
