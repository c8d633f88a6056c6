//! Synthetic sessions for the search tests and the search benchmark: a
//! deterministic generator (a fixed-seed SplitMix64) shaped like a shop's
//! traffic: ~200 paths with Zipf popularity, 20 referrer domains, channels,
//! countries, devices, long-tailed durations, ~5% rage sessions.

use super::SessionDoc;

/// 2026-10-01T00:00:00Z: the synthetic sessions span 90 days from here.
pub(super) const START: i64 = 1_790_812_800_000;
const SPAN_MS: i64 = 90 * 86_400_000;

/// Deterministic session generator.
pub(super) struct Generator {
    rng: SplitMix64,
    pages: Vec<String>,
    /// Cumulative Zipf weights over `pages`.
    page_cdf: Vec<f64>,
}

const REFERRERS: &[(&str, &str, &str)] = &[
    (
        "www.google.com",
        "https://www.google.com/search?q=",
        "organic_search",
    ),
    (
        "www.google.se",
        "https://www.google.se/search?q=",
        "organic_search",
    ),
    (
        "www.bing.com",
        "https://www.bing.com/search?q=",
        "organic_search",
    ),
    (
        "duckduckgo.com",
        "https://duckduckgo.com/?q=",
        "organic_search",
    ),
    ("www.facebook.com", "https://www.facebook.com/", "social"),
    ("l.instagram.com", "https://l.instagram.com/?u=", "social"),
    ("t.co", "https://t.co/", "social"),
    ("www.reddit.com", "https://www.reddit.com/r/", "social"),
    (
        "www.linkedin.com",
        "https://www.linkedin.com/feed/",
        "social",
    ),
    (
        "news.ycombinator.com",
        "https://news.ycombinator.com/item?id=",
        "referral",
    ),
    (
        "www.pricerunner.se",
        "https://www.pricerunner.se/pl/",
        "referral",
    ),
    (
        "www.prisjakt.nu",
        "https://www.prisjakt.nu/produkt.php?p=",
        "referral",
    ),
    (
        "blog.example.org",
        "https://blog.example.org/best-shoes-",
        "referral",
    ),
    (
        "mail.google.com",
        "https://mail.google.com/mail/u/0/",
        "email",
    ),
    (
        "outlook.live.com",
        "https://outlook.live.com/mail/",
        "email",
    ),
    (
        "www.youtube.com",
        "https://www.youtube.com/watch?v=",
        "social",
    ),
    (
        "www.pinterest.com",
        "https://www.pinterest.com/pin/",
        "social",
    ),
    (
        "forum.example.net",
        "https://forum.example.net/t/",
        "referral",
    ),
    (
        "www.trustpilot.com",
        "https://www.trustpilot.com/review/",
        "referral",
    ),
    (
        "search.brave.com",
        "https://search.brave.com/search?q=",
        "organic_search",
    ),
];
const COUNTRIES: &[(&str, &[&str])] = &[
    ("SE", &["Stockholm", "Göteborg", "Malmö", "Uppsala"]),
    ("US", &["New York", "Seattle", "Austin"]),
    ("DE", &["Berlin", "Hamburg", "München"]),
    ("GB", &["London", "Manchester"]),
    ("NO", &["Oslo", "Bergen"]),
    ("DK", &["København", "Aarhus"]),
    ("FI", &["Helsinki"]),
    ("FR", &["Paris", "Lyon"]),
    ("NL", &["Amsterdam"]),
    ("ES", &["Madrid"]),
];
const CAMPAIGNS: &[&str] = &[
    "spring_sale",
    "black_friday",
    "newsletter_w12",
    "retargeting",
];
const BROWSERS: &[(&str, &str)] = &[
    ("Chrome", "Windows"),
    ("Safari", "iOS"),
    ("Chrome", "Android"),
    ("Safari", "macOS"),
    ("Firefox", "Linux"),
    ("Edge", "Windows"),
    ("Samsung Internet", "Android"),
];

