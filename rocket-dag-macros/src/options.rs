//! Parsing and validating option values: durations, dates, schedules, time zones, trigger rules,
//! and the "did you mean" suggestions shared by both attributes.

use proc_macro2::{Span, TokenStream};
use quote::quote;
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

pub(crate) use rocket_dag_core::names::closest;
use rocket_dag_core::names::{TASK_OPTIONS, expected_one_of};

/// An option `#[attr]` does not take: neither one of its `own` nor a task option.
pub(crate) fn unknown_option(attr: &str, own: &[&str], name: &Ident) -> Error {
    let accepted: Vec<&str> = own.iter().chain(TASK_OPTIONS).copied().collect();
    Error::new(
        name.span(),
        format!(
            "unknown `#[{attr}]` option `{name}`; {}",
            expected_one_of(&name.to_string(), &accepted)
        ),
    )
}

/// Parses `#[attr(a = 1, b, …)]` option by option: the task options (which both attributes
/// take) into `task`, any other with `parse`. An error is recorded and parsing goes on with the
/// next option, so one build reports every bad option.
pub(crate) fn parse_options(
    args: TokenStream,
    errors: &mut Errors,
    task: &mut TaskOpts,
    mut parse: impl FnMut(&Ident, &ParseNestedMeta<'_>) -> Result<()>,
) {
    let parser = syn::meta::parser(|meta| {
        let result = match meta.path.get_ident() {
            Some(name) => match task.parse(name, &meta) {
                Ok(false) => parse(name, &meta),
                parsed => parsed.map(drop),
            },
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

/// `all_success` → `AllSuccess`: the variant of the runtime's enum a name stands for.
fn variant(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

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
                let variant = choice(&lit, "trigger rule", rocket_dag_core::names::TRIGGER_RULES)?;
                self.trigger_rule.set(name, variant)?;
            }
            "layer" => {
                let lit: LitStr = meta.value()?.parse()?;
                let variant = choice(&lit, "layer", rocket_dag_core::names::LAYERS)?;
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

fn choice(lit: &LitStr, what: &str, names: &[&str]) -> Result<Ident> {
    let v = lit.value();
    if names.contains(&v.as_str()) {
        return Ok(Ident::new(&variant(&v), lit.span()));
    }
    Err(Error::new(
        lit.span(),
        format!("unknown {what} `{v}`; {}", expected_one_of(&v, names)),
    ))
}

/// Checks `lit` with one of the runtime's rules (rocket_dag_core), so the macro and the runtime
/// cannot disagree; the rule's message is reported at the literal.
fn rule<T, E: std::fmt::Display>(
    lit: &LitStr,
    check: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Result<T> {
    check(&lit.value()).map_err(|e| Error::new(lit.span(), e))
}

/// A duration option, in milliseconds ([`rocket_dag_core::duration`]).
fn duration(meta: &ParseNestedMeta<'_>) -> Result<u64> {
    let lit: LitStr = meta.value()?.parse()?;
    rule(&lit, rocket_dag_core::duration::parse).map(|d| d.as_millis() as u64)
}

/// A string option's literal (`name = "…"`), checked by `check`.
pub(crate) fn checked_str(
    meta: &ParseNestedMeta<'_>,
    check: fn(&LitStr) -> Result<()>,
) -> Result<LitStr> {
    let lit: LitStr = meta.value()?.parse()?;
    check(&lit)?;
    Ok(lit)
}

/// A start or end date, checked ([`rocket_dag_core::date`]); the runtime reads the same text.
pub(crate) fn date(lit: &LitStr) -> Result<()> {
    rule(lit, rocket_dag_core::date::parse).map(drop)
}

/// A schedule, checked as the runtime will parse it ([`rocket_dag_core::schedule`]).
pub(crate) fn schedule(lit: &LitStr) -> Result<()> {
    rule(lit, rocket_dag_core::schedule::parse).map(drop)
}

/// A time zone, checked ([`rocket_dag_core::timezone`]).
pub(crate) fn timezone(lit: &LitStr) -> Result<()> {
    rule(lit, rocket_dag_core::timezone::parse).map(drop)
}

/// A task id (`#[task(id = "…")]`, `.task_id("…")`), checked ([`rocket_dag_core::ids`]).
pub(crate) fn task_id(lit: &LitStr) -> Result<()> {
    rule(lit, |id| {
        rocket_dag_core::ids::task(id).map_err(airflows_rule)
    })
}

/// A DAG id (`#[dag(id = "…")]`), checked ([`rocket_dag_core::ids`]).
pub(crate) fn dag_id(lit: &LitStr) -> Result<()> {
    rule(lit, |id| {
        rocket_dag_core::ids::dag(id).map_err(airflows_rule)
    })
}

/// An id rule's message, saying whose rule it is.
fn airflows_rule(e: rocket_dag_core::ids::InvalidId) -> String {
    format!("{e} (Airflow's rule)")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rules themselves are tested in rocket-dag-core; here, how the macro applies them.
    #[test]
    fn names_become_variants() {
        assert_eq!(variant("all_success"), "AllSuccess");
        assert_eq!(
            variant("none_failed_min_one_success"),
            "NoneFailedMinOneSuccess"
        );
        assert_eq!(variant("source"), "Source");
    }

    #[test]
    fn errors_carry_the_rules_messages() {
        let lit = |s: &str| LitStr::new(s, Span::call_site());
        assert!(date(&lit("2024-02-29T06:30")).is_ok());
        let e = date(&lit("2023-02-29")).unwrap_err().to_string();
        assert!(e.contains("February 2023 has 28 days"), "{e}");
        let e = schedule(&lit("@dialy")).unwrap_err().to_string();
        assert!(e.contains("did you mean `@daily`?"), "{e}");
    }
}
