//! `#[task]`: keeps the fn exactly as written and adds a same-named marker type (in the type
//! namespace, so the fn stays callable) that implements `rocket_dag::Task`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, ItemFn, LitStr, Pat, PathArguments, ReturnType, Type};

use crate::options::{self, Errors, Opt, TASK_OPTIONS};

#[derive(Default)]
struct TaskArgs {
    id: Opt<LitStr>,
    shell: Opt<()>,
    reads: Opt<Vec<syn::Expr>>,
    writes: Opt<Vec<syn::Expr>>,
    opts: options::TaskOpts,
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> TaskArgs {
    let mut out = TaskArgs::default();
    let accepted: Vec<&str> = ["id", "shell", "reads", "writes"]
        .into_iter()
        .chain(TASK_OPTIONS.iter().copied())
        .collect();
    options::parse_options(args, errors, |name, meta| {
        if out.opts.parse(name, meta)? {
            return Ok(());
        }
        match name.to_string().as_str() {
            "id" => {
                let lit: LitStr = meta.value()?.parse()?;
                check_id(&lit)?;
                out.id.set(name, lit)
            }
            "shell" => {
                options::flag(name, meta)?;
                out.shell.set(name, ())
            }
            "reads" => out.reads.set(name, assets(name, meta)?),
            "writes" => out.writes.set(name, assets(name, meta)?),
            _ => Err(options::unknown_option("task", name, &accepted)),
        }
    });
    out
}

/// `reads = [A, B]`: asset constants (checked by the compiler as `Asset`s).
fn assets(name: &Ident, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Vec<syn::Expr>> {
    let value = meta.value()?;
    let list: syn::ExprArray = value.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a list of assets, e.g. `{name} = [LAUNCHES_JSON]`"),
        )
    })?;
    for e in &list.elems {
        if let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = e
        {
            let id = s.value();
            let constant = id
                .to_uppercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
            return Err(syn::Error::new(
                s.span(),
                format!(
                    "`{name}` takes asset constants, not strings\nhelp: declare `const {constant}: Asset = Asset::new(\"{id}\", AssetKind::File);` (or another kind) and write `{name} = [{constant}]`"
                ),
            ));
        }
    }
    Ok(list.elems.into_iter().collect())
}

pub(crate) fn check_id(lit: &LitStr) -> syn::Result<()> {
    rocket_dag_core::ids::task(&lit.value())
        .map_err(|e| syn::Error::new(lit.span(), format!("{e} (Airflow's rule)")))
}

/// Is this parameter the task context (`&TaskContext`, however the path is written)?
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "TaskContext"),
            _ => false,
        },
        _ => false,
    }
}

/// `E` in `Result<T, E>`, if written.
fn error_type(ty: &Type) -> Option<&Type> {
    if let Type::Path(p) = ty
        && let Some(last) = p.path.segments.last()
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(e)) = args.args.iter().nth(1)
    {
        return Some(e);
    }
    None
}

