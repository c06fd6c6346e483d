//! Several launch sources as one list: [`merge`] folds the same launch reported by two APIs
//! (Launch Library 2 lists SpaceX's launches too) into one [`Launch`], and keeps the others.
//!
//! ## When two launches are the same
//!
//! The first source is the base (LL2: the richer record); each launch of a later source is
//! matched to at most one base launch, and each base launch takes at most one launch per source:
//!
//! 1. **A link.** The later launch names the base launch's id (r/SpaceX's `launch_library_id`
//!    is the LL2 UUID of the same launch): same launch, whatever the dates say.
//! 2. **Otherwise, all of:**
//!    * the same operator: equal provider names, or equal rocket families (case, spaces and
//!      punctuation ignored: `SpaceX` = `spacex`);
//!    * both have a NET, at most [`NET_TOLERANCE`] (24 h) apart (a slip of a day is the most
//!      two feeds updated at different times usually disagree by);
//!    * similar names (see [`similar_names`]): the numbers of one name are all in the other
//!      (`Starlink 6-108` never matches `Starlink 6-109`; a name without numbers only one
//!      without numbers), and they share a word.
//!
//! Candidate pairs are taken closest NET first (links before everything), ties broken by
//! ids, so the result does not depend on the order of either list. The merged list is sorted
//! by NET (launches without one last), then id.
//!
//! A merged launch keeps the base record's fields, fills the ones it lacks from the other
//! source (an LL2 launch without a picture gets SpaceX's patch), and lists both in `sources`
//! and `source_ids`.

use std::collections::BTreeSet;

use chrono::Duration;

use crate::ll2::Launch;

/// The most two NETs of one launch may differ by (rule 2).
pub const NET_TOLERANCE: Duration = Duration::hours(24);

/// One source's launches.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLaunches {
    /// The source's name, e.g. `ll2` or `spacex`.
    pub name: String,
    /// Its launches, each with the id of the same launch in the base source if known.
    pub launches: Vec<(Launch, Option<String>)>,
}

impl SourceLaunches {
    /// A source whose launches carry no link to the base source.
    pub fn new(name: &str, launches: Vec<Launch>) -> Self {
        SourceLaunches {
            name: name.to_owned(),
            launches: launches.into_iter().map(|l| (l, None)).collect(),
        }
    }
}

/// Merges the sources into one list, each launch once (see the [module](self) for the rule).
/// Every launch comes out with `sources` and `source_ids` filled.
pub fn merge(sources: Vec<SourceLaunches>) -> Vec<Launch> {
    let mut merged: Vec<Launch> = Vec::new();
    let mut base_name: Option<String> = None;
    for source in sources {
        let name = source.name.clone();
        let mut incoming: Vec<(Launch, Option<String>)> = source
            .launches
            .into_iter()
            .map(|(mut l, link)| {
                tag(&mut l, &name);
                (l, link)
            })
            .collect();
        // One launch per id within a source.
        incoming.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        incoming.dedup_by(|a, b| a.0.id == b.0.id);
        let Some(base) = base_name.clone() else {
            base_name = Some(name);
            merged = incoming.into_iter().map(|(l, _)| l).collect();
            continue;
        };
        // Candidate pairs (merged index, incoming index), best first.
        let mut pairs: Vec<(Rank, usize, usize)> = Vec::new();
        for (i, m) in merged.iter().enumerate() {
            for (j, (l, link)) in incoming.iter().enumerate() {
                let linked = link.is_some() && m.source_ids.get(&base) == link.as_ref();
                let rank = if linked {
                    Some(0u8)
                } else if same_launch(m, l) {
                    Some(1u8)
                } else {
                    None
                };
                if let Some(rank) = rank {
                    let gap = match (m.net, l.net) {
                        (Some(a), Some(b)) => (a - b).num_seconds().abs(),
                        _ => i64::MAX,
                    };
                    pairs.push(((rank, gap, m.id.clone(), l.id.clone()), i, j));
                }
            }
        }
        pairs.sort();
        let mut used_merged = vec![false; merged.len()];
        let mut used_incoming = vec![false; incoming.len()];
        for (_, i, j) in pairs {
            if used_merged[i] || used_incoming[j] {
                continue;
            }
            used_merged[i] = true;
            used_incoming[j] = true;
            absorb(&mut merged[i], &incoming[j].0);
        }
        merged.extend(
            incoming
                .into_iter()
                .zip(used_incoming)
                .filter(|(_, used)| !used)
                .map(|((l, _), _)| l),
        );
    }
    merged.sort_by(|a, b| (a.net.is_none(), a.net, &a.id).cmp(&(b.net.is_none(), b.net, &b.id)));
    merged
}

