//! `#[dag]`: reads the body as a graph (calls wire data, `>>` orders), rejects unknown handles,
//! duplicate ids and cycles with the path, and emits a fn that builds the `Dag` value.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprArray, ExprCall, ExprMethodCall, Ident, ItemFn, Lit, LitBool, LitInt, LitStr, Pat, Stmt};

use crate::options::{self, Errors, Opt, TASK_OPTIONS};

const DAG_OPTIONS: &[&str] = &[
    "id",
    "schedule",
    "start_date",
    "end_date",
    "catchup",
    "timezone",
    "max_active_tasks",
    "max_active_runs",
    "tags",
    "description",
];

#[derive(Default)]
struct DagArgs {
    id: Opt<LitStr>,
    schedule: Opt<LitStr>,
    start_date: Opt<TokenStream>,
    end_date: Opt<TokenStream>,
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
    let accepted: Vec<&str> = DAG_OPTIONS.iter().chain(TASK_OPTIONS).copied().collect();
    let parser = syn::meta::parser(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error("expected an option name"));
        };
        if out.defaults.parse(&name, &meta)? {
            return Ok(());
        }
        match name.to_string().as_str() {
            "id" => {
                let lit: LitStr = meta.value()?.parse()?;
                crate::task::check_id(&lit)?;
                out.id.set(&name, lit)
            }
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
                    return out.schedule.set(&name, LitStr::new("None", ident.span()));
                }
                let lit: LitStr = value.parse()?;
                options::schedule(&lit)?;
                out.schedule.set(&name, lit)
            }
            "start_date" => {
                let lit: LitStr = meta.value()?.parse()?;
                out.start_date.set(&name, options::date(&lit)?)
            }
            "end_date" => {
                let lit: LitStr = meta.value()?.parse()?;
                out.end_date.set(&name, options::date(&lit)?)
            }
            "catchup" => out.catchup.set(&name, meta.value()?.parse()?),
            "timezone" => {
                let lit: LitStr = meta.value()?.parse()?;
                options::timezone(&lit)?;
                out.timezone.set(&name, lit)
            }
            "max_active_tasks" | "max_active_runs" => {
                let lit: LitInt = meta.value()?.parse()?;
                if lit.base10_parse::<usize>()? == 0 {
                    return Err(syn::Error::new(lit.span(), format!("`{name}` must be at least 1")));
                }
                if name == "max_active_tasks" {
                    out.max_active_tasks.set(&name, lit)
                } else {
                    out.max_active_runs.set(&name, lit)
                }
            }
            "tags" => {
                let arr: ExprArray = meta.value()?.parse()?;
                let mut tags = Vec::new();
                for e in arr.elems {
                    match e {
                        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => tags.push(s),
                        other => {
                            return Err(syn::Error::new(other.span(), "expected a string tag"));
                        }
                    }
                }
                out.tags.set(&name, tags)
            }
            "description" => out.description.set(&name, meta.value()?.parse()?),
            _ => Err(options::unknown_option("dag", &name, &accepted)),
        }
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
    out
}

/// A task instance in the DAG body.
struct Node {
    id: String,
    id_expr: TokenStream,
    var: Ident,
}

/// The DAG body, read as a graph.
struct Graph<'e> {
    errors: &'e mut Errors,
    nodes: Vec<Node>,
    /// Handle name → node, the latest `let` wins (shadowing).
    handles: HashMap<String, usize>,
    downstream: Vec<Vec<usize>>,
    ids: HashMap<String, usize>,
    stmts: Vec<TokenStream>,
}

