//! The body of a `#[dag]` fn read as a graph: task calls wire data, `>>` and `<<` order tasks.
//! Unknown handles, duplicate ids, self-edges and cycles are rejected at the user's tokens; what
//! is read becomes the statements of the generated fn.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{BinOp, Expr, ExprCall, ExprMethodCall, Ident, Lit, LitStr, Pat, Stmt};

use crate::options::{self, Errors};
use crate::private;

/// A task instance in the DAG body.
pub(super) struct Node {
    /// Its id as far as the macro knows: the fn name or the `.task_id("…")`.
    id: String,
    /// The task as written (`tasks::fetch`), for messages.
    pub(super) name: String,
    /// The id the runtime will use: `<T as Task>::ID` (which `#[task(id = "…")]` may set) or
    /// the `.task_id("…")` literal.
    pub(super) id_expr: TokenStream,
    /// The generated variable holding its handle.
    var: Ident,
    /// Where a duplicate id found in const evaluation is reported.
    pub(super) span: Span,
}

/// A task call before it is checked: the task's path, its arguments (each marked when the call
/// maps over it) and the parentheses rustc points at for arity errors.
struct Invocation<'x> {
    func: &'x Expr,
    args: Vec<(&'x Expr, bool)>,
    paren: syn::token::Paren,
    mapped: bool,
}

/// The DAG body, read as a graph.
pub(super) struct Graph<'e> {
    errors: &'e mut Errors,
    pub(super) nodes: Vec<Node>,
    /// Handle name → node, the latest `let` wins (shadowing). `None` marks a handle whose task
    /// call had an error, already reported: its uses are skipped so one mistake reports once.
    handles: HashMap<String, Option<usize>>,
    downstream: Vec<Vec<usize>>,
    /// Ids the macro can compare: `.task_id` literals, and default ids keyed by the task's path
    /// (two paths may still share an id through `#[task(id = "…")]`: const evaluation checks).
    ids: HashMap<String, usize>,
    /// Items of the generated fn: one type alias per task call.
    pub(super) items: Vec<TokenStream>,
    pub(super) stmts: Vec<TokenStream>,
}

/// What a `#[dag]` body may hold, for messages.
const BODY: &str = "note: a `#[dag]` body holds task calls (`let x = task(..);`, `task(..);`) and edges (`a >> b;`, `a >> [b, c];`)";