/// How good a candidate pair is, best first: link (0) or rule 2 (1), then the NET gap in
/// seconds, then the two ids (so ties do not depend on the order of the lists).
type Rank = (u8, i64, String, String);

/// Rule 2: same operator, NETs within [`NET_TOLERANCE`], similar names.
pub fn same_launch(a: &Launch, b: &Launch) -> bool {
    let same = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => {
            let (x, y) = (squash(x), squash(y));
            !x.is_empty() && x == y
        }
        _ => false,
    };
    let operator = same(&a.provider, &b.provider) || same(&a.rocket_family, &b.rocket_family);
    let close = match (a.net, b.net) {
        (Some(x), Some(y)) => (x - y).abs() <= NET_TOLERANCE,
        _ => false,
    };
    operator && close && similar_names(&mission_name(a), &mission_name(b))
}

/// The mission part of a launch's name: `mission`, else what follows `|` in `name` (LL2 names
/// are `Rocket | Mission`), else `name`.
fn mission_name(l: &Launch) -> String {
    l.mission
        .clone()
        .or_else(|| l.name.split_once('|').map(|(_, m)| m.trim().to_owned()))
        .unwrap_or_else(|| l.name.clone())
}

/// Whether two mission names may name the same mission: the numbers of one are all numbers
/// of the other (leading zeros ignored: `SV04` = `SV 4`) — and a name without numbers matches
/// only a name without numbers (`Starlink` is not `Starlink Group 6-108`: SpaceX flies two
/// Starlinks within a day) — and they share a word of two or more letters, or both have no
/// words and the same numbers.
pub fn similar_names(a: &str, b: &str) -> bool {
    let (aw, an) = tokens(a);
    let (bw, bn) = tokens(b);
    if an.is_empty() && bn.is_empty() && (aw.is_empty() || bw.is_empty()) {
        return false;
    }
    let numbers = if an.is_empty() || bn.is_empty() {
        an == bn
    } else {
        an.is_subset(&bn) || bn.is_subset(&an)
    };
    let words = if aw.is_empty() && bw.is_empty() {
        an == bn
    } else {
        aw.intersection(&bw).next().is_some()
    };
    numbers && words
}

/// Lower-case words (two letters or more) and numbers (without leading zeros) of a name;
/// letters and digits written together (`SV04`, `L17`) are split.
fn tokens(s: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut words = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    let mut cur = String::new();
    let mut flush = |cur: &mut String| {
        if cur.is_empty() {
            return;
        }
        if cur.bytes().all(|b| b.is_ascii_digit()) {
            let n = cur.trim_start_matches('0');
            numbers.insert(if n.is_empty() {
                "0".into()
            } else {
                n.to_owned()
            });
        } else if cur.chars().count() >= 2 {
            words.insert(cur.to_lowercase());
        }
        cur.clear();
    };
    let mut last_digit = None;
    for c in s.chars() {
        if c.is_alphanumeric() {
            let digit = c.is_ascii_digit();
            if last_digit.is_some_and(|d| d != digit) {
                flush(&mut cur);
            }
            cur.push(c);
            last_digit = Some(digit);
        } else {
            flush(&mut cur);
            last_digit = None;
        }
    }
    flush(&mut cur);
    (words, numbers)
}

/// `SpaceX`, `Space X`, `spacex` → `spacex`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Records `source` on a launch read from it.
fn tag(l: &mut Launch, source: &str) {
    if !l.sources.iter().any(|s| s == source) {
        l.sources.push(source.to_owned());
    }
    l.source_ids
        .entry(source.to_owned())
        .or_insert_with(|| l.id.clone());
}

