//! Fixtures and checks shared by the tests of the charts of runs: tries and runs on fixed
//! days, a small XML reader, tick labels read back.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::axis::FIXED_STEPS;
use super::time::{DAY, HOUR, MIN, MS, SEC};
use crate::store::{DagRunRecord, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord};

pub(super) fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

pub(super) fn at(day: i64, ms: i64) -> DateTime<Utc> {
    base() + TimeDelta::days(day) + TimeDelta::milliseconds(ms)
}

pub(super) fn run_record(run_id: &str, day: i64, end_ms: Option<i64>) -> DagRunRecord {
    DagRunRecord {
        dag_id: "demo".into(),
        run_id: run_id.into(),
        run_type: RunType::Manual,
        logical_date: at(day, 0),
        data_interval_start: at(day, 0),
        data_interval_end: at(day + 1, 0),
        state: RunStateRecord::Failed,
        start: at(day, 0),
        end: end_ms.map(|e| at(day, e)),
        conf: serde_json::Value::Null,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn ti(
    run_id: &str,
    day: i64,
    task: &str,
    map_index: i32,
    try_number: u32,
    state: TaskStateRecord,
    start_ms: i64,
    end_ms: Option<i64>,
    error: Option<&str>,
) -> TaskInstanceRecord {
    let start = at(day, start_ms);
    let end = end_ms.map(|e| at(day, e));
    TaskInstanceRecord {
        dag_id: "demo".into(),
        run_id: run_id.into(),
        task_id: task.into(),
        map_index,
        try_number,
        state,
        start,
        end,
        duration: end.map(|e| (e - start).to_std().unwrap()),
        hostname: "host".into(),
        pid: None,
        log_path: None,
        error: error.map(str::to_owned),
    }
}

#[derive(Debug)]
pub(super) struct El {
    pub(super) name: String,
    pub(super) attrs: HashMap<String, String>,
    pub(super) text: String,
    pub(super) parent: Option<usize>,
}

impl El {
    pub(super) fn attr(&self, k: &str) -> &str {
        self.attrs
            .get(k)
            .unwrap_or_else(|| panic!("no {k} on {self:?}"))
    }
    pub(super) fn num(&self, k: &str) -> f64 {
        self.attr(k).parse().unwrap()
    }
    pub(super) fn class(&self) -> &str {
        self.attrs.get("class").map_or("", String::as_str)
    }
}

/// Every element in document order; panics unless `xml` is well-formed.
pub(super) fn parse(xml: &str) -> Vec<El> {
    let mut reader = Reader::from_str(xml);
    let mut els: Vec<El> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0;
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}"));
        let (start, open) = match &ev {
            Event::Start(e) => (Some(e.clone()), true),
            Event::Empty(e) => (Some(e.clone()), false),
            Event::End(_) => {
                stack.pop().expect("unbalanced end tag");
                continue;
            }
            Event::Text(t) => {
                let i = *stack.last().expect("text outside the root");
                els[i].text.push_str(t.as_ref());
                continue;
            }
            Event::GeneralRef(g) => {
                let i = *stack.last().expect("text outside the root");
                let name: &str = g.as_ref();
                let v = resolve_predefined_entity(name)
                    .unwrap_or_else(|| panic!("unknown entity &{name};"));
                els[i].text.push_str(v);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let e = start.unwrap();
        if stack.is_empty() {
            roots += 1;
        }
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.0.to_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        els.push(El {
            name: e.name().0.to_owned(),
            attrs,
            text: String::new(),
            parent: stack.last().copied(),
        });
        if open {
            stack.push(els.len() - 1);
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(roots, 1, "one root element");
    assert_eq!(els[0].name, "svg");
    els
}

pub(super) fn with_class<'a>(els: &'a [El], name: &str, class: &str) -> Vec<&'a El> {
    els.iter()
        .filter(|e| e.name == name && e.class() == class)
        .collect()
}

/// The `<title>` child of element `i`.
pub(super) fn title_of(els: &[El], i: usize) -> &str {
    els.iter()
        .find(|e| e.parent == Some(i) && e.name == "title")
        .map(|e| e.text.as_str())
        .unwrap_or_else(|| panic!("no title on {:?}", els[i]))
}

/// A tick label back in µs: `+500 ms`, `+1.5 s`, `+1m 30s`, `+2h 30m`, `+3 min`, …
pub(super) fn parse_tick(label: &str) -> i64 {
    let l = label.strip_prefix('+').unwrap_or(label);
    let parts: Vec<&str> = l.split(' ').collect();
    let unit = |u: &str| match u {
        "µs" => 1,
        "ms" => MS,
        "s" => SEC,
        "min" => MIN,
        "h" => HOUR,
        "d" => DAY,
        _ => panic!("unit of {label}"),
    };
    match parts.as_slice() {
        [v, u] if v.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            (v.parse::<f64>().unwrap() * unit(u) as f64).round() as i64
        }
        [a, b] => {
            let split = |s: &str| {
                let i = s.find(|c: char| !c.is_ascii_digit()).unwrap();
                (s[..i].parse::<i64>().unwrap(), s[i..].to_owned())
            };
            let (a, ua) = split(a);
            let (b, ub) = split(b);
            let u = |u: &str| match u {
                "d" => DAY,
                "h" => HOUR,
                "m" => MIN,
                "s" => SEC,
                _ => panic!("unit of {label}"),
            };
            a * u(&ua) + b * u(&ub)
        }
        _ => panic!("tick label {label}"),
    }
}

/// 1, 2, 5 × 10ᵏ µs up to 5 s; 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h;
/// 1, 2, 5 × 10ᵏ days.
pub(super) fn is_nice(step: i64) -> bool {
    let mut d: i64 = 1;
    while d < 10 * SEC {
        if [d, 2 * d, 5 * d].contains(&step) {
            return true;
        }
        d *= 10;
    }
    let mut d = DAY;
    while let Some(d5) = d.checked_mul(5) {
        if [d, 2 * d, d5].contains(&step) {
            return true;
        }
        let Some(next) = d.checked_mul(10) else { break };
        d = next;
    }
    FIXED_STEPS.contains(&step)
}
