//! `#[dag]`: the options and the emitted fn that builds the `Dag` value; the body is read as a
//! graph in `graph`, which rejects unknown handles, duplicate ids and cycles with the path.

mod graph;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, Ident, Lit, LitBool, LitInt, LitStr, Signature};

use crate::item::{doc_string, parse_fn, source_text};
use crate::options::{self, Errors, Opt, checked_str};
use crate::private;
use graph::{Graph, Node};
use rocket_dag_core::names::DAG_OPTIONS;

#[derive(Default)]
struct DagArgs {
    id: Opt<LitStr>,
    schedule: Opt<LitStr>,
    start_date: Opt<LitStr>,
    end_date: Opt<LitStr>,
    catchup: Opt<LitBool>,
    timezone: Opt<LitStr>,
    max_active_tasks: Opt<LitInt>,
    max_active_runs: Opt<LitInt>,
    tags: Opt<Vec<LitStr>>,
    description: Opt<LitStr>,
    defaults: options::TaskOpts,
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> DagArgs {
    let mut out = DagArgs::default();
    options::parse_options(args, errors, &mut out.defaults, |name, meta| {
        match name.to_string().as_str() {
            "id" => out.id.set(name, checked_str(meta, options::dag_id)?),
            "schedule" => {
                let value = meta.value()?;
                // `schedule = None` as in Airflow.
                if value.peek(Ident) {
                    let ident: Ident = value.parse()?;
                    if ident != "None" {
                        return Err(syn::Error::new(
                            ident.span(),
                            "expected a schedule string such as `\"@daily\"` or `None`",
                        ));
                    }
                    return out.schedule.set(name, LitStr::new("None", ident.span()));
                }
                let lit: LitStr = value.parse()?;
                options::schedule(&lit)?;
                out.schedule.set(name, lit)
            }
            "start_date" => out.start_date.set(name, checked_str(meta, options::date)?),
            "end_date" => out.end_date.set(name, checked_str(meta, options::date)?),
            "catchup" => out.catchup.set(name, meta.value()?.parse()?),
            "timezone" => out
                .timezone
                .set(name, checked_str(meta, options::timezone)?),
            "max_active_tasks" | "max_active_runs" => {
                let lit: LitInt = meta.value()?.parse()?;
                if lit.base10_parse::<usize>()? == 0 {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!("`{name}` must be at least 1"),
                    ));
                }
                if name == "max_active_tasks" {
                    out.max_active_tasks.set(name, lit)
                } else {
                    out.max_active_runs.set(name, lit)
                }
            }
            "tags" => {
                let arr: ExprArray = meta.value()?.parse()?;
                let mut tags = Vec::new();
                for e in arr.elems {
                    match e {
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) => tags.push(s),
                        other => {
                            return Err(syn::Error::new(other.span(), "expected a string tag"));
                        }
                    }
                }
                out.tags.set(name, tags)
            }
            "description" => out.description.set(name, meta.value()?.parse()?),
            _ => Err(options::unknown_option("dag", DAG_OPTIONS, name)),
        }
    });
    out
}

/// `#[dag(args)]` on `item`: a fn of the same name that builds the `Dag`, then the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse_args(args, &mut errors);
    let func = match parse_fn(item) {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    check_signature(&func.sig, &mut errors);
    let Graph {
        nodes,
        items,
        stmts,
        ..
    } = Graph::read(&func.block, &mut errors);
    let unique_ids = unique_id_checks(&nodes);
    let p = quote!(::rocket_dag::__private);
    let (attrs, vis, name) = (&func.attrs, &func.vis, &func.sig.ident);
    let dag_id = parsed
        .id
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| name.to_string());
    let (opts, text_options) = dag_options(&parsed, attrs);
    let source = source_text(&func);

    // Emitted even when there are errors (they come last), so the fn exists, every task is
    // still used and type-checked, and one mistake reports once.
    let errors = errors.into_tokens();
    quote! {
        #(#attrs)*
        #vis fn #name() -> #p::Dag {
            #(#items)*
            #(#unique_ids)*
            #[allow(unused_mut)]
            let mut __rocket_dag_builder = #p::DagBuilder::new(#dag_id)
                .options(#p::with_source(#opts, #source))
                #(#text_options)*;
            #(#stmts)*
            #p::build(__rocket_dag_builder)
        }
        #errors
    }
}

/// A `#[dag]` fn is a plain fn without generics, parameters or return type.
fn check_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new(
            a.span(),
            "a `#[dag]` fn is not `async`: it only declares the graph",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "a `#[dag]` fn cannot be generic",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "a `#[dag]` fn takes no parameters",
        ));
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        errors.push(syn::Error::new_spanned(
            ty,
            "a `#[dag]` fn has no return type: the macro makes it return `rocket_dag::Dag`",
        ));
    }
}

/// Each task's runtime id must differ from those declared before it; ids set with
/// `#[task(id = "…")]` are only known to the compiler, so const evaluation checks them and
/// reports at the later task's call.
fn unique_id_checks(nodes: &[Node]) -> Vec<TokenStream> {
    let checks = nodes.iter().enumerate().skip(1).map(|(j, node)| {
        let earlier = nodes[..j].iter().map(|m| {
            let (id, name) = (&m.id_expr, &m.name);
            quote!((#id, #name))
        });
        let (id, name) = (&node.id_expr, &node.name);
        let p = private(node.span);
        quote_spanned! {node.span=>
            const _: () = #p::assert_unique_id(#id, #name, &[#(#earlier),*]);
        }
    });
    checks.collect()
}

/// The `DagOptions` value, and the `.option_text(…)` calls that pass options written as text.
fn dag_options(parsed: &DagArgs, attrs: &[syn::Attribute]) -> (TokenStream, Vec<TokenStream>) {
    let p = quote!(::rocket_dag::__private);
    let description = parsed
        .description
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| doc_string(attrs));
    let mut opts = quote!(#p::DagOptions::default().description(#description));
    // Options written as text go to the runtime as text: it reads them with the rules they
    // were just checked by (rocket_dag_core), so they cannot disagree.
    let mut text_options = Vec::new();
    match &parsed.schedule.value {
        Some(s) if s.value() == "None" => opts.extend(quote!(.schedule(#p::Schedule::None))),
        Some(s) => text_options.push(quote!(.option_text("schedule", #s))),
        None => {}
    }
    for (name, value) in [
        ("start_date", &parsed.start_date.value),
        ("end_date", &parsed.end_date.value),
        ("timezone", &parsed.timezone.value),
    ] {
        if let Some(v) = value {
            text_options.push(quote!(.option_text(#name, #v)));
        }
    }
    if let Some(c) = &parsed.catchup.value {
        opts.extend(quote!(.catchup(#c)));
    }
    if let Some(n) = &parsed.max_active_tasks.value {
        opts.extend(quote!(.max_active_tasks(#n)));
    }
    if let Some(n) = &parsed.max_active_runs.value {
        opts.extend(quote!(.max_active_runs(#n)));
    }
    if let Some(tags) = &parsed.tags.value {
        opts.extend(quote!(.tags([#(#tags),*])));
    }
    let defaults = parsed.defaults.to_tokens();
    opts.extend(quote!(.default_task_options(#defaults)));
    (opts, text_options)
}
