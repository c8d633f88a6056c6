//! The significance tests behind `contrast`: Fisher's exact test on a 2×2
//! table, and Benjamini-Hochberg's control of the false discovery rate
//! over the many tests one answer makes; and behind `changes`, a rate's
//! Wilson interval and the normal interval of the difference of two.
//!
//! Written here rather than taken from a crate: the crates we looked at
//! (`fishers_exact`, and `statrs` under `faster-fishers`) sum the
//! hypergeometric distribution over its whole support, which costs a step
//! per possible count; with groups of a million sessions and hundreds of
//! tests per answer that is seconds. Here each tail is summed from the
//! observed table outward and stops once the terms no longer change the
//! sum, so a test costs a few thousand steps at most, and the log
//! factorials come from a table below 256 and Stirling's series above
//! (error under 1e-14, far below what a p-value needs).

/// `ln(n!)`.
pub(crate) fn ln_factorial(n: u64) -> f64 {
    const TABLE: usize = 256;
    static SMALL: std::sync::OnceLock<[f64; TABLE]> = std::sync::OnceLock::new();
    let small = SMALL.get_or_init(|| {
        let mut t = [0.0; TABLE];
        for i in 1..TABLE {
            t[i] = t[i - 1] + (i as f64).ln();
        }
        t
    });
    if (n as usize) < TABLE {
        return small[n as usize];
    }
    // Stirling's series: ln n! = n ln n - n + ln(2πn)/2 + 1/(12n)
    // - 1/(360n³) + 1/(1260n⁵); the next term is below 1e-16 here.
    let x = n as f64;
    let x2 = x * x;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x2)
        + 1.0 / (1260.0 * x * x2 * x2)
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// The two-sided p-value of Fisher's exact test for the table
/// `[[a, b], [c, d]]`: the probability, with the margins fixed, of a
/// table at most as likely as this one (R's `fisher.test` definition,
/// with the same relative tolerance of 1e-7 for ties).
pub(crate) fn fisher_two_sided(a: u64, b: u64, c: u64, d: u64) -> f64 {
    // x = the top-left cell; rows (a+b, c+d), first column a+c.
    let row = a + b;
    let col = a + c;
    let n = a + b + c + d;
    if n == 0 || row == 0 || col == 0 || row == n || col == n {
        return 1.0;
    }
    let lo = col.saturating_sub(n - row);
    let hi = row.min(col);
    let base = ln_choose(n, col);
    let ln_p = |x: u64| ln_choose(row, x) + ln_choose(n - row, col - x) - base;
    let observed = ln_p(a);
    // Ties within R's tolerance count as "at most as likely".
    let bar = observed + 1e-7_f64.ln_1p();
    // The mode of the hypergeometric distribution.
    let mode =
        (((row + 1) as f64 * (col + 1) as f64 / (n + 2) as f64).floor() as u64).clamp(lo, hi);
    // P(x+1)/P(x) and P(x-1)/P(x), from the factorials' ratios.
    let up = |x: u64| {
        ((row - x) as f64 * (col - x) as f64).ln()
            - ((x + 1) as f64 * (x + 1 + n - row - col) as f64).ln()
    };
    let down = |x: u64| {
        (x as f64 * (x + n - row - col) as f64).ln()
            - ((row - x + 1) as f64 * (col - x + 1) as f64).ln()
    };
    // Sums terms (relative to the observed one) from `start` away from
    // the mode until they stop mattering.
    let tail = |start: u64, upward: bool| -> f64 {
        let mut x = start;
        let mut lp = ln_p(x);
        let mut sum = 0.0;
        loop {
            let term = (lp - observed).exp();
            sum += term;
            if term < sum * 1e-17 || (upward && x == hi) || (!upward && x == lo) {
                break;
            }
            if upward {
                lp += up(x);
                x += 1;
            } else {
                lp += down(x);
                x -= 1;
            }
        }
        sum
    };
    // The first count, going away from the mode on `upward`'s side, whose
    // probability is within the bar (the terms fall monotonically there).
    let first_within = |upward: bool| -> Option<u64> {
        let (mut inside, mut outside) = if upward { (hi, mode) } else { (lo, mode) };
        if ln_p(inside) > bar {
            return None;
        }
        // Invariant: ln_p(inside) <= bar < ln_p(outside) (or outside = mode).
        while inside.abs_diff(outside) > 1 {
            let mid = (inside + outside) / 2;
            if ln_p(mid) <= bar {
                inside = mid;
            } else {
                outside = mid;
            }
        }
        if ln_p(outside) <= bar {
            inside = outside;
        }
        Some(inside)
    };
    let mut total = 0.0;
    if let Some(x) = first_within(false) {
        total += tail(x, false);
    }
    if let Some(x) = first_within(true) {
        // The mode itself can be within the bar only when the observed
        // table is the mode; count it once.
        let x = if first_within(false).is_some_and(|l| l >= x) {
            x + 1
        } else {
            x
        };
        if x <= hi {
            total += tail(x, true);
        }
    }
    (observed.exp() * total).min(1.0)
}

