//! MurmurHash3 x64 128-bit, seed 0, first half: what Go's `github.com/spaolacci/murmur3`
//! returns from `Sum64`, the hash Easegress feeds its consistent-hash ring.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// The first 64 bits (`h1`) of MurmurHash3_x64_128 of `data` with seed 0.
pub fn sum64(data: &[u8]) -> u64 {
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&b[..8]);
        hi.copy_from_slice(&b[8..]);
        h1 ^= mix_k1(u64::from_le_bytes(lo));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(u64::from_le_bytes(hi));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let word = |bytes: &[u8]| {
        bytes
            .iter()
            .enumerate()
            .fold(0u64, |k, (i, &b)| k ^ (u64::from(b) << (8 * i)))
    };
    if tail.len() > 8 {
        h2 ^= mix_k2(word(&tail[8..]));
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(word(&tail[..tail.len().min(8)]));
    }
    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1.wrapping_add(h2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_go_reference_vectors() {
        // spaolacci/murmur3's murmur_test.go, seed 0, h64_1.
        assert_eq!(sum64(b""), 0);
        assert_eq!(sum64(b"hello"), 0xcbd8_a7b3_41bd_9b02);
        assert_eq!(sum64(b"hello, world"), 0x342f_ac62_3a5e_bc8e);
        assert_eq!(sum64(b"19 Jan 2038 at 3:14:07 AM"), 0xb89e_5988_b737_affc);
        assert_eq!(
            sum64(b"The quick brown fox jumps over the lazy dog."),
            0xcd99_481f_9ee9_02c9
        );
    }
}