/// Is this the `Result<T, E>` form (any path ending in `Result` with generics)?
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Result" && !s.arguments.is_none()),
        _ => false,
    }
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse_args(args, &mut errors);
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        // Let rustc report the user's own syntax error on the untouched tokens.
        Err(e) => {
            let e = e.to_compile_error();
            return quote!(#item #e);
        }
    };
    let shell = parsed.shell.value.is_some();
    let sig = &func.sig;
    if sig.asyncness.is_none() && !shell {
        errors.push(syn::Error::new(
            sig.fn_token.span(),
            format!(
                "a `#[task]` fn must be `async`: write `async fn {}`\nhelp: a fn that returns a shell command takes `#[task(shell)]`",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            "a `#[task]` fn cannot be generic: the DAG needs one concrete output type",
        ));
    }

    let mut has_ctx = false;
    let mut input_tys = Vec::new();
    let mut input_names = Vec::new();
    let mut input_params = Vec::new();
    let mut call_args = Vec::new();
    for (i, arg) in sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => errors.push(syn::Error::new(
                r.span(),
                "a `#[task]` must be a free fn, not a method",
            )),
            FnArg::Typed(pt) if is_context(&pt.ty) => {
                if has_ctx {
                    errors.push(syn::Error::new(
                        pt.ty.span(),
                        "a task takes the `&TaskContext` at most once",
                    ));
                }
                has_ctx = true;
                call_args.push(quote!(__rocket_dag_ctx));
            }
            FnArg::Typed(pt) => {
                let (name, param) = match &*pt.pat {
                    Pat::Ident(p) => (p.ident.to_string(), p.ident.clone()),
                    other => (
                        format!("arg{i}"),
                        format_ident!("__rocket_dag_arg{}", input_tys.len(), span = other.span()),
                    ),
                };
                input_params.push(param);
                let var = format_ident!("__rocket_dag_in{}", input_tys.len());
                call_args.push(quote!(#var));
                input_tys.push((*pt.ty).clone());
                input_names.push(name);
            }
        }
    }

    let fn_name = &sig.ident;
    let vis = &func.vis;
    let id = parsed
        .id
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_name.to_string());
    let doc = options::doc_string(&func.attrs);
    let opts = parsed.opts.to_tokens();
    let reads = parsed.reads.value.clone().unwrap_or_default();
    let writes = parsed.writes.value.clone().unwrap_or_default();
    let source = options::source_text(&func);
    let p = quote!(::rocket_dag::__private);

    let (output_ty, ret_span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) if shell => (quote!(::rocket_dag::__private::String), ty.span()),
        ReturnType::Type(_, ty) if is_result(ty) => {
            let p = private(ty.span());
            (
                quote_spanned!(ty.span()=> <#ty as #p::TaskReturn>::Output),
                ty.span(),
            )
        }
        ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
    };
    let output_name = match &sig.output {
        ReturnType::Default => "()".to_owned(),
        _ if shell => "String".to_owned(),
        ReturnType::Type(_, ty) => quote!(#ty).to_string(),
    };

    let valid = errors.is_empty();
    let await_ = if sig.asyncness.is_some() {
        quote!(.await)
    } else {
        quote!()
    };
    let body = if !valid {
        // The fn is unusable as a task; keep the marker type so DAGs naming it do not cascade.
        quote!(#p::boxed(async move { #p::Err(#p::TaskError::fail_now("invalid task")) }))
    } else {
        let reads = input_tys.iter().enumerate().map(|(i, ty)| {
            let var = format_ident!("__rocket_dag_in{i}");
            let name = &input_names[i];
            let p = private(ty.span());
            quote_spanned!(ty.span()=> let #var: #ty = #p::input(__rocket_dag_inputs, #i, #name)?;)
        });
        let call = quote!(#fn_name(#(#call_args),*) #await_);
        let finish = match &sig.output {
            _ if shell => quote!(#p::shell(__rocket_dag_ctx, #call).await),
            ReturnType::Type(_, ty) if is_result(ty) => {
                // A bad error type is reported once, at the user's `E` in `Result<T, E>`.
                let span = error_type(ty).map_or(ret_span, Spanned::span);
                let p = private(span);
                let out = Ident::new("__rocket_dag_out", span);
                let convert = quote_spanned!(span=> #p::into_task_result(#out));
                quote! {
                    let #out = #call;
                    #convert
                }
            }
            _ => quote!(#p::ok(#call)),
        };
        quote! {
            #p::boxed(async move {
                #(#reads)*
                #finish
            })
        }
    };

    let kind = if shell {
        quote!(#p::TaskKind::Shell)
    } else {
        quote!(#p::TaskKind::Rust)
    };
    let ctx_ident = if has_ctx || shell {
        quote!(__rocket_dag_ctx)
    } else {
        quote!(_)
    };
    let inputs_ident = if input_tys.is_empty() || !valid {
        quote!(_)
    } else {
        quote!(__rocket_dag_inputs)
    };
    // The DAG calls `path::to::task::task(a, b)`: an associated fn of the marker named like the
    // task and taking one handle per input, spanned at the user's signature. Arity mistakes then
    // read "this function takes 1 argument but 2 arguments were supplied" at the call in the
    // DAG, with "associated function defined here" pointing at the task's own signature, and
    // rustc's fix-it shows the task's parameter names. A type mismatch fails the `Feeds` bound,
    // spanned at the parameter's type, whose message names both types and the task.
    // Trade-off: a missing argument reads "argument #1 of type `Handle<_>` is missing", naming
    // the handle type. The alternative, one tuple argument checked by a trait with
    // `#[diagnostic::on_unimplemented]`, cannot say how many inputs the task takes, loses the
    // fix-it, and adds a note about the trait; a hidden method name (`__call`) would show up in
    // rustc's "provide the argument" suggestion.
    let outs: Vec<Ident> = (0..input_tys.len())
        .map(|i| format_ident!("__RocketDagOut{i}"))
        .collect();
    let bounds = input_tys.iter().zip(&outs).map(|(ty, out)| {
        let p = private(ty.span());
        quote_spanned!(ty.span()=> #out: #p::Feeds<#ty, #fn_name>)
    });
    let handle_params = input_params
        .iter()
        .zip(&outs)
        .zip(&input_tys)
        .map(|((param, out), ty)| {
            let p = private(ty.span());
            let handle = quote_spanned!(ty.span()=> #p::Handle<#out>);
            quote!(#param: #handle)
        });
    let fn_span = fn_name.span();
    let fn_token = quote_spanned!(fn_span=> fn);
    let marker = quote_spanned! {fn_span=>
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #fn_name {}
    };
    let dag_call = quote! {
        impl #fn_name {
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments, clippy::new_ret_no_self)]
            #vis #fn_token #fn_name<#(#bounds),*>(#(#handle_params),*) -> #p::Call<#output_ty> {
                #p::Call::new::<Self>(&[#(#p::Handle::input(&#input_params)),*])
            }
        }
    };
    let errors = errors.into_tokens();
    quote! {
        #func
        #marker
        #dag_call
        const _: () = {
            impl #p::Task for #fn_name {
                type Output = #output_ty;
                const ID: &'static str = #id;
                fn spec() -> #p::TaskSpec {
                    const READS: &[#p::Asset] = &[#(#reads),*];
                    const WRITES: &[#p::Asset] = &[#(#writes),*];
                    #p::with_assets(
                        #p::spec(#id, #doc, #opts, &[#(#input_names),*], #kind, #source, #output_name),
                        READS,
                        WRITES,
                    )
                }
                fn call<'__rocket_dag>(
                    #ctx_ident: &'__rocket_dag #p::TaskContext,
                    #inputs_ident: &'__rocket_dag [#p::XCom],
                ) -> #p::BoxFuture<'__rocket_dag, #p::Result<Self::Output, #p::TaskError>> {
                    #body
                }
            }
        };
        #errors
    }
}

/// `::rocket_dag::__private` with the given span, for tokens whose errors should point at the
/// user's code (an expression's span starts at its first token).
fn private(span: Span) -> TokenStream {
    quote_spanned!(span=> ::rocket_dag::__private)
}
