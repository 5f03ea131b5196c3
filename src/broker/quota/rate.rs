//! The measurements quotas are enforced on, as Kafka's metrics library keeps them: a rate
//! over sample windows ([`SampledRate`], Kafka's `Rate` over a windowed sum) for byte rates
//! and request time, and a token bucket ([`TokenBucket`]) for controller mutations; and
//! the throttle times Kafka derives from them.

/// How a rate is sampled: `samples` windows of `window_ms` each (`quota.window.num`,
/// `quota.window.size.seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    /// Number of sample windows kept.
    pub samples: u32,
    /// Length of one sample window in milliseconds.
    pub window_ms: i64,
}

impl WindowConfig {
    /// `samples` windows of `seconds` seconds each.
    pub fn new(samples: u32, seconds: u32) -> WindowConfig {
        WindowConfig {
            samples: samples.max(1),
            window_ms: i64::from(seconds.max(1)) * 1000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    start_ms: i64,
    last_event_ms: i64,
}

impl Sample {
    fn new(now: i64) -> Sample {
        Sample {
            value: 0.0,
            start_ms: now,
            last_event_ms: now,
        }
    }

    fn reset(&mut self, now: i64) {
        *self = Sample::new(now);
    }
}

/// A rate per second over sample windows, measured as Kafka's `Rate` measures it: the sum
/// of the values in the samples still in the window, divided by the time they cover, which
/// counts as at least `samples - 1` whole windows (so a first burst is not taken for a
/// very high rate). A sample is complete when its window has passed; samples without an
/// event for `samples` windows are reset. One sample more than configured is kept, for
/// the one that overlaps the start of the window.
#[derive(Debug, Clone, Default)]
pub struct SampledRate {
    samples: Vec<Sample>,
    current: usize,
}

impl SampledRate {
    /// A rate with no samples yet.
    pub fn new() -> SampledRate {
        SampledRate::default()
    }

    fn current(&mut self, now: i64) -> usize {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now));
            self.current = 0;
        }
        self.current
    }

    /// Adds `value` at `now` (milliseconds).
    pub fn record(&mut self, config: WindowConfig, value: f64, now: i64) {
        let i = self.current(now);
        let complete = self
            .samples
            .get(i)
            .is_none_or(|s| now - s.start_ms >= config.window_ms);
        if complete {
            let slots = config.samples as usize + 1;
            self.current = (self.current + 1) % slots;
            match self.samples.get_mut(self.current) {
                Some(s) => s.reset(now),
                None => {
                    self.samples.push(Sample::new(now));
                    self.current = self.samples.len() - 1;
                }
            }
        }
        if let Some(sample) = self.samples.get_mut(self.current) {
            sample.value += value;
            sample.last_event_ms = now;
        }
    }

    fn purge(&mut self, config: WindowConfig, now: i64) {
        let expire = i64::from(config.samples) * config.window_ms;
        for s in &mut self.samples {
            if now - s.last_event_ms >= expire {
                s.reset(now);
            }
        }
    }

    /// The time in milliseconds the rate is computed over at `now`: from the start of the
    /// oldest sample, at least `samples - 1` whole windows, at least 1 ms.
    pub fn window_size(&mut self, config: WindowConfig, now: i64) -> i64 {
        self.purge(config, now);
        self.current(now);
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now);
        let mut elapsed = now - oldest;
        let full = elapsed / config.window_ms;
        let min_full = i64::from(config.samples) - 1;
        if full < min_full {
            elapsed += (min_full - full) * config.window_ms;
        }
        elapsed.max(1)
    }

    /// The rate per second at `now`.
    pub fn measure(&mut self, config: WindowConfig, now: i64) -> f64 {
        self.purge(config, now);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (self.window_size(config, now) as f64 / 1000.0)
    }

    /// Records `value` and checks the rate against `bound`: the throttle time in
    /// milliseconds if the rate is now above it (Kafka's `QuotaUtils.throttleTime`: the
    /// delay X that brings the observed rate O back to the bound T over the window W,
    /// O·W / (W + X) = T, so X = (O − T) / T · W), else 0.
    pub fn record_and_check(
        &mut self,
        config: WindowConfig,
        value: f64,
        bound: Option<f64>,
        now: i64,
    ) -> i64 {
        self.record(config, value, now);
        let Some(bound) = bound else {
            return 0;
        };
        let observed = self.measure(config, now);
        if observed <= bound {
            return 0;
        }
        throttle_time_ms(observed, bound, self.window_size(config, now))
    }
}

/// Kafka's throttle time: `(observed - bound) / bound * window_ms`, rounded.
pub fn throttle_time_ms(observed: f64, bound: f64, window_ms: i64) -> i64 {
    if bound <= 0.0 {
        return 0;
    }
    let ms = (observed - bound) / bound * window_ms as f64;
    if ms.is_finite() {
        ms.round().max(0.0).min(i32::MAX as f64) as i64
    } else {
        i64::from(i32::MAX)
    }
}