impl Generator {
    pub(super) fn new(seed: u64) -> Generator {
        let mut pages: Vec<String> = [
            "/",
            "/cart",
            "/checkout",
            "/search",
            "/checkout/shipping",
            "/checkout/payment",
            "/thank-you",
            "/account",
            "/about",
            "/contact",
            "/help/returns",
            "/help/shipping",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in [
            "shoes", "boots", "sneakers", "sandals", "socks", "bags", "jackets", "hats", "gloves",
            "scarves", "kids", "sale", "new", "outlet", "running", "hiking", "winter", "summer",
        ] {
            pages.push(format!("/category/{c}"));
        }
        for i in 0..20 {
            pages.push(format!("/blog/post-{i}-style-guide"));
        }
        let mut i = 1;
        while pages.len() < 200 {
            pages.push(format!("/product/{}", i * 37));
            i += 1;
        }
        let mut cdf = Vec::with_capacity(pages.len());
        let mut acc = 0.0;
        for rank in 1..=pages.len() {
            acc += 1.0 / rank as f64;
            cdf.push(acc);
        }
        Generator {
            rng: SplitMix64(seed),
            pages,
            page_cdf: cdf,
        }
    }

    fn page(&mut self) -> String {
        let total = self.page_cdf.last().copied().unwrap_or(1.0);
        let x = self.rng.unit() * total;
        let at = self.page_cdf.partition_point(|&c| c < x);
        self.pages[at.min(self.pages.len() - 1)].clone()
    }

    pub(super) fn session(&mut self, id: i64, n: usize) -> SessionDoc {
        let r = &mut self.rng;
        // 80% of sessions on site 1, the one the queries search.
        let site_id = match r.below(100) {
            0..=79 => 1,
            80..=94 => 2,
            _ => 3,
        };
        // Roughly in time order, as the store feeds them, with jitter.
        let start_ms = START
            + (id as i128 * SPAN_MS as i128 / n.max(1) as i128) as i64
            + r.below(3_600_000) as i64;
        let len = 1 + (r.unit().powi(2) * 15.0) as usize;
        let mut pages: Vec<String> = (0..len).map(|_| self.page()).collect();
        let r = &mut self.rng;
        let converted = r.below(100) < 4;
        if converted {
            pages.extend(["/checkout", "/checkout/payment", "/thank-you"].map(String::from));
        }
        let (referrer, referrer_domain, channel) = match r.below(100) {
            0..=44 => (None, None, "direct".to_string()),
            _ => {
                let (domain, url, channel) = REFERRERS[zipf_index(r, REFERRERS.len())];
                let url = format!("{url}{}", r.below(10_000));
                (Some(url), Some(domain.to_string()), channel.to_string())
            }
        };
        let paid = r.below(100) < 8;
        let (channel, utm_source, utm_medium, utm_campaign) = if paid {
            let campaign = CAMPAIGNS[r.below(CAMPAIGNS.len() as u64) as usize];
            (
                "paid".to_string(),
                Some("google".to_string()),
                Some("cpc".to_string()),
                Some(campaign.to_string()),
            )
        } else {
            (channel, None, None, None)
        };
        let (country, cities) = COUNTRIES[zipf_index(r, COUNTRIES.len())];
        let city = (r.below(100) < 70).then(|| cities[r.below(cities.len() as u64) as usize]);
        let device = match r.below(100) {
            0..=54 => "desktop",
            55..=92 => "mobile",
            93..=97 => "tablet",
            _ => "bot",
        };
        let (browser, os) = BROWSERS[r.below(BROWSERS.len() as u64) as usize];
        // Long-tailed: most sessions are short, a few last an hour.
        let duration_s = if len == 1 {
            r.below(30)
        } else {
            (r.unit().powi(3) * 3600.0) as u64 + r.below(60)
        };
        SessionDoc {
            session_id: id,
            site_id,
            start_ms,
            duration_s,
            page_count: pages.len() as u32,
            entry_page: pages.first().cloned(),
            exit_page: pages.last().cloned(),
            pages,
            referrer,
            referrer_domain,
            channel,
            utm_source,
            utm_medium,
            utm_campaign,
            country: (r.below(100) < 95).then(|| country.to_string()),
            city: city.map(String::from),
            browser: browser.to_string(),
            os: os.to_string(),
            device: device.to_string(),
            rage: r.below(100) < 5,
            dead: r.below(100) < 3,
            error: r.below(100) < 2,
            jserror: r.below(100) < 2,
            converted,
            events: Vec::new(),
            props: Vec::new(),
            source: if r.below(100) < 10 { "log" } else { "tracker" }.to_string(),
        }
    }
}

/// An index in 0..len, small ones far more likely.
fn zipf_index(r: &mut SplitMix64, len: usize) -> usize {
    ((r.unit().powi(3) * len as f64) as usize).min(len - 1)
}

/// SplitMix64: tiny, fast and deterministic across platforms.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
