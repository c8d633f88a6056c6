//! Enrichment shared by every event source: user agent → [`ClientInfo`],
//! IP address → [`Geo`], landing URL and referrer → [`Acquisition`].
//!
//! The JS tracker and the access-log importer see the same raw facts (a user
//! agent, an address, a referrer, a landing URL) in different shapes. If each
//! classified them on its own, a session imported from a log and the same
//! visit seen by the tracker could land in different channels or device
//! classes, and reports mixing both sources would quietly disagree. So both
//! call this module, and every rule about what counts as a bot, a tablet or
//! organic search lives here and only here.
//!
//! Everything in it takes visitor-controlled strings: nothing here panics,
//! whatever the input.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::anyhow;
use maxminddb::{geoip2, MaxMindDbError, Reader};
use url::Url;

use crate::event::{Acquisition, Channel, ClientInfo, DeviceClass, Geo};

// ---------------------------------------------------------------------------
// User agents
// ---------------------------------------------------------------------------

/// Past this many distinct user agents the cache starts over. Real traffic
/// has a few thousand distinct agents a day, so a clear is rare and cheap;
/// a flood of made-up agents costs at most this many entries.
const UA_CACHE_CAPACITY: usize = 20_000;

/// Longer user agents are parsed but not cached, so that the cache's memory
/// stays bounded (capacity × this) however long the agents an attacker sends.
/// Real browsers' agents are a few hundred bytes.
const MAX_CACHED_UA_LEN: usize = 1024;

/// What woothee answers when it does not know.
const WOOTHEE_UNKNOWN: &str = woothee::woothee::VALUE_UNKNOWN;

/// Turns user agents into [`ClientInfo`], with a cache in front.
///
/// Log import asks about millions of lines carrying a few hundred distinct
/// agents, and the collector asks from many threads at once; both hit the
/// cache almost always. `UaParser` is `Send + Sync`: share one behind an
/// `Arc`.
pub(crate) struct UaParser {
    woothee: woothee::parser::Parser,
    bots: isbot::Bots,
    cache: Mutex<HashMap<Box<str>, ClientInfo>>,
    cache_capacity: usize,
}

impl Default for UaParser {
    fn default() -> Self {
        UaParser::new()
    }
}

impl UaParser {
    /// A parser with the default bot patterns and an empty cache. Building
    /// one compiles isbot's patterns, so make one and share it.
    pub(crate) fn new() -> UaParser {
        UaParser::with_cache_capacity(UA_CACHE_CAPACITY)
    }

    fn with_cache_capacity(cache_capacity: usize) -> UaParser {
        UaParser {
            woothee: woothee::parser::Parser::new(),
            bots: isbot::Bots::default(),
            cache: Mutex::new(HashMap::new()),
            cache_capacity,
        }
    }

    /// Browser, OS, device class and bot flag for a user agent. An empty or
    /// absent agent (`""`, or `"-"` in access logs) is reported as a bot.
    pub(crate) fn parse(&self, user_agent: &str) -> ClientInfo {
        let user_agent = user_agent.trim();
        if user_agent.len() > MAX_CACHED_UA_LEN {
            return self.parse_uncached(user_agent);
        }
        if let Some(info) = self.cache().get(user_agent) {
            return info.clone();
        }
        // Parse without holding the lock: it is the slow part, and other
        // threads' cache hits should not wait for it.
        let info = self.parse_uncached(user_agent);
        let mut cache = self.cache();
        if cache.len() >= self.cache_capacity {
            cache.clear();
        }
        cache.insert(user_agent.into(), info.clone());
        info
    }

    /// The cache only ever holds finished entries, so a thread that panicked
    /// while holding the lock cannot have left it inconsistent: keep using it.
    fn cache(&self) -> MutexGuard<'_, HashMap<Box<str>, ClientInfo>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn parse_uncached(&self, user_agent: &str) -> ClientInfo {
        let parsed = self.woothee.parse(user_agent);
        let (name, category, os) = parsed
            .as_ref()
            .map_or((WOOTHEE_UNKNOWN, WOOTHEE_UNKNOWN, WOOTHEE_UNKNOWN), |p| {
                (p.name, p.category, p.os)
            });
        // Every real browser sends a user agent, so a request without one
        // is a script or a crawler; isbot alone would call it human.
        let is_absent = user_agent.is_empty() || user_agent == "-";
        let is_bot = is_absent || category == "crawler" || self.bots.is_bot(user_agent);
        ClientInfo {
            browser: known_or_other(name),
            os: known_or_other(os),
            device: device_class(user_agent, category, os, is_bot),
            is_bot,
        }
    }
}

fn known_or_other(woothee_value: &str) -> String {
    if woothee_value.is_empty() || woothee_value == WOOTHEE_UNKNOWN {
        "Other".to_owned()
    } else {
        woothee_value.to_owned()
    }
}