/// A token bucket as Kafka's controller mutation quota keeps it: it holds at most
/// `samples × window seconds × quota` tokens (the burst), refills at `quota` tokens a
/// second, and a mutation takes one token per partition created or deleted. The bucket
/// may go below zero; while it is below zero the quota is exceeded.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: Option<f64>,
    last_update_ms: i64,
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket::new()
    }
}

impl TokenBucket {
    /// A full bucket (it fills on first use).
    pub fn new() -> TokenBucket {
        TokenBucket {
            tokens: None,
            last_update_ms: 0,
        }
    }

    fn burst(config: WindowConfig, quota: f64) -> f64 {
        f64::from(config.samples) * (config.window_ms as f64 / 1000.0) * quota
    }

    fn refill(&mut self, config: WindowConfig, quota: f64, now: i64) -> f64 {
        let burst = Self::burst(config, quota);
        let tokens = match self.tokens {
            None => burst,
            Some(t) => {
                let elapsed = (now - self.last_update_ms).max(0) as f64 / 1000.0;
                burst.min(t + quota * elapsed)
            }
        };
        self.tokens = Some(tokens);
        self.last_update_ms = now;
        tokens
    }

    /// The tokens left at `now`.
    pub fn tokens(&mut self, config: WindowConfig, quota: f64, now: i64) -> f64 {
        self.refill(config, quota, now)
    }

    /// Takes `permits` tokens at `now`.
    pub fn record(&mut self, config: WindowConfig, quota: f64, permits: f64, now: i64) {
        let burst = Self::burst(config, quota);
        let tokens = self.refill(config, quota, now);
        self.tokens = Some(burst.min(tokens - permits));
    }

    /// The throttle time of a bucket holding `tokens` (below zero): how long until it
    /// is back at zero, `-tokens / quota` seconds, as Kafka computes it.
    pub fn throttle_time_ms(tokens: f64, quota: f64) -> i64 {
        if tokens >= 0.0 || quota <= 0.0 {
            return 0;
        }
        let ms = (-tokens / quota * 1000.0).round();
        if ms.is_finite() {
            ms.min(i32::MAX as f64) as i64
        } else {
            i64::from(i32::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA: WindowConfig = WindowConfig {
        samples: 11,
        window_ms: 1000,
    };

    #[test]
    fn a_first_burst_counts_over_ten_windows() {
        let mut r = SampledRate::new();
        r.record(KAFKA, 1000.0, 1_000_000);
        // 1000 bytes over at least 10 whole windows: 100 bytes/s.
        assert!((r.measure(KAFKA, 1_000_000) - 100.0).abs() < 1e-9);
        assert_eq!(r.window_size(KAFKA, 1_000_500), 10_500);
    }

    #[test]
    fn throttle_time_brings_the_rate_back_to_the_bound() {
        let mut r = SampledRate::new();
        // 2000 bytes/s against a bound of 100: O=200 (2000 over 10 s), T=100, W=10 s.
        let t = r.record_and_check(KAFKA, 2000.0, Some(100.0), 1_000_000);
        assert_eq!(t, 10_000);
        // Below the bound: no throttle.
        let mut r = SampledRate::new();
        assert_eq!(r.record_and_check(KAFKA, 500.0, Some(100.0), 1_000_000), 0);
        // No bound: never throttled.
        assert_eq!(r.record_and_check(KAFKA, 1e12, None, 1_000_000), 0);
    }

    #[test]
    fn old_samples_expire() {
        let mut r = SampledRate::new();
        r.record(KAFKA, 5000.0, 1_000_000);
        for s in 1..=20 {
            r.record(KAFKA, 0.0, 1_000_000 + s * 1000);
        }
        assert_eq!(r.measure(KAFKA, 1_020_000), 0.0);
        // The ring holds samples + 1 slots at most.
        assert!(r.samples.len() <= 12);
    }

    #[test]
    fn unrecording_restores_the_rate() {
        let mut r = SampledRate::new();
        r.record(KAFKA, 300.0, 1_000_000);
        let before = r.measure(KAFKA, 1_000_100);
        r.record(KAFKA, 700.0, 1_000_100);
        r.record(KAFKA, -700.0, 1_000_100);
        assert!((r.measure(KAFKA, 1_000_100) - before).abs() < 1e-9);
    }

    #[test]
    fn token_bucket_starts_full_goes_negative_and_refills() {
        let mut b = TokenBucket::new();
        // quota 2/s, 11 windows of 1 s: burst 22.
        assert_eq!(b.tokens(KAFKA, 2.0, 0), 22.0);
        b.record(KAFKA, 2.0, 30.0, 0);
        assert_eq!(b.tokens(KAFKA, 2.0, 0), -8.0);
        assert_eq!(TokenBucket::throttle_time_ms(-8.0, 2.0), 4000);
        assert_eq!(b.tokens(KAFKA, 2.0, 4000), 0.0);
        assert_eq!(b.tokens(KAFKA, 2.0, 100_000), 22.0);
    }
}