impl Graph<'_> {
    fn reaches(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        // Depth-first search returning the path from `from` to `to`.
        let mut stack = vec![(from, vec![from])];
        let mut seen = vec![false; self.nodes.len()];
        while let Some((n, path)) = stack.pop() {
            if n == to {
                return Some(path);
            }
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            for &d in &self.downstream[n] {
                let mut p = path.clone();
                p.push(d);
                stack.push((d, p));
            }
        }
        None
    }

    /// Adds `from → to`, rejecting self-edges and cycles at `at`.
    fn add_edge(&mut self, from: usize, to: usize, at: Span) -> bool {
        if from == to {
            let id = &self.nodes[from].id;
            self.errors.push(syn::Error::new(
                at,
                format!("task `{id}` cannot depend on itself: `{id} -> {id}`"),
            ));
            return false;
        }
        if let Some(path) = self.reaches(to, from) {
            let mut names: Vec<&str> = vec![&self.nodes[from].id];
            names.extend(path.iter().map(|&i| self.nodes[i].id.as_str()));
            self.errors.push(syn::Error::new(
                at,
                format!(
                    "this edge closes a cycle: `{}`\n\nnote: a DAG cannot have cycles; remove one of these edges",
                    names.join(" -> ")
                ),
            ));
            return false;
        }
        if !self.downstream[from].contains(&to) {
            self.downstream[from].push(to);
        }
        true
    }

    /// A handle named in the body.
    fn handle(&mut self, ident: &Ident) -> Option<usize> {
        let name = ident.to_string();
        match self.handles.get(&name) {
            Some(&n) => Some(n),
            None => {
                let known: Vec<&str> = self.handles.keys().map(String::as_str).collect();
                let mut msg = format!(
                    "unknown task `{name}` in this DAG; a task is named by the variable its call is bound to (`let {name} = some_task(..);`)"
                );
                if let Some(c) = options::closest(&name, &known) {
                    msg.push_str(&format!("\n\nhelp: did you mean `{c}`?"));
                }
                self.errors.push(syn::Error::new(ident.span(), msg));
                None
            }
        }
    }

    /// A task call, possibly `.task_id("…")`-renamed, possibly with nested calls as arguments.
    fn call(&mut self, expr: &Expr) -> Option<usize> {
        let (call, rename) = match expr {
            Expr::Call(c) => (c, None),
            Expr::MethodCall(ExprMethodCall {
                receiver,
                method,
                args,
                ..
            }) if method == "task_id" => {
                let Expr::Call(c) = &**receiver else {
                    self.errors.push(syn::Error::new(
                        receiver.span(),
                        "`.task_id(\"…\")` goes right after a task call: `let b = fetch(a).task_id(\"fetch_b\");`",
                    ));
                    return None;
                };
                let lit = match args.first() {
                    Some(Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. })) if args.len() == 1 => s.clone(),
                    _ => {
                        self.errors.push(syn::Error::new(
                            method.span(),
                            "`.task_id(…)` takes one string literal",
                        ));
                        return None;
                    }
                };
                if let Err(e) = crate::task::check_id(&lit) {
                    self.errors.push(e);
                    return None;
                }
                (c, Some(lit))
            }
            other => {
                self.errors.push(unsupported(other.span()));
                return None;
            }
        };
        let ExprCall { func, args, .. } = call;
        let Expr::Path(path) = &**func else {
            self.errors.push(syn::Error::new(
                func.span(),
                "expected the name of a `#[task]` fn",
            ));
            return None;
        };
        let path = &path.path;
        let fn_ident = &path.segments.last()?.ident;
        let mut arg_tokens = Vec::new();
        let mut upstream = Vec::new();
        for a in args {
            match a {
                Expr::Path(p) if p.path.get_ident().is_some() => {
                    let ident = p.path.get_ident().expect("checked");
                    let n = self.handle(ident)?;
                    upstream.push(n);
                    // The user's own token, so a type mismatch points at it.
                    arg_tokens.push(quote!(#ident));
                }
                Expr::Call(_) | Expr::MethodCall(_) => {
                    let n = self.call(a)?;
                    upstream.push(n);
                    let var = &self.nodes[n].var;
                    let var = Ident::new(&var.to_string(), a.span());
                    arg_tokens.push(quote!(#var));
                }
                other => {
                    self.errors.push(syn::Error::new(
                        other.span(),
                        "a task argument must be a task handle (a variable bound to a task call) or a task call",
                    ));
                    return None;
                }
            }
        }
        let (id, id_span) = match &rename {
            Some(l) => (l.value(), l.span()),
            None => (fn_ident.to_string(), fn_ident.span()),
        };
        if self.ids.contains_key(&id) {
            let msg = if rename.is_some() {
                format!("task id `{id}` is used twice in this DAG")
            } else {
                format!(
                    "task `{id}` is used twice in this DAG with the same id\n\nhelp: give this one its own id: `{id}(..).task_id(\"{id}_2\")`"
                )
            };
            self.errors.push(syn::Error::new(id_span, msg));
            return None;
        }
        let n = self.nodes.len();
        self.ids.insert(id.clone(), n);
        self.downstream.push(Vec::new());
        for u in upstream {
            self.downstream[u].push(n);
        }
        let var = format_ident!("__rocket_dag_n{n}");
        let p = quote!(::rocket_dag::__private);
        let span = fn_ident.span();
        let method = Ident::new("__rocket_dag_call", span);
        let call_tokens = quote_spanned!(span=> (#path {}).#method(#(#arg_tokens),*));
        let add = match &rename {
            Some(lit) => quote!(#p::add_as(&mut __rocket_dag_builder, #call_tokens, #lit)),
            None => quote!(#p::add(&mut __rocket_dag_builder, #call_tokens)),
        };
        self.stmts.push(quote!(let #var = #add;));
        // The id the runtime will use: a default id may differ from the fn name when the task
        // says `#[task(id = "…")]`, so duplicates among those are caught in const evaluation.
        let id_expr = match &rename {
            Some(lit) => quote!(#lit),
            None => quote_spanned!(span=> <#path as #p::Task>::ID),
        };
        self.nodes.push(Node { id, id_expr, var });
        Some(n)
    }

    /// One side of `>>`: a handle, a call, or a list of them.
    fn operand(&mut self, expr: &Expr) -> Option<Vec<usize>> {
        match expr {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                Some(vec![self.handle(p.path.get_ident().expect("checked"))?])
            }
            Expr::Array(arr) => {
                let mut out = Vec::new();
                for e in &arr.elems {
                    out.extend(self.operand(e)?);
                }
                Some(out)
            }
            Expr::Call(_) | Expr::MethodCall(_) => Some(vec![self.call(expr)?]),
            Expr::Paren(p) => self.operand(&p.expr),
            other => {
                self.errors.push(syn::Error::new(
                    other.span(),
                    "expected a task handle, a task call or a list `[a, b]` around `>>`",
                ));
                None
            }
        }
    }

    /// `a >> b >> [c, d]` (left-associative) and `a << b`; returns the rightmost operand.
    fn chain(&mut self, expr: &Expr) -> Option<Vec<usize>> {
        match expr {
            Expr::Binary(b) if matches!(b.op, BinOp::Shr(_) | BinOp::Shl(_)) => {
                let left = self.chain(&b.left)?;
                let right = self.operand(&b.right)?;
                let (from, to, at) = match b.op {
                    BinOp::Shr(t) => (&left, &right, t.span()),
                    BinOp::Shl(t) => (&right, &left, t.span()),
                    _ => unreachable!(),
                };
                let mut ok = true;
                for &f in from {
                    for &t in to {
                        if self.add_edge(f, t, at) {
                            let (a, b) = (&self.nodes[f].var, &self.nodes[t].var);
                            self.stmts.push(quote!(__rocket_dag_builder.edge(#a, #b);));
                        } else {
                            ok = false;
                        }
                    }
                }
                ok.then_some(right)
            }
            other => self.operand(other),
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => {
                let ident = match &local.pat {
                    Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
                    Pat::Wild(_) => None,
                    other => {
                        self.errors.push(syn::Error::new(
                            other.span(),
                            "bind a task to a plain variable name: `let launches = download_launches();`",
                        ));
                        return;
                    }
                };
                let Some(init) = &local.init else {
                    self.errors.push(syn::Error::new(
                        local.span(),
                        "a `let` in a DAG binds a task call: `let x = task(..);`",
                    ));
                    return;
                };
                if let Some(n) = self.call(&init.expr) {
                    if let Some(ident) = ident {
                        let var = &self.nodes[n].var;
                        self.stmts.push(quote!(let #ident = #var; let _ = &#ident;));
                        self.handles.insert(ident.to_string(), n);
                    }
                }
            }
            Stmt::Expr(expr, _) => match expr {
                Expr::Binary(b) if matches!(b.op, BinOp::Shr(_) | BinOp::Shl(_)) => {
                    self.chain(expr);
                }
                Expr::Call(_) | Expr::MethodCall(_) => {
                    self.call(expr);
                }
                other => self.errors.push(unsupported(other.span())),
            },
            other => self.errors.push(unsupported(other.span())),
        }
    }
}

fn unsupported(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "unsupported statement in a `#[dag]` body; expected `let x = task(..);`, `task(..);` or an edge such as `a >> b;`, `a >> [b, c];`",
    )
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse_args(args, &mut errors);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#item #e);
        }
    };
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new(
            a.span(),
            "a `#[dag]` fn is not async: it only declares the graph",
        ));
    }
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new(
            sig.inputs.span(),
            "a `#[dag]` fn takes no parameters",
        ));
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        errors.push(syn::Error::new(
            ty.span(),
            "a `#[dag]` fn has no return type: the macro makes it return `rocket_dag::Dag`",
        ));
    }

    let mut graph = Graph {
        errors: &mut errors,
        nodes: Vec::new(),
        handles: HashMap::new(),
        downstream: Vec::new(),
        ids: HashMap::new(),
        stmts: Vec::new(),
    };
    for stmt in &func.block.stmts {
        graph.stmt(stmt);
    }
    let stmts = std::mem::take(&mut graph.stmts);
    let nodes = std::mem::take(&mut graph.nodes);
    let task_ids: Vec<&TokenStream> = nodes.iter().map(|n| &n.id_expr).collect();
    drop(graph);

    let p = quote!(::rocket_dag::__private);
    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &sig.ident;
    let dag_id = parsed
        .id
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| name.to_string());

    if !errors.is_empty() {
        let errors = errors.into_tokens();
        return quote! {
            #(#attrs)*
            #vis fn #name() -> ::rocket_dag::Dag {
                #p::invalid_dag(#dag_id)
            }
            #errors
        };
    }

    let description = parsed
        .description
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| options::doc_string(attrs));
    let mut opts = quote!(#p::DagOptions::default().description(#description));
    if let Some(s) = &parsed.schedule.value {
        opts.extend(quote!(.schedule(#p::schedule(#s))));
    }
    if let Some(d) = &parsed.start_date.value {
        opts.extend(quote!(.start_date(#d)));
    }
    if let Some(d) = &parsed.end_date.value {
        opts.extend(quote!(.end_date(#d)));
    }
    if let Some(c) = &parsed.catchup.value {
        opts.extend(quote!(.catchup(#c)));
    }
    if let Some(tz) = &parsed.timezone.value {
        opts.extend(quote!(.timezone(#p::timezone(#tz))));
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
    let source = options::source_text(&func);

    quote! {
        #(#attrs)*
        #vis fn #name() -> ::rocket_dag::Dag {
            let mut __rocket_dag_builder = #p::DagBuilder::new(#dag_id)
                .options(#p::with_source(#opts, #source));
            const _: () = #p::assert_unique_ids(&[#(#task_ids),*]);
            #(#stmts)*
            #p::build(__rocket_dag_builder)
        }
    }
}
