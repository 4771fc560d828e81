//! Ids: version-4 UUIDs, UUIDv7-looking session ids, hex strings.

use rand::RngExt;
use rand::rngs::StdRng;

pub(crate) fn uuid4(rng: &mut StdRng) -> String {
    let (a, b, c, d, e): (u32, u16, u16, u16, u64) = (
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
    );
    format!(
        "{a:08x}-{b:04x}-4{:03x}-8{:03x}-{:012x}",
        c & 0xfff,
        d & 0xfff,
        e & 0xffff_ffff_ffff
    )
}

/// A UUIDv7-looking id whose first 48 bits are `ms`, as posthog-js makes session ids.
pub(crate) fn uuid7(rng: &mut StdRng, ms: i64) -> String {
    let ms = ms as u64 & 0xffff_ffff_ffff;
    let (c, d, e): (u16, u16, u64) = (rng.random(), rng.random(), rng.random());
    format!(
        "{:08x}-{:04x}-7{:03x}-{:x}{:03x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        c & 0xfff,
        8 + (d >> 14),
        d & 0xfff,
        e & 0xffff_ffff_ffff
    )
}

pub(crate) fn hex(rng: &mut StdRng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).expect("a hex digit"))
        .collect()
}
