//! The seed of a test's random choices (kill points, delays), printed so
//! that a failure can be replayed: `HEDUI_TEST_SEED=<n>` makes a test take
//! `n` instead of a fresh seed from the OS. The choices are replayed, not
//! the machine's timing, so a replay aims the kills at the same points of
//! progress but cannot force the same interleaving. Shared by
//! `tests/crash.rs`, `tests/batch_kill.rs` and `tests/drain.rs`.

/// The environment variable that sets the seed.
pub const VAR: &str = "HEDUI_TEST_SEED";

/// The seed for `test`: `HEDUI_TEST_SEED` when set (a bad value is an
/// error, not silently replaced), else fresh from the OS. Printed on
/// stderr, which the test harness shows when the test fails.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var(VAR) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{VAR}={s:?}: not a seed (a whole number up to 2^64-1): {e}")),
        Err(_) => u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap()),
    };
    eprintln!("{test}: seed {seed} ({VAR}={seed} replays its random choices)");
    seed
}

/// SplitMix64: small, seedable, good enough to choose kill points.
pub struct Rng(u64);

impl Rng {
    /// The generator for `test`, from [`seed`].
    pub fn for_test(test: &str) -> Rng {
        Rng(seed(test))
    }

    /// The generator starting at `seed`.
    pub fn from_seed(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