impl<'e> Graph<'e> {
    /// Reads a `#[dag]` body, statement by statement.
    pub(super) fn read(body: &syn::Block, errors: &'e mut Errors) -> Graph<'e> {
        let mut graph = Graph {
            errors,
            nodes: Vec::new(),
            handles: HashMap::new(),
            downstream: Vec::new(),
            ids: HashMap::new(),
            items: Vec::new(),
            stmts: Vec::new(),
        };
        for stmt in &body.stmts {
            graph.stmt(stmt);
        }
        graph
    }

    /// Adds `from → to`, rejecting self-edges and cycles at the operator `op`.
    fn add_edge(&mut self, from: usize, to: usize, op: &BinOp) -> bool {
        if from == to {
            let id = &self.nodes[from].id;
            self.errors.push(syn::Error::new_spanned(
                op,
                format!("task `{id}` cannot depend on itself: `{id} -> {id}`"),
            ));
            return false;
        }
        // The runtime's own check (rocket_dag_core::graph), with this edge added.
        let mut upstream = vec![Vec::new(); self.nodes.len()];
        for (f, downs) in self.downstream.iter().enumerate() {
            for &d in downs {
                upstream[d].push(f);
            }
        }
        upstream[to].push(from);
        if let Err(cycle) = rocket_dag_core::graph::topological_order(&upstream) {
            let names: Vec<&str> = cycle.iter().map(|&i| self.nodes[i].id.as_str()).collect();
            self.errors.push(syn::Error::new_spanned(
                op,
                format!(
                    "this edge closes a cycle: `{}`\nhelp: a DAG cannot have cycles; remove one of these dependencies",
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
        if let Some(&n) = self.handles.get(&name) {
            return n;
        }
        let mut known: Vec<&str> = self.handles.keys().map(String::as_str).collect();
        known.sort_unstable(); // a deterministic suggestion among equally close names
        let help = match options::closest(&name, &known) {
            Some(c) => format!("help: did you mean `{c}`?"),
            None => format!(
                "help: a task is named by the variable its call is bound to: `let {name} = some_task(..);`"
            ),
        };
        self.reject(syn::Error::new(
            ident.span(),
            format!("cannot find task `{name}` in this DAG\n{help}"),
        ))
    }

    /// A task call as written: `task(a, b)`, `task.expand(list)` or
    /// `task.partial(a).expand(list)`.
    fn invocation<'x>(&mut self, expr: &'x Expr) -> Option<Invocation<'x>> {
        match expr {
            Expr::Call(ExprCall {
                func,
                args,
                paren_token,
                ..
            }) => Some(Invocation {
                func,
                args: args.iter().map(|a| (a, false)).collect(),
                paren: *paren_token,
                mapped: false,
            }),
            Expr::MethodCall(ExprMethodCall {
                receiver,
                method,
                args,
                paren_token,
                ..
            }) if method == "expand" => {
                if args.is_empty() {
                    return self.reject(syn::Error::new(
                        method.span(),
                        "`.expand(…)` takes the list(s) to map the task over, such as `get_picture.expand(urls)`",
                    ));
                }
                let (func, partial): (&Expr, Vec<&Expr>) = match &**receiver {
                    Expr::MethodCall(m) if m.method == "partial" => {
                        (&m.receiver, m.args.iter().collect())
                    }
                    other => (other, Vec::new()),
                };
                let mut all: Vec<(&Expr, bool)> = partial.into_iter().map(|a| (a, false)).collect();
                all.extend(args.iter().map(|a| (a, true)));
                Some(Invocation {
                    func,
                    args: all,
                    paren: *paren_token,
                    mapped: true,
                })
            }
            Expr::MethodCall(m) if m.method == "partial" => {
                self.reject(syn::Error::new(
                    m.method.span(),
                    "`.partial(…)` fixes the first arguments of a mapped task; follow it with `.expand(list)`",
                ))
            }
            Expr::MethodCall(m) => {
                self.reject(syn::Error::new(
                    m.method.span(),
                    format!(
                        "unknown method `{}` on a task call; expected `.task_id(\"…\")`, `.expand(…)` or `.partial(…)`",
                        m.method
                    ),
                ))
            }
            other => {
                self.reject(syn::Error::new_spanned(
                    other,
                    "expected a task call, such as `fetch()` or `report(data)`",
                ))
            }
        }
    }

    /// A task call, possibly `.task_id("…")`-renamed, possibly mapped, possibly with nested
    /// calls as arguments.
    fn call(&mut self, expr: &Expr) -> Option<usize> {
        let (inner, rename) = self.rename(expr)?;
        let Invocation {
            func,
            args,
            paren,
            mapped,
        } = self.invocation(inner)?;
        let (path, fn_ident) = self.task_path(func)?;
        let (arg_tokens, upstream) = self.arguments(&args)?;
        let name = quote!(#path).to_string().replace(' ', "");
        let (id, id_span) = self.claim_id(&name, fn_ident, rename.as_ref(), args.is_empty())?;
        let n = self.nodes.len();
        self.downstream.push(Vec::new());
        for u in upstream {
            self.downstream[u].push(n);
        }
        let var = format_ident!("__rocket_dag_n{n}");
        let span = fn_ident.span();
        // One alias per call: an unknown task fn is reported once, at the user's path, and the
        // call and the id check below go through the alias without more errors. The marker is
        // in the type namespace, so rustc words it "cannot find type `x`" (with the right
        // "similar name" fix-it), and a fn without `#[task]` "expected type, found function";
        // the fn's own name is taken in the value namespace, so this cannot be avoided.
        let alias = format_ident!("__RocketDagTask{n}", span = span);
        self.items.push(quote!(type #alias = #path;));
        // `alias::task(a, b)` with the user's parentheses: the associated fn `#[task]` generates
        // makes arity and type errors point at this call.
        let mut args_group = TokenStream::new();
        paren.surround(&mut args_group, |t| t.extend(quote!(#(#arg_tokens),*)));
        let call_tokens = quote_spanned!(span=> #alias::#fn_ident #args_group);
        let add = add_call(call_tokens, rename.as_ref(), mapped);
        self.stmts.push(quote!(let #var = #add;));
        let id_expr = match &rename {
            Some(lit) => quote!(#lit),
            None => {
                let p = private(span);
                quote_spanned!(span=> <#alias as #p::Task>::ID)
            }
        };
        self.nodes.push(Node {
            id,
            name,
            id_expr,
            var,
            span: id_span,
        });
        Some(n)
    }

    /// Takes `.task_id("…")` off a call: the call, and the id it sets, checked.
    fn rename<'x>(&mut self, expr: &'x Expr) -> Option<(&'x Expr, Option<LitStr>)> {
        match expr {
            Expr::MethodCall(ExprMethodCall {
                receiver,
                method,
                args,
                ..
            }) if method == "task_id" => {
                if !matches!(&**receiver, Expr::Call(_) | Expr::MethodCall(_)) {
                    return self.reject(syn::Error::new(
                        method.span(),
                        "`.task_id(\"…\")` goes right after a task call: `let b = fetch(a).task_id(\"fetch_b\");`",
                    ));
                }
                let lit = match args.first() {
                    Some(Expr::Lit(syn::ExprLit {
                        lit: Lit::Str(s), ..
                    })) if args.len() == 1 => s.clone(),
                    _ => {
                        return self.reject(syn::Error::new(
                            method.span(),
                            "`.task_id(…)` takes one string literal, such as `.task_id(\"fetch_b\")`",
                        ));
                    }
                };
                if let Err(e) = options::task_id(&lit) {
                    return self.reject(e);
                }
                Some((&**receiver, Some(lit)))
            }
            other => Some((other, None)),
        }
    }

    /// The called task: its path as written, and the fn's name (the path's last segment).
    fn task_path<'x>(&mut self, func: &'x Expr) -> Option<(&'x syn::Path, &'x Ident)> {
        let path = match func {
            Expr::Path(p) if p.qself.is_none() => &p.path,
            other => {
                return self.reject(syn::Error::new_spanned(
                    other,
                    "expected the name of a `#[task]` fn",
                ));
            }
        };
        let last = path.segments.last()?;
        if !last.arguments.is_none() {
            return self.reject(syn::Error::new_spanned(
                &last.arguments,
                "a task call takes no generic arguments",
            ));
        }
        Some((path, &last.ident))
    }

    /// The call's arguments as the generated call passes them (`each(…)` where the call maps
    /// over one), and the upstream node of each; `None` once any is wrong (each is reported).
    fn arguments(&mut self, args: &[(&Expr, bool)]) -> Option<(Vec<TokenStream>, Vec<usize>)> {
        let mut arg_tokens = Vec::new();
        let mut upstream = Vec::new();
        let mut ok = true;
        for &(a, each) in args {
            match self.argument(a) {
                Some((n, tokens)) => {
                    upstream.push(n);
                    arg_tokens.push(if each {
                        let p = private(a.span());
                        quote_spanned!(a.span()=> #p::each(#tokens))
                    } else {
                        tokens
                    });
                }
                None => ok = false,
            }
        }
        ok.then_some((arg_tokens, upstream))
    }

    /// One argument: a handle or a nested task call, with the tokens that pass its handle.
    fn argument(&mut self, a: &Expr) -> Option<(usize, TokenStream)> {
        match a {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                let ident = p.path.get_ident().expect("checked");
                // The user's own token, so a type mismatch points at it.
                Some((self.handle(ident)?, quote!(#ident)))
            }
            Expr::Call(_) | Expr::MethodCall(_) => {
                let n = self.call(a)?;
                let var = Ident::new(&self.nodes[n].var.to_string(), a.span());
                Some((n, quote!(#var)))
            }
            other => self.reject(syn::Error::new_spanned(
                other,
                "a task argument must be a task handle (a variable bound to a task call) or a task call",
            )),
        }
    }

    /// Claims the id of a new node, rejecting one this DAG already uses: returns the id and
    /// where a clash only const evaluation sees (through `#[task(id = "…")]`) is reported.
    fn claim_id(
        &mut self,
        name: &str,
        fn_ident: &Ident,
        rename: Option<&LitStr>,
        no_args: bool,
    ) -> Option<(String, Span)> {
        let (id, key, id_span) = match rename {
            Some(l) => (l.value(), format!("\"{}\"", l.value()), l.span()),
            None => (fn_ident.to_string(), name.to_owned(), fn_ident.span()),
        };
        if self.ids.contains_key(&key) {
            let msg = match rename {
                Some(_) => format!(
                    "task id `{id}` is used twice in this DAG\nhelp: give this call another id, such as `.task_id(\"{id}_2\")`"
                ),
                None => {
                    let args = if no_args { "" } else { ".." };
                    format!(
                        "task `{name}` is used twice in this DAG\nhelp: give this call its own id: `{name}({args}).task_id(\"{id}_2\")`"
                    )
                }
            };
            return self.reject(syn::Error::new(id_span, msg));
        }
        self.ids.insert(key, self.nodes.len());
        Some((id, id_span))
    }

    /// Reports `error` and gives up on the construct it is about.
    fn reject<T>(&mut self, error: syn::Error) -> Option<T> {
        self.errors.push(error);
        None
    }

    /// One side of `>>`: a handle, a call, or a list of them.
    fn operand(&mut self, expr: &Expr) -> Option<Vec<usize>> {
        match expr {
            Expr::Path(p) if p.path.get_ident().is_some() => {
                Some(vec![self.handle(p.path.get_ident().expect("checked"))?])
            }
            Expr::Array(arr) => {
                let mut out = Vec::new();
                let mut ok = true;
                for e in &arr.elems {
                    match self.operand(e) {
                        Some(n) => out.extend(n),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            Expr::Call(_) | Expr::MethodCall(_) => Some(vec![self.call(expr)?]),
            Expr::Paren(p) => self.operand(&p.expr),
            other => self.reject(syn::Error::new_spanned(
                other,
                "expected a task handle, a task call or a list `[a, b]` beside `>>`",
            )),
        }
    }

    /// `a >> b >> [c, d]` (left-associative) and `a << b`; returns the rightmost operand.
    fn chain(&mut self, expr: &Expr) -> Option<Vec<usize>> {
        match expr {
            Expr::Binary(b) if matches!(b.op, BinOp::Shr(_) | BinOp::Shl(_)) => {
                let left = self.chain(&b.left);
                let right = self.operand(&b.right);
                let (left, right) = (left?, right?);
                let (from, to) = match b.op {
                    BinOp::Shr(_) => (&left, &right),
                    _ => (&right, &left),
                };
                let mut ok = true;
                for &f in from {
                    for &t in to {
                        if self.add_edge(f, t, &b.op) {
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
                self.binding(local);
            }
            Stmt::Expr(expr, _) => match expr {
                Expr::Binary(b) if matches!(b.op, BinOp::Shr(_) | BinOp::Shl(_)) => {
                    self.chain(expr);
                }
                Expr::Call(_) | Expr::MethodCall(_) => {
                    self.call(expr);
                }
                other => self.errors.push(unsupported_expr(other)),
            },
            Stmt::Macro(m) => self.errors.push(syn::Error::new_spanned(
                &m.mac.path,
                format!("macro calls are not supported in a `#[dag]` body\n{BODY}"),
            )),
            Stmt::Item(item) => self.errors.push(syn::Error::new(
                item.span(),
                format!(
                    "items are not supported in a `#[dag]` body; define them outside the fn\n{BODY}"
                ),
            )),
        }
    }

    /// `let x = task(..);` (or `let _ = …`): the call, and the handle it binds. `None` when
    /// the statement is wrong (reported); a handle whose call failed is still bound, to `None`.
    fn binding(&mut self, local: &syn::Local) -> Option<()> {
        let ident = match &local.pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p.ident.clone()),
            Pat::Wild(_) => None,
            other => {
                return self.reject(syn::Error::new_spanned(
                    other,
                    "bind a task to a plain variable name, such as `let launches = download_launches();`",
                ));
            }
        };
        let init = match &local.init {
            Some(init) if init.diverge.is_none() => &init.expr,
            _ => {
                return self.reject(syn::Error::new_spanned(
                    local,
                    "a `let` in a `#[dag]` body binds a task call, such as `let data = fetch();`",
                ));
            }
        };
        let n = match &**init {
            Expr::Call(_) | Expr::MethodCall(_) => self.call(init),
            other => self.reject(syn::Error::new_spanned(
                other,
                "expected a task call; a `let` in a `#[dag]` body binds one, such as `let data = fetch();`",
            )),
        };
        if let Some(ident) = ident {
            if let Some(n) = n {
                let var = &self.nodes[n].var;
                self.stmts.push(quote!(let #ident = #var; let _ = &#ident;));
            }
            self.handles.insert(ident.to_string(), n);
        }
        Some(())
    }
}

/// The error for an expression statement the DAG body cannot hold, at its first tokens.
fn unsupported_expr(expr: &Expr) -> syn::Error {
    let loops = "help: a `#[dag]` body declares a fixed graph; to build a graph in a loop, use `rocket_dag::DagBuilder`";
    let (at, what, help): (&dyn quote::ToTokens, &str, &str) = match expr {
        Expr::ForLoop(e) => (&e.for_token, "`for` loops are", loops),
        Expr::While(e) => (&e.while_token, "`while` loops are", loops),
        Expr::Loop(e) => (&e.loop_token, "`loop`s are", loops),
        Expr::If(e) => (&e.if_token, "`if` expressions are", ""),
        Expr::Match(e) => (&e.match_token, "`match` expressions are", ""),
        Expr::Macro(e) => (&e.mac.path, "macro calls are", ""),
        Expr::Binary(e) => {
            return syn::Error::new_spanned(
                e.op,
                format!(
                    "unsupported operator in a `#[dag]` body; expected `>>` or `<<` between tasks\n{BODY}"
                ),
            );
        }
        other => (other, "this expression is", ""),
    };
    let mut msg = format!("{what} not supported in a `#[dag]` body\n");
    msg.push_str(if help.is_empty() { BODY } else { help });
    syn::Error::new_spanned(at, msg)
}

/// `add(&mut builder, call)`, or `add_as`, `add_mapped`, `add_mapped_as` for a renamed or a
/// mapped call.
fn add_call(call: TokenStream, rename: Option<&LitStr>, mapped: bool) -> TokenStream {
    let p = quote!(::rocket_dag::__private);
    match (rename, mapped) {
        (Some(lit), false) => quote!(#p::add_as(&mut __rocket_dag_builder, #call, #lit)),
        (None, false) => quote!(#p::add(&mut __rocket_dag_builder, #call)),
        (Some(lit), true) => quote!(#p::add_mapped_as(&mut __rocket_dag_builder, #call, #lit)),
        (None, true) => quote!(#p::add_mapped(&mut __rocket_dag_builder, #call)),
    }
}