/// Woothee files tablets under "smartphone", so tablets are told apart here:
/// iPads, and Android devices whose agent lacks "Mobile" (Google's own rule
/// for Android browsers). iPadOS 13+ in its default "desktop" mode sends a
/// Mac agent and counts as desktop: nothing in the agent gives it away.
fn device_class(user_agent: &str, category: &str, os: &str, is_bot: bool) -> DeviceClass {
    if is_bot {
        return DeviceClass::Bot;
    }
    let is_tablet = os == "iPad" || (os == "Android" && !user_agent.contains("Mobile"));
    if is_tablet {
        return DeviceClass::Tablet;
    }
    match category {
        "pc" => DeviceClass::Desktop,
        "smartphone" | "mobilephone" => DeviceClass::Mobile,
        "crawler" => DeviceClass::Bot,
        _ => DeviceClass::Other,
    }
}

// ---------------------------------------------------------------------------
// GeoIP
// ---------------------------------------------------------------------------

/// A MaxMind DB (GeoIP2 / GeoLite2 City or Country, or a compatible one such
/// as DB-IP's), loaded into memory. `Send + Sync`: share one behind an `Arc`.
pub(crate) struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl GeoIp {
    /// Loads and fully verifies the database, so that a truncated or corrupt
    /// file is refused at start-up rather than answering garbage later.
    /// Verification walks the whole file, so opening a full-size database
    /// takes noticeably longer than reading it; it happens once.
    pub(crate) fn open(path: &Path) -> anyhow::Result<GeoIp> {
        let invalid =
            |e: MaxMindDbError| anyhow!("GeoIP database {} is invalid: {e}", path.display());
        let reader = Reader::open_readfile(path).map_err(|e| match e {
            MaxMindDbError::Io(io) => {
                anyhow!("cannot open GeoIP database {}: {io}", path.display())
            }
            other => invalid(other),
        })?;
        reader.verify().map_err(invalid)?;
        Ok(GeoIp { reader })
    }

    /// The database's own name for its type, e.g. "GeoLite2-City"; worth
    /// logging at start-up, since a Country database gives no regions or
    /// cities and an ASN database gives nothing at all.
    #[cfg(test)]
    pub(crate) fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Country, region and city of an address. Addresses the database has no
    /// record for (private ranges, loopback, unknown blocks) and any lookup
    /// error give an empty [`Geo`].
    pub(crate) fn lookup(&self, ip: IpAddr) -> Geo {
        // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
        let ip = ip.to_canonical();
        let record = self
            .reader
            .lookup(ip)
            .and_then(|found| found.decode::<geoip2::City>());
        match record {
            Ok(Some(city)) => geo_from_city(&city),
            _ => Geo::default(),
        }
    }
}

/// A Country database decodes as a City record with only the country set,
/// so one path serves both.
fn geo_from_city(record: &geoip2::City) -> Geo {
    Geo {
        country: non_empty(record.country.iso_code),
        region: non_empty(record.subdivisions.first().and_then(|s| s.iso_code)),
        city: non_empty(record.city.names.english),
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_owned)
}

// ---------------------------------------------------------------------------
// Acquisition: referrer and campaign tags → channel
// ---------------------------------------------------------------------------
//
// The rules follow GA4's default channel grouping and Plausible's channel
// definitions, simplified to trailmap's six channels: click ids and paid
// mediums first, then what the utm_medium says, then what the utm_source
// names, then the referrer's site; a tagged link from nowhere known is a
// referral, and no referrer at all is direct. The site lists are the
// well-known entries of those two products' source lists, cut down to what
// matters for a shop; extend them here.

/// Longest utm_* value kept, in characters.
const MAX_TAG_CHARS: usize = 100;

/// Ad platforms' auto-tagging ids: their presence alone means a paid click.
/// fbclid is deliberately absent: Facebook adds it to organic clicks too, so
/// it only counts when the medium also says paid.
pub(crate) const PAID_CLICK_IDS: &[&str] = &["gclid", "gbraid", "wbraid", "dclid", "msclkid"];

/// utm_medium values (compared case-insensitively) and the channel each means.
const MEDIUM_RULES: &[(Channel, &[&str])] = &[
    (
        Channel::Paid,
        &[
            "cpc",
            "ppc",
            "paid",
            "paidsearch",
            "paid_search",
            "paid-search",
            "paid_social",
            "paidsocial",
            "paid-social",
            "display",
            "cpm",
            "cpv",
            "cpa",
            "banner",
            "retargeting",
        ],
    ),
    (Channel::Email, &["email", "e-mail", "e_mail", "newsletter"]),
    (
        Channel::Social,
        &[
            "social",
            "social-network",
            "social_network",
            "social-media",
            "social_media",
            "sm",
        ],
    ),
    (Channel::OrganicSearch, &["organic"]),
    (Channel::Referral, &["referral"]),
];

/// Words that make a utm_source an email one ("spring_newsletter").
const EMAIL_SOURCE_WORDS: &[&str] = &["email", "e-mail", "newsletter"];

/// Well-known sites that all mean one channel, as named in utm_source, as a
/// referrer's domain, or as an Android app in an `android-app://` referrer.
struct SiteGroup {
    channel: Channel,
    /// utm_source values, lowercase.
    names: &'static [&'static str],
    /// A domain matches itself and its subdomains; a trailing ".*" stands
    /// for any country or generic TLD ("google.*": google.de, google.co.uk).
    domains: &'static [&'static str],
    /// Android package names.
    apps: &'static [&'static str],
}

