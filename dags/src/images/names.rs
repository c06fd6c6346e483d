//! File names for image URLs: safe single path components, unique per URL, stable across
//! runs.

use std::collections::HashSet;

/// Longest file name [`file_names`] produces, in bytes (most file systems allow 255).
pub const MAX_NAME_LEN: usize = 150;

/// Why no file name could be derived from a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The text is not an absolute URL.
    #[error("invalid URL: {reason}")]
    Invalid {
        /// What the URL parser objected to.
        reason: String,
    },
    /// The URL is not `http` or `https`.
    #[error("unsupported URL scheme `{scheme}`; expected `http` or `https`")]
    Scheme {
        /// The scheme found.
        scheme: String,
    },
}

/// Derives a safe, unique file name for each distinct URL, in first-seen order.
///
/// The name is `<stem>-<8 hex digits of a hash of the URL's host, path and query>.<ext>`, where stem and
/// extension come from the URL's last path segment, percent-decoded, without query or fragment,
/// with every byte outside `[A-Za-z0-9._-]` replaced by `_`, leading dots removed and at most
/// [`MAX_NAME_LEN`] bytes. An empty stem becomes `image`. The name depends on the URL alone, so
/// it is the same in every run, and two URLs with the same last segment (on two hosts, or two
/// paths) never share a file, in one run or across runs.
pub fn file_names(urls: &[String]) -> Vec<(String, Result<String, NameError>)> {
    let mut seen = HashSet::new();
    let distinct: Vec<&String> = urls.iter().filter(|u| seen.insert(u.as_str())).collect();
    let bases: Vec<Result<SafeName, NameError>> = distinct.iter().map(|u| base_name(u)).collect();

    // Two URLs whose names collide (the same image under two spellings, `http://h/a/../x`
    // and `http://h/x`; hashes that collide; names that differ only in case) are numbered in
    // the order of the URLs' text, not of the list: the same URLs get the same names whatever
    // order they come in.
    let mut order: Vec<usize> = (0..distinct.len()).collect();
    order.sort_by_key(|&i| distinct[i]);
    let mut names: Vec<Option<Result<String, NameError>>> = vec![None; distinct.len()];
    let mut taken = HashSet::new();
    for i in order {
        let url = distinct[i];
        names[i] = Some(bases[i].as_ref().map_err(Clone::clone).map(|base| {
            let hash = format!("{:08x}", fnv1a(identity(url).as_bytes()));
            let mut name = base.render(Some(&hash));
            let mut n = 1;
            while !taken.insert(name.to_ascii_lowercase()) {
                n += 1;
                name = base.render(Some(&format!("{hash}-{n}")));
            }
            name
        }));
    }
    distinct
        .into_iter()
        .zip(names)
        .map(|(url, name)| (url.clone(), name.expect("every index is named once")))
        .collect()
}

/// What makes two image URLs the same image for naming: host, path and query. The scheme and
/// port are left out, so `http`/`https` of one image, or a local server on a new port each run
/// (the example's `--offline`), keep one name.
pub(super) fn identity(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(u) => format!(
            "{}{}?{}",
            u.host_str().unwrap_or("").to_ascii_lowercase(),
            u.path(),
            u.query().unwrap_or("")
        ),
        Err(_) => raw.to_owned(),
    }
}

/// A sanitized file name split into stem and extension.
struct SafeName {
    stem: String,
    ext: Option<String>,
}

impl SafeName {
    /// `stem[-suffix][.ext]`, the stem shortened to fit [`MAX_NAME_LEN`].
    fn render(&self, suffix: Option<&str>) -> String {
        let tail = suffix.map_or(0, |s| s.len() + 1) + self.ext.as_ref().map_or(0, |e| e.len() + 1);
        // Sanitized names are ASCII, so any byte index is a char boundary.
        let stem = &self.stem[..self
            .stem
            .len()
            .min(MAX_NAME_LEN.saturating_sub(tail).max(1))];
        let mut name = stem.to_owned();
        for (sep, part) in [('-', suffix), ('.', self.ext.as_deref())] {
            if let Some(part) = part {
                name.push(sep);
                name.push_str(part);
            }
        }
        name
    }
}

fn base_name(raw: &str) -> Result<SafeName, NameError> {
    let url = reqwest::Url::parse(raw).map_err(|e| NameError::Invalid {
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NameError::Scheme {
            scheme: url.scheme().to_owned(),
        });
    }
    // Decode only after splitting into segments, so `%2F` cannot make a new path level;
    // the `/` it decodes to is replaced below like any other unsafe character.
    let segment = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    let cleaned: String = decoded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // No hidden files, and never `.` or `..`.
    let cleaned = cleaned.trim_start_matches('.');
    let cleaned = if cleaned.is_empty() { "image" } else { cleaned };
    Ok(match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && (1..=10).contains(&ext.len()) => SafeName {
            stem: stem.to_owned(),
            ext: Some(ext.to_owned()),
        },
        _ => SafeName {
            stem: cleaned.to_owned(),
            ext: None,
        },
    })
}

/// 32-bit FNV-1a: tiny and stable across Rust versions, unlike `std`'s `DefaultHasher`.
pub(super) fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}
