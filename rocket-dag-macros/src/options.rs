//! Parsing and validating option values: durations, dates, schedules, time zones, trigger rules,
//! and the "did you mean" suggestions shared by both attributes.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::{Error, Ident, LitBool, LitInt, LitStr, Result, Token};

/// Collects errors so one build reports every mistake (serde's `Ctxt`).
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
    pub(crate) fn into_tokens(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

/// One option's value with the span of its name, rejecting a second occurrence.
pub(crate) struct Opt<T> {
    pub(crate) value: Option<T>,
    pub(crate) span: Option<Span>,
}

impl<T> Default for Opt<T> {
    fn default() -> Self {
        Opt {
            value: None,
            span: None,
        }
    }
}

impl<T> Opt<T> {
    pub(crate) fn set(&mut self, name: &Ident, value: T) -> Result<()> {
        if self.span.is_some() {
            return Err(Error::new(
                name.span(),
                format!("option `{name}` is specified more than once"),
            ));
        }
        self.span = Some(name.span());
        self.value = Some(value);
        Ok(())
    }
}

/// Levenshtein distance, for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn backticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"…; expected one of `a`, `b`"` plus a "did you mean" line when `found` looks like a typo.
fn expected_one_of(found: &str, accepted: &[&str]) -> String {
    let mut msg = format!("expected one of {}", backticked(accepted));
    if let Some(c) = closest(found, accepted) {
        msg.push_str(&format!("\nhelp: did you mean `{c}`?"));
    }
    msg
}

pub(crate) fn unknown_option(attr: &str, name: &Ident, accepted: &[&str]) -> Error {
    Error::new(
        name.span(),
        format!(
            "unknown `#[{attr}]` option `{name}`; {}",
            expected_one_of(&name.to_string(), accepted)
        ),
    )
}

/// Parses `#[attr(a = 1, b, …)]` option by option with `parse`. An error is recorded and
/// parsing goes on with the next option, so one build reports every bad option.
pub(crate) fn parse_options(
    args: TokenStream,
    errors: &mut Errors,
    mut parse: impl FnMut(&Ident, &ParseNestedMeta<'_>) -> Result<()>,
) {
    let parser = syn::meta::parser(|meta| {
        let result = match meta.path.get_ident() {
            Some(name) => parse(name, &meta),
            None => Err(Error::new_spanned(
                &meta.path,
                "expected an option name, such as `retries`",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
            while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                meta.input.parse::<proc_macro2::TokenTree>()?;
            }
        }
        Ok(())
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
}

/// A flag such as `shell`, which takes no value.
pub(crate) fn flag(name: &Ident, meta: &ParseNestedMeta<'_>) -> Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        Err(Error::new(
            name.span(),
            format!("option `{name}` takes no value: write `{name}` alone"),
        ))
    }
}

/// The task options that `#[task]` takes and `#[dag]` takes as defaults for its tasks.
pub(crate) const TASK_OPTIONS: &[&str] = &[
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "execution_timeout",
    "trigger_rule",
    "layer",
];

const TRIGGER_RULES: &[(&str, &str)] = &[
    ("all_success", "AllSuccess"),
    ("all_failed", "AllFailed"),
    ("all_done", "AllDone"),
    ("all_skipped", "AllSkipped"),
    ("one_success", "OneSuccess"),
    ("one_failed", "OneFailed"),
    ("one_done", "OneDone"),
    ("none_failed", "NoneFailed"),
    ("none_failed_min_one_success", "NoneFailedMinOneSuccess"),
    ("none_skipped", "NoneSkipped"),
    ("always", "Always"),
];

const LAYERS: &[(&str, &str)] = &[
    ("source", "Source"),
    ("storage", "Storage"),
    ("business", "Business"),
];

/// Task options as parsed; each becomes a builder call on `TaskOptions`.
#[derive(Default)]
pub(crate) struct TaskOpts {
    retries: Opt<LitInt>,
    retry_delay: Opt<u64>,
    retry_exponential_backoff: Opt<LitBool>,
    max_retry_delay: Opt<u64>,
    execution_timeout: Opt<u64>,
    trigger_rule: Opt<Ident>,
    layer: Opt<Ident>,
}

impl TaskOpts {
    /// Parses `meta` if it names a task option; `Ok(false)` if it names something else.
    pub(crate) fn parse(&mut self, name: &Ident, meta: &ParseNestedMeta<'_>) -> Result<bool> {
        match name.to_string().as_str() {
            "retries" => {
                let lit: LitInt = meta.value()?.parse()?;
                lit.base10_parse::<u32>()?;
                self.retries.set(name, lit)?;
            }
            "retry_delay" => self.retry_delay.set(name, duration(meta)?)?,
            "max_retry_delay" => self.max_retry_delay.set(name, duration(meta)?)?,
            "execution_timeout" => self.execution_timeout.set(name, duration(meta)?)?,
            "retry_exponential_backoff" => {
                let lit: LitBool = meta.value()?.parse()?;
                self.retry_exponential_backoff.set(name, lit)?;
            }
            "trigger_rule" => {
                let lit: LitStr = meta.value()?.parse()?;
                let variant = choice(&lit, "trigger rule", TRIGGER_RULES)?;
                self.trigger_rule.set(name, variant)?;
            }
            "layer" => {
                let lit: LitStr = meta.value()?.parse()?;
                let variant = choice(&lit, "layer", LAYERS)?;
                self.layer.set(name, variant)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `::rocket_dag::__private::TaskOptions::new().retries(3)…`
    pub(crate) fn to_tokens(&self) -> TokenStream {
        let p = quote!(::rocket_dag::__private);
        let mut t = quote!(#p::TaskOptions::new());
        if let Some(v) = &self.retries.value {
            t.extend(quote!(.retries(#v)));
        }
        for (name, opt) in [
            ("retry_delay", &self.retry_delay),
            ("max_retry_delay", &self.max_retry_delay),
            ("execution_timeout", &self.execution_timeout),
        ] {
            if let Some(ms) = opt.value {
                let m = Ident::new(name, Span::call_site());
                t.extend(quote!(.#m(#p::Duration::from_millis(#ms))));
            }
        }
        if let Some(v) = &self.retry_exponential_backoff.value {
            t.extend(quote!(.retry_exponential_backoff(#v)));
        }
        if let Some(v) = &self.trigger_rule.value {
            t.extend(quote!(.trigger_rule(#p::TriggerRule::#v)));
        }
        if let Some(v) = &self.layer.value {
            t.extend(quote!(.layer(#p::Layer::#v)));
        }
        t
    }
}

fn choice(lit: &LitStr, what: &str, choices: &[(&str, &str)]) -> Result<Ident> {
    let v = lit.value();
    match choices.iter().find(|(n, _)| *n == v) {
        Some((_, variant)) => Ok(Ident::new(variant, lit.span())),
        None => {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            Err(Error::new(
                lit.span(),
                format!("unknown {what} `{v}`; {}", expected_one_of(&v, &names)),
            ))
        }
    }
}

fn duration(meta: &ParseNestedMeta<'_>) -> Result<u64> {
    let lit: LitStr = meta.value()?.parse()?;
    let v = lit.value();
    parse_duration(&v).map_err(|why| {
        let mut msg = format!(
            "invalid duration `{v}`: {why}; expected numbers with units `ms`, `s`, `m`, `h` or `d` and no spaces, such as `30s`, `10m` or `1h30m`"
        );
        if let Some(fix) = suggest_duration(&v) {
            msg.push_str(&format!("\nhelp: did you mean `{fix}`?"));
        }
        Error::new(lit.span(), msg)
    })
}

/// Splits `"1h30m"` (spaces allowed, for messages) into number and unit pairs.
fn split_duration(s: &str) -> std::result::Result<Vec<(&str, &str)>, String> {
    let mut parts = Vec::new();
    let mut rest = s.trim_start();
    if rest.is_empty() {
        return Err("it is empty".to_owned());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let (number, tail) = rest.split_at(digits);
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("the number `{number}` has no unit"));
        }
        parts.push((number, unit));
        rest = tail.trim_start();
    }
    Ok(parts)
}

/// `"1h30m"` → milliseconds.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<u64, String> {
    let mut total: u64 = 0;
    for (number, unit) in split_duration(s)? {
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("unknown unit `{unit}`")),
        };
        total = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .and_then(|v| total.checked_add(v))
            .ok_or("the duration is too large")?;
    }
    if s.contains(char::is_whitespace) {
        return Err("it contains a space".to_owned());
    }
    Ok(total)
}

/// `"5 minutes"` → `"5m"`: the accepted form of a duration written with long unit names.
fn suggest_duration(s: &str) -> Option<String> {
    let mut out = String::new();
    for (number, unit) in split_duration(s).ok()? {
        let short = match unit.to_ascii_lowercase().as_str() {
            "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
            "s" | "sec" | "secs" | "second" | "seconds" => "s",
            "m" | "min" | "mins" | "minute" | "minutes" => "m",
            "h" | "hr" | "hrs" | "hour" | "hours" => "h",
            "d" | "day" | "days" => "d",
            _ => return None,
        };
        out.push_str(number);
        out.push_str(short);
    }
    (out != s).then_some(out)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `"2024-01-01"` or `"2024-01-01T06:30:00"` → tokens building a `NaiveDateTime`.
pub(crate) fn date(lit: &LitStr) -> Result<TokenStream> {
    let v = lit.value();
    let bad = |why: &str| Error::new(lit.span(), format!("invalid date `{v}`: {why}"));
    let form = "expected `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`, such as `2024-01-31`";
    let (date, time) = match v.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (v.as_str(), None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !digits(parts[0], 4) || !digits(parts[1], 2) || !digits(parts[2], 2) {
        return Err(bad(form));
    }
    let num = |s: &str| s.parse::<u32>().expect("checked digits");
    let (y, m, d) = (num(parts[0]), num(parts[1]), num(parts[2]));
    if !(1..=12).contains(&m) {
        return Err(bad(&format!("month `{}` is out of range 01-12", parts[1])));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d == 0 || d > days {
        let month = MONTHS[m as usize - 1];
        return Err(bad(&format!(
            "day `{}` is out of range: {month} {y} has {days} days",
            parts[2]
        )));
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if let Some(t) = time {
        let tp: Vec<&str> = t.split(':').collect();
        if !(2..=3).contains(&tp.len()) || tp.iter().any(|p| !digits(p, 2)) {
            return Err(bad(
                "expected the time of day as `HH:MM:SS` or `HH:MM`, such as `06:30:00`",
            ));
        }
        hh = num(tp[0]);
        mm = num(tp[1]);
        ss = if tp.len() == 3 { num(tp[2]) } else { 0 };
        if hh > 23 || mm > 59 || ss > 59 {
            return Err(bad(&format!(
                "the time of day `{t}` is out of range 00:00:00-23:59:59"
            )));
        }
    }
    let y = y as i32;
    Ok(quote_spanned!(lit.span()=> ::rocket_dag::__private::date(#y, #m, #d, #hh, #mm, #ss)))
}

const PRESETS: &[&str] = &[
    "@once",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
    "@midnight",
];

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

/// Checks a schedule as the runtime will parse it (croner), with messages that name the bad
/// field or suggest the preset meant.
pub(crate) fn schedule(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    let s = v.trim();
    let err = |msg: String| Error::new(lit.span(), format!("invalid schedule `{v}`: {msg}"));
    if s.starts_with('@') {
        if PRESETS.contains(&s) {
            return Ok(());
        }
        return Err(err(format!(
            "unknown preset; {}",
            expected_one_of(s, PRESETS)
        )));
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as `@daily`, found {} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        )));
    }
    for (field, (name, lo, hi)) in fields.iter().zip(FIELDS) {
        // Numbers anywhere in a list, range or step must be in range; names (JAN, MON), `L`,
        // `W` and `#` are left to croner.
        for part in field.split([',', '-', '/']) {
            if let Ok(n) = part.parse::<u32>() {
                let is_step = field.contains('/') && field.ends_with(&format!("/{part}"));
                if !is_step && (n < lo || n > hi) {
                    return Err(err(if part == *field {
                        format!("the {name} field `{field}` is out of range {lo}-{hi}")
                    } else {
                        format!("the {name} field `{field}` has `{part}`, out of range {lo}-{hi}")
                    }));
                }
            }
        }
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(s)
        .map(|_| ())
        .map_err(|e| err(e.to_string()))
}

pub(crate) fn timezone(lit: &LitStr) -> Result<()> {
    let v = lit.value();
    if v.parse::<chrono_tz::Tz>().is_ok() {
        return Ok(());
    }
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    let near = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&v))
        .copied()
        .or_else(|| closest(&v, &names));
    let mut msg = format!(
        "unknown time zone `{v}`; expected an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`"
    );
    if let Some(n) = near {
        msg.push_str(&format!("\nhelp: did you mean `{n}`?"));
    }
    Err(Error::new(lit.span(), msg))
}

/// The doc comment of an item, lines joined.
pub(crate) fn doc_string(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let line = s.value();
            lines.push(
                line.strip_prefix(' ')
                    .unwrap_or(&line)
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    lines.join("\n").trim().to_owned()
}

/// The source of a fn as written, for reports: its lines (attributes, doc comment and the
/// attribute being expanded included) read from the file the compiler is reading, with the
/// common indentation removed. Falls back to the token text when the spans do not lead to a
/// file holding this fn (e.g. a fn generated by another macro).
pub(crate) fn source_text(func: &syn::ItemFn) -> String {
    source_lines(func).unwrap_or_else(|| func.to_token_stream().to_string())
}

fn source_lines(func: &syn::ItemFn) -> Option<String> {
    if !proc_macro::is_available() {
        return None;
    }
    // Spans cannot be joined on stable, but their lines and file are known (Rust 1.88).
    let first = func.to_token_stream().into_iter().next()?.span().unwrap();
    let call = proc_macro::Span::call_site();
    let last = func.block.brace_token.span.close().unwrap();
    let file = first.local_file()?;
    if last.local_file().as_ref() != Some(&file) {
        return None;
    }
    let start = if call.local_file().as_ref() == Some(&file) {
        first.line().min(call.line())
    } else {
        first.line()
    };
    let end = last.line();
    let text = std::fs::read_to_string(&file).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .skip(start.checked_sub(1)?)
        .take(end.checked_sub(start)? + 1)
        .collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect();
    let body = body.join("\n");
    // Those lines must be this fn and nothing else: a fn whose tokens come from a macro's
    // definition and its call, or with `$` variables, does not read back as this fn.
    let parsed: syn::ItemFn = syn::parse_str(&body).ok()?;
    (parsed.sig.ident == func.sig.ident && parsed.block.stmts.len() == func.block.stmts.len())
        .then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s"), Ok(2_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn duration_messages() {
        assert_eq!(
            parse_duration("5 minutes"),
            Err("unknown unit `minutes`".to_owned())
        );
        assert_eq!(parse_duration("5 m"), Err("it contains a space".to_owned()));
        assert_eq!(suggest_duration("5 minutes").as_deref(), Some("5m"));
        assert_eq!(suggest_duration("1 hour 30 mins").as_deref(), Some("1h30m"));
        assert_eq!(suggest_duration("5m"), None);
        assert_eq!(suggest_duration("5 fortnights"), None);
    }

    #[test]
    fn dates() {
        let err = |s: &str| {
            date(&LitStr::new(s, Span::call_site()))
                .unwrap_err()
                .to_string()
        };
        assert!(date(&LitStr::new("2024-02-29T06:30", Span::call_site())).is_ok());
        assert!(err("2023-02-29").contains("February 2023 has 28 days"));
        assert!(err("2024-13-01").contains("month `13`"));
        assert!(err("01/02/2024").contains("expected `YYYY-MM-DD`"));
        assert!(err("2024-01-01T24:00:00").contains("out of range"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("@dialy", PRESETS), Some("@daily"));
        assert_eq!(
            closest("schedul", &["schedule", "start_date"]),
            Some("schedule")
        );
        assert_eq!(closest("zzzzzz", &["schedule"]), None);
    }
}