/// Checked in this order: webmail hosts such as mail.google.com must win
/// over the search engine's "google.*".
const SITE_GROUPS: &[SiteGroup] = &[EMAIL_SITES, SOCIAL_SITES, SEARCH_SITES];

const EMAIL_SITES: SiteGroup = SiteGroup {
    channel: Channel::Email,
    names: &[
        "gmail",
        "outlook",
        "hotmail",
        "mailchimp",
        "klaviyo",
        "brevo",
    ],
    domains: &[
        "mail.google.com",
        "mail.yahoo.*",
        "mail.yandex.*",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.proton.me",
        "mail.aol.com",
    ],
    apps: &[
        "com.google.android.gm",
        "com.microsoft.office.outlook",
        "com.yahoo.mobile.client.android.mail",
        "ch.protonmail.android",
        "com.samsung.android.email.provider",
        "com.fsck.k9",
    ],
};

const SOCIAL_SITES: SiteGroup = SiteGroup {
    channel: Channel::Social,
    names: &[
        "facebook",
        "fb",
        "instagram",
        "ig",
        "threads",
        "twitter",
        "x",
        "linkedin",
        "pinterest",
        "reddit",
        "youtube",
        "tiktok",
        "vk",
        "mastodon",
        "bluesky",
        "tumblr",
        "snapchat",
        "whatsapp",
        "telegram",
    ],
    domains: &[
        "facebook.com",
        "fb.com",
        "fb.me",
        "messenger.com",
        "instagram.com",
        "threads.net",
        "t.co",
        "twitter.com",
        "x.com",
        "linkedin.com",
        "lnkd.in",
        "pinterest.*",
        "pin.it",
        "reddit.com",
        "redd.it",
        "youtube.com",
        "youtu.be",
        "tiktok.com",
        "vk.com",
        "mastodon.social",
        "bsky.app",
        "tumblr.com",
        "snapchat.com",
        "whatsapp.com",
        "wa.me",
        "t.me",
    ],
    apps: &[
        "com.facebook.katana",
        "com.facebook.orca",
        "com.instagram.android",
        "com.twitter.android",
        "com.linkedin.android",
        "com.pinterest",
        "com.reddit.frontpage",
        "com.google.android.youtube",
        "com.zhiliaoapp.musically",
        "com.vkontakte.android",
        "org.joinmastodon.android",
        "org.telegram.messenger",
        "com.whatsapp",
    ],
};

const SEARCH_SITES: SiteGroup = SiteGroup {
    channel: Channel::OrganicSearch,
    names: &[
        "google",
        "bing",
        "yahoo",
        "duckduckgo",
        "baidu",
        "yandex",
        "ecosia",
        "qwant",
        "naver",
        "seznam",
        "startpage",
        "brave",
        "kagi",
        "sogou",
    ],
    domains: &[
        "google.*",
        "bing.com",
        "yahoo.*",
        "duckduckgo.com",
        "baidu.com",
        "yandex.*",
        "ya.ru",
        "ecosia.org",
        "qwant.com",
        "naver.com",
        "seznam.cz",
        "startpage.com",
        "search.brave.com",
        "kagi.com",
        "sogou.com",
        "ask.com",
        "search.aol.com",
        "mojeek.com",
        "daum.net",
        "coccoc.com",
    ],
    apps: &[
        "com.google.android.googlequicksearchbox",
        "com.microsoft.bing",
        "com.duckduckgo.mobile.android",
        "ru.yandex.searchplugin",
        "com.baidu.searchbox",
        "com.ecosia.android",
    ],
};

impl SiteGroup {
    fn has_name(&self, source: &str) -> bool {
        self.names.contains(&source) || self.has_domain(source)
    }

    fn has_domain(&self, host: &str) -> bool {
        self.domains.iter().any(|d| domain_matches(host, d))
    }

    fn has_origin(&self, origin: &Origin) -> bool {
        if origin.is_app {
            self.apps.contains(&origin.domain.as_str())
        } else {
            self.has_domain(&origin.domain)
        }
    }
}

/// Whether `host` is `pattern` or one of its subdomains; see
/// [`SiteGroup::domains`] for the ".*" form.
fn domain_matches(host: &str, pattern: &str) -> bool {
    match pattern.strip_suffix(".*") {
        None => label_suffixes(host).any(|rest| rest == pattern),
        Some(base) => label_suffixes(host).any(|rest| {
            rest.strip_prefix(base)
                .and_then(|tail| tail.strip_prefix('.'))
                .is_some_and(looks_like_public_suffix)
        }),
    }
}

/// "a.b.c" → "a.b.c", "b.c", "c": the host cut at each label boundary, so
/// that "notgoogle.com" never matches "google".
fn label_suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(host), |h| h.split_once('.').map(|(_, rest)| rest))
}

/// A cheap stand-in for the public-suffix list, good enough for the few
/// ".*" patterns: one label ("de", "com") or a short second level and a
/// top level ("co.uk", "com.au", "ne.jp").
fn looks_like_public_suffix(tail: &str) -> bool {
    match tail.split_once('.') {
        None => !tail.is_empty(),
        Some((second, top)) => {
            (1..=3).contains(&second.len()) && !top.is_empty() && !top.contains('.')
        }
    }
}