/// Folds `other` (the same launch from another source) into `base`: missing fields filled,
/// sources and ids added.
fn absorb(base: &mut Launch, other: &Launch) {
    macro_rules! fill {
        ($($f:ident),*) => {$(
            if base.$f.is_none() {
                base.$f = other.$f.clone();
            }
        )*};
    }
    fill!(
        net,
        status,
        provider,
        rocket,
        rocket_family,
        rocket_image_url,
        pad,
        location,
        country,
        pad_timezone,
        mission,
        orbit,
        image_url,
        thumbnail_url
    );
    if base.name.is_empty() {
        base.name = other.name.clone();
    }
    for s in &other.sources {
        if !base.sources.contains(s) {
            base.sources.push(s.clone());
        }
    }
    for (k, v) in &other.source_ids {
        base.source_ids
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    fn ll2_fixture() -> Vec<Launch> {
        crate::ll2::parse_page(crate::mock::BUNDLED_LAUNCHES_JSON.as_bytes())
            .unwrap()
            .results
    }

    /// An r/SpaceX record of the LL2 launch `l`: an id of its own (from `l`, `minutes` and
    /// `name`), its own name and picture, the NET moved by `minutes`.
    fn spacex_twin(l: &Launch, name: &str, minutes: i64) -> Launch {
        let mut s = crate::spacex::parse_launches(
            format!(
                r#"[{{"id": "sx-{}-{minutes}-{}", "name": "{name}", "rocket": "5e9d0d95eda69973a809d1ec",
                    "links": {{"patch": {{"large": "https://images2.imgbox.com/x/{}.png"}}}}}}]"#,
                l.id,
                squash(name),
                l.id
            )
            .as_bytes(),
        )
        .unwrap()
        .remove(0)
        .launch;
        s.net = l.net.map(|t| t + Duration::minutes(minutes));
        s
    }

    #[test]
    fn the_same_launch_in_both_is_one_with_both_sources() {
        let ll2 = ll2_fixture();
        let f9 = ll2
            .iter()
            .find(|l| l.provider.as_deref() == Some("SpaceX") && l.mission.is_some())
            .expect("a SpaceX launch in the LL2 snapshot")
            .clone();
        let mission = f9.mission.clone().unwrap();
        let twin = spacex_twin(&f9, &mission, 90);
        let other = spacex_twin(&f9, "Some Other Mission 42", 0);
        let merged = merge(vec![
            SourceLaunches::new("ll2", ll2.clone()),
            SourceLaunches::new("spacex", vec![twin.clone(), other.clone()]),
        ]);
        assert_eq!(
            merged.len(),
            ll2.len() + 1,
            "the twin merged, the other kept"
        );
        let m = merged.iter().find(|l| l.id == f9.id).unwrap();
        assert_eq!(m.sources, ["ll2", "spacex"]);
        assert_eq!(m.source_ids["spacex"], twin.id);
        assert_eq!(m.source_ids["ll2"], f9.id);
        assert_eq!(m.image_url, f9.image_url, "the base's picture stays");
        let o = merged.iter().find(|l| l.id == other.id).unwrap();
        assert_eq!(o.sources, ["spacex"]);
        for l in merged.iter().filter(|l| l.id != f9.id && l.id != other.id) {
            assert_eq!(l.sources, ["ll2"]);
        }
    }

    #[test]
    fn a_link_merges_whatever_the_names_and_a_missing_picture_is_filled() {
        let mut ll2 = ll2_fixture();
        ll2[0].image_url = None;
        let mut twin = spacex_twin(&ll2[0], "Nothing alike", 60 * 24 * 30);
        twin.provider = Some("someone else".into());
        let merged = merge(vec![
            SourceLaunches::new("ll2", ll2.clone()),
            SourceLaunches {
                name: "spacex".into(),
                launches: vec![(twin.clone(), Some(ll2[0].id.clone()))],
            },
        ]);
        assert_eq!(merged.len(), ll2.len());
        let m = merged.iter().find(|l| l.id == ll2[0].id).unwrap();
        assert_eq!(m.sources, ["ll2", "spacex"]);
        assert_eq!(m.image_url, twin.image_url, "filled from SpaceX");
    }

    #[test]
    fn distinct_launches_are_kept() {
        let ll2 = ll2_fixture();
        let f9 = ll2
            .iter()
            .find(|l| l.provider.as_deref() == Some("SpaceX"))
            .unwrap();
        // A day and a half later, another provider, another number: none merges.
        let late = spacex_twin(f9, f9.mission.as_deref().unwrap_or(&f9.name), 36 * 60);
        let mut not_spacex = spacex_twin(f9, f9.mission.as_deref().unwrap_or(&f9.name), 0);
        not_spacex.provider = Some("Rocket Lab".into());
        not_spacex.rocket_family = Some("Electron".into());
        let renumbered = spacex_twin(f9, "Starlink Group 99-1", 0);
        let merged = merge(vec![
            SourceLaunches::new("ll2", ll2.clone()),
            SourceLaunches::new("spacex", vec![late, not_spacex, renumbered]),
        ]);
        assert_eq!(merged.len(), ll2.len() + 3);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_the_lists() {
        let ll2 = ll2_fixture();
        let spacex: Vec<Launch> = ll2
            .iter()
            .filter(|l| l.provider.as_deref() == Some("SpaceX"))
            .map(|l| spacex_twin(l, l.mission.as_deref().unwrap_or(&l.name), 30))
            .chain(
                crate::spacex::parse_launches(include_bytes!(
                    "../fixtures/spacex/v4-launches-2021-02-starlink17-falconsat.json"
                ))
                .unwrap()
                .into_iter()
                .map(|s| s.launch),
            )
            .collect();
        let forward = merge(vec![
            SourceLaunches::new("ll2", ll2.clone()),
            SourceLaunches::new("spacex", spacex.clone()),
        ]);
        let (mut l2, mut sx) = (ll2.clone(), spacex.clone());
        l2.reverse();
        sx.reverse();
        sx.rotate_left(1);
        let backward = merge(vec![
            SourceLaunches::new("ll2", l2),
            SourceLaunches::new("spacex", sx),
        ]);
        assert_eq!(forward, backward);
        let both = forward.iter().filter(|l| l.sources.len() == 2).count();
        let spacex_in_ll2 = ll2
            .iter()
            .filter(|l| l.provider.as_deref() == Some("SpaceX"))
            .count();
        assert_eq!(both, spacex_in_ll2, "each twin merged once");
        assert_eq!(forward.len(), ll2.len() + 2);
        // Sorted by NET.
        assert!(
            forward
                .windows(2)
                .all(|w| w[0].net <= w[1].net || w[1].net.is_none())
        );
    }

    #[test]
    fn one_source_alone_and_none() {
        assert!(merge(Vec::new()).is_empty());
        let sx = crate::spacex::parse_launches(include_bytes!(
            "../fixtures/spacex/v4-upcoming-2020-11-gps-iii-sv04.json"
        ))
        .unwrap();
        let only = merge(vec![
            SourceLaunches::new("ll2", Vec::new()),
            SourceLaunches::new("spacex", sx.into_iter().map(|s| s.launch).collect()),
        ]);
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].sources, ["spacex"]);
        assert_eq!(only[0].net, Some(at("2020-11-04T23:28:00Z")));
    }

    #[test]
    fn names() {
        assert!(similar_names("Starlink Group 6-108", "Starlink 6-108"));
        assert!(!similar_names("Starlink Group 6-108", "Starlink 6-109"));
        assert!(similar_names(
            "GPS III SV04 'Sacagawea'",
            "GPS III SV04 (Sacagawea)"
        ));
        assert!(similar_names("Starlink V1.0-L17", "Starlink-17 (v1.0)"));
        assert!(!similar_names("CRS-20", "Starlink-20"));
        assert!(!similar_names("", "Starlink"));
        assert!(similar_names("Transporter-9", "Transporter 9"));
        // A name without numbers is not any numbered flight of the same kind.
        assert!(!similar_names("Starlink", "Starlink Group 6-108"));
        assert!(!similar_names("Transporter 12", "Transporter"));
        assert!(similar_names("Crew Dragon Demo", "Demo (Crew Dragon)"));
    }
}
