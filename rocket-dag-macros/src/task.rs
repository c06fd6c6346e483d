//! `#[task]`: keeps the fn exactly as written and adds a same-named marker type (in the type
//! namespace, so the fn stays callable) that implements `rocket_dag::Task`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, Ident, ItemFn, LitStr, Pat, PathArguments, PathSegment, ReturnType,
    Signature, Type,
};

use crate::item::{doc_string, parse_fn, source_text};
use crate::options::{self, Errors, Opt, checked_str};
use crate::private;

#[derive(Default)]
struct TaskArgs {
    id: Opt<LitStr>,
    shell: Opt<()>,
    reads: Opt<Vec<syn::Expr>>,
    writes: Opt<Vec<syn::Expr>>,
    opts: options::TaskOpts,
}

/// The options only `#[task]` takes; the task options (`options::TaskOpts`) follow them.
const OWN_OPTIONS: &[&str] = &["id", "shell", "reads", "writes"];

fn parse_args(args: TokenStream, errors: &mut Errors) -> TaskArgs {
    let mut out = TaskArgs::default();
    options::parse_options(args, errors, &mut out.opts, |name, meta| {
        match name.to_string().as_str() {
            "id" => out.id.set(name, checked_str(meta, options::task_id)?),
            "shell" => {
                options::flag(name, meta)?;
                out.shell.set(name, ())
            }
            "reads" => out.reads.set(name, assets(name, meta)?),
            "writes" => out.writes.set(name, assets(name, meta)?),
            _ => Err(options::unknown_option("task", OWN_OPTIONS, name)),
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

/// The last segment of a path type (`Result` in `std::result::Result<T, E>`).
fn last_segment(ty: &Type) -> Option<&PathSegment> {
    match ty {
        Type::Path(p) => p.path.segments.last(),
        _ => None,
    }
}

/// Is this parameter the task context (`&TaskContext`, however the path is written)?
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => last_segment(&r.elem).is_some_and(|s| s.ident == "TaskContext"),
        _ => false,
    }
}

/// `E` in `Result<T, E>`, if written.
fn error_type(ty: &Type) -> Option<&Type> {
    if let Some(last) = last_segment(ty)
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(e)) = args.args.iter().nth(1)
    {
        return Some(e);
    }
    None
}

/// Is this the `Result<T, E>` form (any path ending in `Result` with generics)?
fn is_result(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Result" && !s.arguments.is_none())
}

/// `#[task(args)]` on `item`: the fn as written, its marker type, `impl Task`, then the errors.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse_args(args, &mut errors);
    let func = match parse_fn(item) {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    let shell = parsed.shell.value.is_some();
    check_signature(&func.sig, shell, &mut errors);
    let inputs = Inputs::read(&func.sig, &mut errors);
    let output = Output::of(&func.sig, shell);
    let valid = errors.is_empty();
    let marker = marker(&func, &inputs, &output);
    let task_impl = task_impl(&func, &parsed, &inputs, &output, valid);
    let errors = errors.into_tokens();
    quote! {
        #func
        #marker
        #task_impl
        #errors
    }
}

/// A task fn is `async` (unless it returns a shell command) and not generic.
fn check_signature(sig: &Signature, shell: bool, errors: &mut Errors) {
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
}

/// The fn's parameters: the optional `&TaskContext`, and one upstream output per other one.
#[derive(Default)]
struct Inputs {
    /// The fn takes the `&TaskContext`.
    has_ctx: bool,
    /// Each input's type as written.
    tys: Vec<Type>,
    /// Each input's name, for the spec and messages (`argN` for a pattern).
    names: Vec<String>,
    /// Each input's parameter in the generated associated fn the DAG calls.
    params: Vec<Ident>,
    /// What `Task::call` passes to the fn, context included, in order.
    call_args: Vec<TokenStream>,
}

impl Inputs {
    fn read(sig: &Signature, errors: &mut Errors) -> Inputs {
        let mut inputs = Inputs::default();
        for (i, arg) in sig.inputs.iter().enumerate() {
            match arg {
                FnArg::Receiver(r) => errors.push(syn::Error::new(
                    r.span(),
                    "a `#[task]` must be a free fn, not a method",
                )),
                FnArg::Typed(pt) if is_context(&pt.ty) => {
                    if inputs.has_ctx {
                        errors.push(syn::Error::new(
                            pt.ty.span(),
                            "a task takes the `&TaskContext` at most once",
                        ));
                    }
                    inputs.has_ctx = true;
                    inputs.call_args.push(quote!(__rocket_dag_ctx));
                }
                FnArg::Typed(pt) => {
                    let n = inputs.tys.len();
                    let (name, param) = match &*pt.pat {
                        Pat::Ident(p) => (p.ident.to_string(), p.ident.clone()),
                        other => (
                            format!("arg{i}"),
                            format_ident!("__rocket_dag_arg{}", n, span = other.span()),
                        ),
                    };
                    inputs.params.push(param);
                    let var = format_ident!("__rocket_dag_in{}", n);
                    inputs.call_args.push(quote!(#var));
                    inputs.tys.push((*pt.ty).clone());
                    inputs.names.push(name);
                }
            }
        }
        inputs
    }
}

/// What the task gives its downstream tasks.
struct Output {
    /// `Task::Output`: `T` of `Result<T, E>`, the return type, `()`, or `String` for `shell`.
    ty: TokenStream,
    /// The return type's span (the fn name's without one), where conversion errors point.
    span: Span,
    /// The return type as written, for the spec.
    name: String,
}

impl Output {
    fn of(sig: &Signature, shell: bool) -> Output {
        let (ty, span) = match &sig.output {
            ReturnType::Default => (quote!(()), sig.ident.span()),
            ReturnType::Type(_, ty) if shell => {
                (quote!(::rocket_dag::__private::String), ty.span())
            }
            ReturnType::Type(_, ty) if is_result(ty) => {
                let p = private(ty.span());
                (
                    quote_spanned!(ty.span()=> <#ty as #p::TaskReturn>::Output),
                    ty.span(),
                )
            }
            ReturnType::Type(_, ty) => (quote!(#ty), ty.span()),
        };
        let name = match &sig.output {
            ReturnType::Default => "()".to_owned(),
            _ if shell => "String".to_owned(),
            ReturnType::Type(_, ty) => quote!(#ty).to_string(),
        };
        Output { ty, span, name }
    }
}

/// The marker type named like the task, and its associated fn of the same name that a `#[dag]`
/// body calls with one handle per input.
fn marker(func: &ItemFn, inputs: &Inputs, output: &Output) -> TokenStream {
    let fn_name = &func.sig.ident;
    let vis = &func.vis;
    let p = quote!(::rocket_dag::__private);
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
    let outs: Vec<Ident> = (0..inputs.tys.len())
        .map(|i| format_ident!("__RocketDagOut{i}"))
        .collect();
    let bounds = inputs.tys.iter().zip(&outs).map(|(ty, out)| {
        let p = private(ty.span());
        quote_spanned!(ty.span()=> #out: #p::Feeds<#ty, #fn_name>)
    });
    let input_params = &inputs.params;
    let handle_params =
        input_params
            .iter()
            .zip(&outs)
            .zip(&inputs.tys)
            .map(|((param, out), ty)| {
                let p = private(ty.span());
                let handle = quote_spanned!(ty.span()=> #p::Handle<#out>);
                quote!(#param: #handle)
            });
    let fn_span = fn_name.span();
    let fn_token = quote_spanned!(fn_span=> fn);
    let output_ty = &output.ty;
    let marker = quote_spanned! {fn_span=>
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #fn_name {}
    };
    quote! {
        #marker
        impl #fn_name {
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments, clippy::new_ret_no_self)]
            #vis #fn_token #fn_name<#(#bounds),*>(#(#handle_params),*) -> #p::Call<#output_ty> {
                #p::Call::new::<Self>(&[#(#p::Handle::input(&#input_params)),*])
            }
        }
    }
}

/// `impl Task` for the marker: the spec (id, doc, options, inputs, assets, source) and `call`.
fn task_impl(
    func: &ItemFn,
    parsed: &TaskArgs,
    inputs: &Inputs,
    output: &Output,
    valid: bool,
) -> TokenStream {
    let fn_name = &func.sig.ident;
    let id = parsed
        .id
        .value
        .as_ref()
        .map(LitStr::value)
        .unwrap_or_else(|| fn_name.to_string());
    let doc = doc_string(&func.attrs);
    let opts = parsed.opts.to_tokens();
    let reads = parsed.reads.value.clone().unwrap_or_default();
    let writes = parsed.writes.value.clone().unwrap_or_default();
    let source = source_text(func);
    let p = quote!(::rocket_dag::__private);
    let shell = parsed.shell.value.is_some();
    let body = call_body(&func.sig, inputs, output, shell, valid);
    let kind = if shell {
        quote!(#p::TaskKind::Shell)
    } else {
        quote!(#p::TaskKind::Rust)
    };
    let ctx_ident = if inputs.has_ctx || shell {
        quote!(__rocket_dag_ctx)
    } else {
        quote!(_)
    };
    let inputs_ident = if inputs.tys.is_empty() || !valid {
        quote!(_)
    } else {
        quote!(__rocket_dag_inputs)
    };
    let (output_ty, output_name, input_names) = (&output.ty, &output.name, &inputs.names);
    quote! {
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
    }
}

/// The body of `Task::call`: read each input from the upstream outputs, call the fn, convert
/// what it returns.
fn call_body(
    sig: &Signature,
    inputs: &Inputs,
    output: &Output,
    shell: bool,
    valid: bool,
) -> TokenStream {
    let p = quote!(::rocket_dag::__private);
    if !valid {
        // The fn is unusable as a task; keep the marker type so DAGs naming it do not cascade.
        return quote!(#p::boxed(async move { #p::Err(#p::TaskError::fail_now("invalid task")) }));
    }
    let reads = inputs.tys.iter().enumerate().map(|(i, ty)| {
        let var = format_ident!("__rocket_dag_in{i}");
        let name = &inputs.names[i];
        let p = private(ty.span());
        quote_spanned!(ty.span()=> let #var: #ty = #p::input(__rocket_dag_inputs, #i, #name)?;)
    });
    let fn_name = &sig.ident;
    let call_args = &inputs.call_args;
    let await_ = if sig.asyncness.is_some() {
        quote!(.await)
    } else {
        quote!()
    };
    let call = quote!(#fn_name(#(#call_args),*) #await_);
    let finish = match &sig.output {
        _ if shell => quote!(#p::shell(__rocket_dag_ctx, #call).await),
        ReturnType::Type(_, ty) if is_result(ty) => {
            // A bad error type is reported once, at the user's `E` in `Result<T, E>`.
            let span = error_type(ty).map_or(output.span, Spanned::span);
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
}