/// Where a referrer points: a web host, or the Android app that opened the
/// page (Gmail, the Google app...), which Android reports as
/// `android-app://<package>`.
struct Origin {
    /// Lowercase host without "www.", or the package name.
    domain: String,
    is_app: bool,
}

/// `None` for anything that is not an http(s) or android-app URL with a
/// host: "-" (access logs' "none"), "", "about:blank", garbage. Such values
/// say nothing about where the visitor came from, so they count as no
/// referrer at all.
fn parse_origin(referrer: &str) -> Option<Origin> {
    let url = Url::parse(referrer.trim()).ok()?;
    let is_app = match url.scheme() {
        "http" | "https" => false,
        "android-app" => true,
        _ => return None,
    };
    let domain = normalize_host(url.host_str()?);
    (!domain.is_empty()).then_some(Origin { domain, is_app })
}

/// Lowercase, without a trailing root dot or a leading "www.".
fn normalize_host(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match host.strip_prefix("www.") {
        Some(bare) => bare.to_owned(),
        None => host,
    }
}

/// The campaign parameters of a landing URL.
#[derive(Default)]
struct CampaignTags {
    source: Option<String>,
    medium: Option<String>,
    campaign: Option<String>,
    paid_click_id: bool,
}

impl CampaignTags {
    fn from_url(url: &Url) -> CampaignTags {
        let mut tags = CampaignTags::default();
        for (key, value) in url.query_pairs() {
            let slot = if key.eq_ignore_ascii_case("utm_source") {
                &mut tags.source
            } else if key.eq_ignore_ascii_case("utm_medium") {
                &mut tags.medium
            } else if key.eq_ignore_ascii_case("utm_campaign") {
                &mut tags.campaign
            } else {
                let is_click_id = PAID_CLICK_IDS.iter().any(|id| key.eq_ignore_ascii_case(id));
                tags.paid_click_id |= is_click_id && !value.trim().is_empty();
                continue;
            };
            // The first occurrence wins, as in GA.
            if slot.is_none() {
                *slot = tag_value(&value);
            }
        }
        tags
    }

    fn is_tagged(&self) -> bool {
        self.source.is_some() || self.medium.is_some()
    }
}

fn tag_value(raw: &str) -> Option<String> {
    let value = raw.trim();
    let end = value
        .char_indices()
        .nth(MAX_TAG_CHARS)
        .map_or(value.len(), |(i, _)| i);
    let value = value[..end].trim_end();
    (!value.is_empty()).then(|| value.to_owned())
}

/// What the landing URL tells: its campaign tags, and its host (which is
/// the site's own, whatever `own_hosts` says).
#[derive(Default)]
struct Landing {
    tags: CampaignTags,
    host: Option<String>,
}

/// The tracker sends absolute URLs; access logs have only the path and
/// query, which are resolved against a placeholder to read the query.
fn parse_landing(landing_url: &str) -> Landing {
    let landing_url = landing_url.trim();
    match Url::parse(landing_url) {
        Ok(url) => Landing {
            tags: CampaignTags::from_url(&url),
            host: url.host_str().map(normalize_host),
        },
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            let tags = Url::parse("http://relative.invalid/")
                .and_then(|base| base.join(landing_url))
                .map(|url| CampaignTags::from_url(&url))
                .unwrap_or_default();
            Landing { tags, host: None }
        }
        Err(_) => Landing::default(),
    }
}

/// Referrer, referrer domain, channel and utm_* tags of a session, from its
/// landing URL (absolute, or path and query) and its referrer.
///
/// `own_hosts` are the site's hosts, compared without "www." and case: a
/// referrer from one of them (or from the landing URL's host) is internal
/// navigation, dropped and treated as no referrer. Subdomains are not
/// included implicitly: list `blog.shop.example` if it is the same site.
pub(crate) fn acquisition(
    landing_url: Option<&str>,
    referrer: Option<&str>,
    own_hosts: &[&str],
) -> Acquisition {
    let landing = landing_url.map(parse_landing).unwrap_or_default();
    let is_own = |domain: &str| {
        landing.host.as_deref() == Some(domain)
            || own_hosts.iter().any(|h| normalize_host(h) == domain)
    };
    let external = referrer.and_then(|raw| {
        let origin = parse_origin(raw)?;
        let is_internal = !origin.is_app && is_own(&origin.domain);
        (!is_internal).then(|| (raw.trim(), origin))
    });
    let channel = classify(&landing.tags, external.as_ref().map(|(_, origin)| origin));
    let (referrer, referrer_domain) = match external {
        Some((raw, origin)) => (Some(raw.to_owned()), Some(origin.domain)),
        None => (None, None),
    };
    Acquisition {
        referrer,
        referrer_domain,
        channel,
        utm_source: landing.tags.source,
        utm_medium: landing.tags.medium,
        utm_campaign: landing.tags.campaign,
    }
}

