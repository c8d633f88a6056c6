//! Which log lines are page views. The defaults follow Matomo's
//! import_logs.py, each switchable: bots are skipped unless enabled, static
//! assets by extension, requests that are not page views (methods other
//! than GET, redirects), and paths outside `--include-path` or inside
//! `--exclude-path`. Error statuses (4xx/5xx) are kept: a 404 is a page the
//! visitor saw, and a pain point worth finding.

use regex::Regex;

/// Extensions of static assets, skipped by default.
pub(crate) const DEFAULT_STATIC: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "ico", "svg", "webp", "avif", "bmp",
    "woff", "woff2", "ttf", "otf", "eot", "mp3", "mp4", "webm", "ogg", "wav", "zip", "gz", "tgz",
    "bz2", "xz", "rar", "7z", "pdf", "exe", "dmg", "iso", "swf", "xml", "rss", "atom", "txt",
    "json",
];

/// Why a parsed line is not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Skip {
    Bot,
    StaticAsset,
    NotPageView,
    Redirect,
    Excluded,
}

impl Skip {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Skip::Bot => "bot",
            Skip::StaticAsset => "static_asset",
            Skip::NotPageView => "not_page_view",
            Skip::Redirect => "redirect",
            Skip::Excluded => "excluded_path",
        }
    }
}

/// The rules in force for one import.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub enable_bots: bool,
    /// Import static assets too.
    pub enable_static: bool,
    /// Import redirects (3xx other than 304) too.
    pub enable_redirects: bool,
    /// Import every method, not only GET.
    pub enable_all_methods: bool,
    pub static_extensions: Vec<String>,
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            enable_bots: false,
            enable_static: false,
            enable_redirects: false,
            enable_all_methods: false,
            static_extensions: DEFAULT_STATIC.iter().map(|s| s.to_string()).collect(),
            include: vec![],
            exclude: vec![],
        }
    }
}

impl Filter {
    /// Checks the request itself (method, status, path); `path` is the
    /// target without its query.
    pub(crate) fn request(&self, method: &[u8], status: u16, path: &str) -> Result<(), Skip> {
        if method != b"GET" && !self.enable_all_methods {
            return Err(Skip::NotPageView);
        }
        if (300..400).contains(&status) && status != 304 && !self.enable_redirects {
            return Err(Skip::Redirect);
        }
        if !self.enable_static && self.is_static(path) {
            return Err(Skip::StaticAsset);
        }
        if !self.include.is_empty() && !self.include.iter().any(|r| r.is_match(path)) {
            return Err(Skip::Excluded);
        }
        if self.exclude.iter().any(|r| r.is_match(path)) {
            return Err(Skip::Excluded);
        }
        Ok(())
    }

    fn is_static(&self, path: &str) -> bool {
        let file = path.rsplit('/').next().unwrap_or("");
        match file.rsplit_once('.') {
            Some((_, ext)) => self
                .static_extensions
                .iter()
                .any(|s| s.eq_ignore_ascii_case(ext)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_views_pass_and_the_rest_is_skipped_by_reason() {
        let f = Filter::default();
        assert_eq!(f.request(b"GET", 200, "/blog/post"), Ok(()));
        assert_eq!(
            f.request(b"GET", 404, "/missing"),
            Ok(()),
            "errors are kept"
        );
        assert_eq!(f.request(b"GET", 304, "/"), Ok(()), "a cached page view");
        assert_eq!(f.request(b"GET", 301, "/old"), Err(Skip::Redirect));
        assert_eq!(f.request(b"POST", 200, "/login"), Err(Skip::NotPageView));
        assert_eq!(f.request(b"CONNECT", 200, "/"), Err(Skip::NotPageView));
        assert_eq!(f.request(b"GET", 200, "/style.CSS"), Err(Skip::StaticAsset));
        assert_eq!(
            f.request(b"GET", 200, "/v1.2/docs"),
            Ok(()),
            "a dot in a directory"
        );
    }

    #[test]
    fn every_default_skip_can_be_switched_off() {
        let f = Filter {
            enable_static: true,
            enable_redirects: true,
            enable_all_methods: true,
            ..Filter::default()
        };
        assert_eq!(f.request(b"POST", 301, "/app.js"), Ok(()));
    }

    #[test]
    fn include_and_exclude_paths() {
        let f = Filter {
            include: vec![Regex::new("^/shop").unwrap()],
            exclude: vec![Regex::new("^/shop/admin").unwrap()],
            ..Filter::default()
        };
        assert_eq!(f.request(b"GET", 200, "/shop/p/1"), Ok(()));
        assert_eq!(f.request(b"GET", 200, "/blog"), Err(Skip::Excluded));
        assert_eq!(f.request(b"GET", 200, "/shop/admin/x"), Err(Skip::Excluded));
    }
}