/// Benjamini-Hochberg q-values of `p` (in the same order): the smallest
/// false discovery rate at which each test would be called significant.
pub(crate) fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut q = vec![1.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A share of `n` with its 95% Wilson score interval (`0`, `0..1` for
/// nothing counted): sound at small counts and near 0 and 1, where the
/// normal interval is not.
pub(crate) fn wilson(x: u64, n: u64) -> (f64, f64, f64) {
    if n == 0 {
        return (0.0, 0.0, 1.0);
    }
    let (n, p) = (n as f64, x as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    (p, (centre - half).max(0.0), (centre + half).min(1.0))
}

/// `x2/n2 - x1/n1` with its 95% normal interval; `None` when either side
/// counted nothing.
pub(crate) fn shift(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<(f64, f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let se = (p1 * (1.0 - p1) / n1 as f64 + p2 * (1.0 - p2) / n2 as f64).sqrt();
    let d = p2 - p1;
    Some((d, d - Z95 * se, d + Z95 * se))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table with the same margins, summed directly.
    fn brute(a: u64, b: u64, c: u64, d: u64) -> f64 {
        let (row, col, n) = (a + b, a + c, a + b + c + d);
        let lo = col.saturating_sub(n - row);
        let hi = row.min(col);
        let p =
            |x: u64| (ln_choose(row, x) + ln_choose(n - row, col - x) - ln_choose(n, col)).exp();
        let obs = p(a);
        (lo..=hi)
            .map(p)
            .filter(|&q| q <= obs * (1.0 + 1e-7))
            .sum::<f64>()
            .min(1.0)
    }

    #[test]
    fn log_factorials_agree_with_the_sum_of_logs() {
        let mut sum = 0.0;
        for n in 1..5000u64 {
            sum += (n as f64).ln();
            let got = ln_factorial(n);
            assert!(
                (got - sum).abs() <= 1e-9 * sum.max(1.0),
                "{n}: {got} vs {sum}"
            );
        }
    }

    #[test]
    fn known_tables() {
        // R: fisher.test(matrix(c(1, 11, 9, 3), 2))$p.value = 0.002759456
        assert!((fisher_two_sided(1, 9, 11, 3) - 0.002_759_456).abs() < 1e-8);
        // The tea-tasting table: 0.4857143.
        assert!((fisher_two_sided(3, 1, 1, 3) - 0.485_714_3).abs() < 1e-7);
        assert_eq!(fisher_two_sided(0, 0, 5, 5), 1.0);
        assert!((fisher_two_sided(5, 5, 5, 5) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn agrees_with_the_whole_sum_on_random_tables() {
        let mut rng = crate::mine::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let size = [6, 30, 200, 2000][rng.below(4) as usize];
            let cell = |r: &mut crate::mine::Rng| r.below(size);
            let (a, b, c, d) = (
                cell(&mut rng),
                cell(&mut rng),
                cell(&mut rng),
                cell(&mut rng),
            );
            let want = brute(a, b, c, d);
            let got = fisher_two_sided(a, b, c, d);
            assert!(
                (got - want).abs() <= 1e-9 + 1e-6 * want,
                "{a} {b} {c} {d}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn large_tables_are_fast_and_sane() {
        // A million sessions a group, a 0.1-point difference: not
        // significant; a 2-point one: very.
        let p = fisher_two_sided(100_000, 900_000, 101_000, 899_000);
        assert!(p > 0.01 && p < 1.0, "{p}");
        let p = fisher_two_sided(100_000, 900_000, 120_000, 880_000);
        assert!(p < 1e-100, "{p}");
        let p = fisher_two_sided(500_000, 500_000, 500_000, 500_000);
        assert!((p - 1.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn benjamini_hochberg_matches_r() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "BH") = 0.04 0.0533 0.0533 0.2
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
        for (got, want) in q.iter().zip([0.04, 0.16 / 3.0, 0.16 / 3.0, 0.2]) {
            assert!((got - want).abs() < 1e-12, "{q:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn wilson_intervals_match_the_textbook() {
        // 81 of 263 (Wilson 1927 style check, values from R's prop.test
        // without continuity correction): 0.2553 to 0.3662.
        let (p, lo, hi) = wilson(81, 263);
        assert!((p - 0.30798).abs() < 1e-4);
        assert!((lo - 0.25527).abs() < 1e-4, "{lo}");
        assert!((hi - 0.36619).abs() < 1e-4, "{hi}");
        assert_eq!(wilson(0, 0), (0.0, 0.0, 1.0));
        let (_, lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && hi > 0.25 && hi < 0.35, "{hi}");
        let (d, lo, hi) = shift(20, 100, 50, 100).unwrap();
        assert!((d - 0.3).abs() < 1e-12 && lo > 0.0 && hi < 0.6, "{lo} {hi}");
        assert_eq!(shift(1, 0, 1, 1), None);
    }
}