/// Tags set on purpose by the marketer beat the referrer, which only says
/// which site the click happened on.
fn classify(tags: &CampaignTags, referrer: Option<&Origin>) -> Channel {
    if tags.paid_click_id {
        return Channel::Paid;
    }
    let by_tags = tags
        .medium
        .as_deref()
        .and_then(channel_of_medium)
        .or_else(|| tags.source.as_deref().and_then(channel_of_source));
    let fallback = if tags.is_tagged() {
        Channel::Referral
    } else {
        Channel::Direct
    };
    by_tags
        .or_else(|| referrer.map(channel_of_origin))
        .unwrap_or(fallback)
}

fn channel_of_medium(medium: &str) -> Option<Channel> {
    MEDIUM_RULES
        .iter()
        .find(|(_, mediums)| mediums.iter().any(|m| medium.eq_ignore_ascii_case(m)))
        .map(|(channel, _)| *channel)
}

fn channel_of_source(source: &str) -> Option<Channel> {
    let source = normalize_host(source);
    if EMAIL_SOURCE_WORDS.iter().any(|w| source.contains(w)) {
        return Some(Channel::Email);
    }
    SITE_GROUPS
        .iter()
        .find(|group| group.has_name(&source))
        .map(|group| group.channel)
}

fn channel_of_origin(origin: &Origin) -> Channel {
    SITE_GROUPS
        .iter()
        .find(|group| group.has_origin(origin))
        .map_or(Channel::Referral, |group| group.channel)
}

/// The referrer's site, as shown in reports: the lowercase host without a
/// leading "www." (`https://www.Google.co.uk/search` → `google.co.uk`), or
/// the app's package for `android-app://` referrers. `None` when the
/// referrer is not such a URL.
#[cfg(test)]
pub(crate) fn referrer_domain(referrer: &str) -> Option<String> {
    parse_origin(referrer).map(|origin| origin.domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::{Arc, OnceLock};

    // ----- user agents -----

    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
    const CHROME_ANDROID_PHONE: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36";
    const CHROME_ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const GOOGLEBOT_SMARTPHONE: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const BINGBOT: &str = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";
    const CURL: &str = "curl/8.5.0";
    const PYTHON_REQUESTS: &str = "python-requests/2.31.0";

    /// Building a parser compiles isbot's patterns; do it once.
    fn parser() -> &'static UaParser {
        static PARSER: OnceLock<UaParser> = OnceLock::new();
        PARSER.get_or_init(UaParser::new)
    }

    fn client(browser: &str, os: &str, device: DeviceClass, is_bot: bool) -> ClientInfo {
        ClientInfo {
            browser: browser.to_owned(),
            os: os.to_owned(),
            device,
            is_bot,
        }
    }

    #[test]
    fn desktop_browsers() {
        let p = parser();
        assert_eq!(
            p.parse(CHROME_WINDOWS),
            client("Chrome", "Windows 10", DeviceClass::Desktop, false)
        );
        assert_eq!(
            p.parse(FIREFOX_LINUX),
            client("Firefox", "Linux", DeviceClass::Desktop, false)
        );
        assert_eq!(
            p.parse(SAFARI_MAC),
            client("Safari", "Mac OSX", DeviceClass::Desktop, false)
        );
    }

    #[test]
    fn phones() {
        let p = parser();
        assert_eq!(
            p.parse(SAFARI_IPHONE),
            client("Safari", "iPhone", DeviceClass::Mobile, false)
        );
        assert_eq!(
            p.parse(CHROME_ANDROID_PHONE),
            client("Chrome", "Android", DeviceClass::Mobile, false)
        );
    }

    #[test]
    fn tablets() {
        let p = parser();
        assert_eq!(
            p.parse(SAFARI_IPAD),
            client("Safari", "iPad", DeviceClass::Tablet, false)
        );
        assert_eq!(
            p.parse(CHROME_ANDROID_TABLET),
            client("Chrome", "Android", DeviceClass::Tablet, false)
        );
    }

    #[test]
    fn crawlers_are_bots() {
        let p = parser();
        for ua in [GOOGLEBOT, GOOGLEBOT_SMARTPHONE, BINGBOT] {
            let info = p.parse(ua);
            assert!(info.is_bot, "{ua}");
            assert_eq!(info.device, DeviceClass::Bot, "{ua}");
        }
        assert_eq!(p.parse(GOOGLEBOT).browser, "Googlebot");
        assert_eq!(p.parse(BINGBOT).browser, "bingbot");
    }

    #[test]
    fn http_libraries_are_bots() {
        let p = parser();
        for ua in [CURL, PYTHON_REQUESTS] {
            let info = p.parse(ua);
            assert!(info.is_bot, "{ua}");
            assert_eq!(info.device, DeviceClass::Bot, "{ua}");
        }
        // Woothee does not know python-requests at all.
        assert_eq!(
            p.parse(PYTHON_REQUESTS),
            client("Other", "Other", DeviceClass::Bot, true)
        );
    }

    #[test]
    fn absent_user_agent_is_a_bot() {
        let p = parser();
        for ua in ["", "-", "   "] {
            assert_eq!(
                p.parse(ua),
                client("Other", "Other", DeviceClass::Bot, true),
                "{ua:?}"
            );
        }
    }

    #[test]
    fn odd_user_agents_do_not_panic() {
        let p = parser();
        let long = "Mozilla/5.0 ".repeat(10_000);
        for ua in ["\0", "💥", "Mozilla/5.0 (", "()()()", long.as_str()] {
            let info = p.parse(ua);
            assert!(!info.browser.is_empty() && !info.os.is_empty());
        }
    }

    #[test]
    fn cache_answers_like_the_parser_and_stays_bounded() {
        let p = UaParser::with_cache_capacity(3);
        let first = p.parse(CHROME_WINDOWS);
        assert_eq!(p.parse(CHROME_WINDOWS), first);
        for ua in [SAFARI_IPHONE, SAFARI_IPAD, FIREFOX_LINUX, CURL] {
            p.parse(ua);
            assert!(p.cache().len() <= 3);
        }
        assert_eq!(p.parse(CHROME_WINDOWS), first);
    }

    #[test]
    fn long_user_agents_are_not_cached() {
        let p = UaParser::with_cache_capacity(10);
        let long = format!("{CHROME_WINDOWS} {}", "x".repeat(MAX_CACHED_UA_LEN));
        assert_eq!(p.parse(&long).browser, "Chrome");
        assert!(p.cache().is_empty());
    }

    #[test]
    fn parser_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<UaParser>();
        assert_send_sync::<GeoIp>();

        let p = Arc::new(UaParser::with_cache_capacity(2));
        let agents = [CHROME_WINDOWS, SAFARI_IPHONE, SAFARI_IPAD, GOOGLEBOT];
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let p = Arc::clone(&p);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let ua = agents[(t + i) % agents.len()];
                        assert_eq!(p.parse(ua), parser().parse(ua));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread panicked");
        }
    }

    // ----- acquisition -----

    const OWN: &[&str] = &["shop.example"];

    fn channel(landing: Option<&str>, referrer: Option<&str>) -> Channel {
        acquisition(landing, referrer, OWN).channel
    }

    #[test]
    fn no_referrer_is_direct() {
        let a = acquisition(Some("https://shop.example/"), None, OWN);
        assert_eq!(
            a,
            Acquisition {
                referrer: None,
                referrer_domain: None,
                channel: Channel::Direct,
                utm_source: None,
                utm_medium: None,
                utm_campaign: None,
            }
        );
        assert_eq!(channel(None, None), Channel::Direct);
        assert_eq!(channel(None, Some("-")), Channel::Direct);
        assert_eq!(channel(None, Some("")), Channel::Direct);
    }

    #[test]
    fn search_engines_are_organic_search() {
        let a = acquisition(None, Some("https://www.google.com/"), OWN);
        assert_eq!(a.channel, Channel::OrganicSearch);
        assert_eq!(a.referrer.as_deref(), Some("https://www.google.com/"));
        assert_eq!(a.referrer_domain.as_deref(), Some("google.com"));

        for referrer in [
            "https://www.google.co.uk/",
            "https://www.google.de/search?q=shoes",
            "https://www.google.com.au/",
            "https://www.bing.com/search?q=shoes",
            "https://duckduckgo.com/",
            "https://search.brave.com/search?q=shoes",
            "https://yandex.ru/search/?text=shoes",
            "https://search.yahoo.co.jp/search?p=shoes",
            "https://www.ecosia.org/search?q=shoes",
        ] {
            assert_eq!(
                channel(None, Some(referrer)),
                Channel::OrganicSearch,
                "{referrer}"
            );
        }
        assert_eq!(
            acquisition(None, Some("https://www.google.co.uk/"), OWN).referrer_domain,
            Some("google.co.uk".to_owned())
        );
    }

    #[test]
    fn social_networks_are_social() {
        for referrer in [
            "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example%2F",
            "https://m.facebook.com/",
            "https://t.co/abc123",
            "https://x.com/someone/status/1",
            "https://www.linkedin.com/feed/",
            "https://lnkd.in/abc",
            "https://www.reddit.com/r/shoes/",
            "https://www.youtube.com/watch?v=x",
            "https://www.pinterest.de/pin/1/",
            "https://vk.com/wall1",
        ] {
            assert_eq!(channel(None, Some(referrer)), Channel::Social, "{referrer}");
        }
        assert_eq!(channel(Some("/?utm_medium=social"), None), Channel::Social);
    }

    #[test]
    fn email_by_tags_webmail_or_app() {
        assert_eq!(channel(Some("/?utm_medium=email"), None), Channel::Email);
        assert_eq!(channel(Some("/?utm_medium=E-Mail"), None), Channel::Email);
        assert_eq!(
            channel(Some("/?utm_source=spring_newsletter"), None),
            Channel::Email
        );
        assert_eq!(
            channel(None, Some("https://mail.google.com/mail/u/0/")),
            Channel::Email
        );
        let a = acquisition(None, Some("android-app://com.google.android.gm/"), OWN);
        assert_eq!(a.channel, Channel::Email);
        assert_eq!(a.referrer_domain.as_deref(), Some("com.google.android.gm"));
    }

    #[test]
    fn paid_by_medium_or_click_id() {
        for landing in [
            "/?utm_source=google&utm_medium=cpc",
            "/?utm_medium=PPC",
            "/?utm_source=facebook&utm_medium=paid_social",
            "/?utm_medium=display",
            "/?gclid=abc",
            "/?msclkid=abc",
            "/?dclid=abc",
            "/?fbclid=abc&utm_medium=paid",
        ] {
            assert_eq!(
                channel(Some(landing), Some("https://www.google.com/")),
                Channel::Paid,
                "{landing}"
            );
        }
    }

    #[test]
    fn fbclid_alone_is_not_paid() {
        assert_eq!(
            channel(
                Some("https://shop.example/?fbclid=abc"),
                Some("https://l.facebook.com/")
            ),
            Channel::Social
        );
        assert_eq!(channel(Some("/?gclid="), None), Channel::Direct);
    }

    #[test]
    fn tags_take_precedence_over_the_referrer() {
        let a = acquisition(
            Some("https://shop.example/p?utm_source=spring&utm_medium=email&utm_campaign=sale"),
            Some("https://www.google.com/"),
            OWN,
        );
        assert_eq!(a.channel, Channel::Email);
        assert_eq!(a.referrer_domain.as_deref(), Some("google.com"));
        assert_eq!(a.utm_source.as_deref(), Some("spring"));
        assert_eq!(a.utm_medium.as_deref(), Some("email"));
        assert_eq!(a.utm_campaign.as_deref(), Some("sale"));

        // A source naming a known site is enough without a medium.
        assert_eq!(
            channel(Some("/?utm_source=facebook"), None),
            Channel::Social
        );
        assert_eq!(
            channel(Some("/?utm_source=google"), None),
            Channel::OrganicSearch
        );
        // Tags that name nothing known leave the referrer to decide.
        assert_eq!(
            channel(
                Some("/?utm_source=partner&utm_medium=banner_swap"),
                Some("https://t.co/x")
            ),
            Channel::Social
        );
    }

    #[test]
    fn unknown_tags_without_referrer_are_referral() {
        assert_eq!(
            channel(Some("/?utm_source=partner_blog"), None),
            Channel::Referral
        );
        assert_eq!(
            channel(Some("/?utm_campaign=only_campaign"), None),
            Channel::Direct
        );
    }

    #[test]
    fn other_sites_are_referral() {
        let a = acquisition(None, Some("https://Blog.Example.ORG/post?id=1"), OWN);
        assert_eq!(a.channel, Channel::Referral);
        assert_eq!(a.referrer_domain.as_deref(), Some("blog.example.org"));
        // Label boundaries and TLD shapes keep look-alikes out.
        for referrer in [
            "https://notgoogle.com/",
            "https://google.evil.example/",
            "https://fakefacebook.com/",
            "https://mybing.com/",
        ] {
            assert_eq!(
                channel(None, Some(referrer)),
                Channel::Referral,
                "{referrer}"
            );
        }
    }

    #[test]
    fn internal_referrer_is_dropped() {
        let a = acquisition(
            Some("/cart"),
            Some("https://www.Shop.Example/product/1"),
            &["www.shop.example"],
        );
        assert_eq!(a.channel, Channel::Direct);
        assert_eq!(a.referrer, None);
        assert_eq!(a.referrer_domain, None);

        // The landing URL's own host counts even when own_hosts misses it.
        let a = acquisition(
            Some("https://other.example/"),
            Some("https://other.example/a"),
            OWN,
        );
        assert_eq!(a.channel, Channel::Direct);
        assert_eq!(a.referrer, None);

        // Subdomains are other sites unless listed.
        assert_eq!(
            channel(None, Some("https://blog.shop.example/")),
            Channel::Referral
        );
    }

    #[test]
    fn android_app_referrers() {
        assert_eq!(
            channel(
                None,
                Some("android-app://com.google.android.googlequicksearchbox/")
            ),
            Channel::OrganicSearch
        );
        assert_eq!(
            channel(None, Some("android-app://com.google.android.gm")),
            Channel::Email
        );
        assert_eq!(
            channel(None, Some("android-app://com.facebook.katana")),
            Channel::Social
        );
        let a = acquisition(None, Some("android-app://org.example.reader"), OWN);
        assert_eq!(a.channel, Channel::Referral);
        assert_eq!(a.referrer_domain.as_deref(), Some("org.example.reader"));
    }

    #[test]
    fn garbage_referrer_is_no_referrer() {
        for referrer in [
            "-",
            "",
            "   ",
            "not a url",
            "www.google.com",
            "about:blank",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://",
            "http://[::1",
            "android-app://",
            "💥",
        ] {
            let a = acquisition(None, Some(referrer), OWN);
            assert_eq!(a.channel, Channel::Direct, "{referrer:?}");
            assert_eq!(a.referrer, None, "{referrer:?}");
            assert_eq!(a.referrer_domain, None, "{referrer:?}");
        }
    }

    #[test]
    fn tags_are_decoded_trimmed_and_truncated() {
        let long = "a".repeat(150);
        let a = acquisition(
            Some(&format!(
                "/p?utm_source=Spring%20Sale&UTM_MEDIUM=+email+&utm_campaign={long}&utm_source=second"
            )),
            None,
            OWN,
        );
        assert_eq!(a.utm_source.as_deref(), Some("Spring Sale"));
        assert_eq!(a.utm_medium.as_deref(), Some("email"));
        assert_eq!(a.utm_campaign.map(|c| c.chars().count()), Some(100));

        // Truncation counts characters, never splitting one.
        let a = acquisition(
            Some(&format!("/?utm_source={}", "é".repeat(150))),
            None,
            OWN,
        );
        assert_eq!(a.utm_source, Some("é".repeat(100)));

        let a = acquisition(Some("/?utm_source=&utm_medium=%20"), None, OWN);
        assert_eq!((a.utm_source, a.utm_medium), (None, None));
    }

    #[test]
    fn odd_landing_urls_do_not_panic() {
        for landing in [
            "",
            "::::",
            "http://[::1",
            "?utm_source=x",
            "%%%",
            "💥?utm_medium=cpc",
        ] {
            acquisition(Some(landing), Some("https://t.co/"), OWN);
        }
        assert_eq!(channel(Some("?utm_medium=cpc"), None), Channel::Paid);
    }

    #[test]
    fn referrer_domain_normalizes() {
        let cases = [
            ("https://www.Google.co.uk/search?q=x", Some("google.co.uk")),
            ("http://example.com.:8080/", Some("example.com")),
            ("https://www.example.com", Some("example.com")),
            ("https://www2.example.com", Some("www2.example.com")),
            ("https://[2001:db8::1]/", Some("[2001:db8::1]")),
            (
                "android-app://Com.Google.Android.Gm",
                Some("com.google.android.gm"),
            ),
            ("-", None),
            ("", None),
            ("garbage", None),
            ("ftp://example.com/", None),
        ];
        for (referrer, want) in cases {
            assert_eq!(referrer_domain(referrer).as_deref(), want, "{referrer}");
        }
    }

    // ----- GeoIP -----

    fn fixture(name: &str) -> PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mmdb")).join(name)
    }

    fn open(name: &str) -> GeoIp {
        GeoIp::open(&fixture(name)).expect("test database opens")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address parses")
    }

    fn geo(country: &str, region: Option<&str>, city: Option<&str>) -> Geo {
        Geo {
            country: Some(country.to_owned()),
            region: region.map(str::to_owned),
            city: city.map(str::to_owned),
        }
    }

    #[test]
    fn city_databases() {
        for name in ["GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"] {
            let db = open(name);
            assert!(db.database_type().contains("City"), "{name}");
            assert_eq!(
                db.lookup(ip("81.2.69.142")),
                geo("GB", Some("ENG"), Some("London")),
                "{name}"
            );
            assert_eq!(
                db.lookup(ip("89.160.20.112")),
                geo("SE", Some("E"), Some("Linköping")),
                "{name}"
            );
            assert_eq!(
                db.lookup(ip("216.160.83.56")),
                geo("US", Some("WA"), Some("Milton")),
                "{name}"
            );
            assert_eq!(db.lookup(ip("2001:218::")), geo("JP", None, None), "{name}");
        }
    }

    #[test]
    fn addresses_without_record_give_empty_geo() {
        let db = open("GeoIP2-City-Test.mmdb");
        for addr in ["127.0.0.1", "8.8.8.8", "10.0.0.1", "::1", "::"] {
            assert_eq!(db.lookup(ip(addr)), Geo::default(), "{addr}");
        }
    }

    #[test]
    fn ipv4_mapped_addresses_are_looked_up_as_ipv4() {
        let db = open("GeoLite2-City-Test.mmdb");
        assert_eq!(
            db.lookup(ip("::ffff:81.2.69.142")),
            db.lookup(ip("81.2.69.142"))
        );
    }

    #[test]
    fn country_database_gives_only_country() {
        let db = open("GeoLite2-Country-Test.mmdb");
        assert_eq!(db.lookup(ip("81.2.69.142")), geo("GB", None, None));
        assert_eq!(db.lookup(ip("216.160.83.56")), geo("US", None, None));
        assert_eq!(db.lookup(ip("127.0.0.1")), Geo::default());
    }

    #[test]
    fn broken_database_is_refused() {
        let path = fixture("MaxMind-DB-test-broken-pointers-24.mmdb");
        let err = GeoIp::open(&path).err().expect("broken database refused");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("GeoIP database {} is invalid: ", path.display())),
            "{message}"
        );
    }

    #[test]
    fn missing_database_names_the_path() {
        let path = fixture("no-such-file.mmdb");
        let err = GeoIp::open(&path).err().expect("missing database refused");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot open GeoIP database {}: ", path.display())),
            "{message}"
        );
        assert!(message.contains("No such file"), "{message}");
    }

    #[test]
    fn non_database_file_is_refused() {
        let err = GeoIp::open(&fixture("LICENSE-MIT"))
            .err()
            .expect("text file refused");
        assert!(err.to_string().contains("is invalid"), "{err}");
    }
}
