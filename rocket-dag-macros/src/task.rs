//! `#[task]`: keeps the fn exactly as written and adds a same-named marker type (in the type
//! namespace, so the fn stays callable) that implements `rocket_dag::Task`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitStr, Pat, ReturnType, Type};

use crate::options::{self, Errors, Opt, TASK_OPTIONS};

#[derive(Default)]
struct TaskArgs {
    id: Opt<LitStr>,
    shell: Opt<()>,
    opts: options::TaskOpts,
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> TaskArgs {
    let mut out = TaskArgs::default();
    let accepted: Vec<&str> = ["id", "shell"]
        .into_iter()
        .chain(TASK_OPTIONS.iter().copied())
        .collect();
    let parser = syn::meta::parser(|meta| {
        let Some(name) = meta.path.get_ident().cloned() else {
            return Err(meta.error("expected an option name"));
        };
        if out.opts.parse(&name, &meta)? {
            return Ok(());
        }
        match name.to_string().as_str() {
            "id" => {
                let lit: LitStr = meta.value()?.parse()?;
                check_id(&lit)?;
                out.id.set(&name, lit)
            }
            "shell" => out.shell.set(&name, ()),
            _ => Err(options::unknown_option("task", &name, &accepted)),
        }
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
    out
}

pub(crate) fn check_id(lit: &LitStr) -> syn::Result<()> {
    let v = lit.value();
    let ok = !v.is_empty()
        && v.len() <= 250
        && v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!("invalid task id `{v}`: use letters, digits, `_`, `-` and `.` (Airflow's rule)"),
        ))
    }
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
                "`#[task]` fn `{}` must be `async`: write `async fn {}` (or use `#[task(shell)]` for a fn that returns a shell command)",
                sig.ident, sig.ident
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
                let name = match &*pt.pat {
                    Pat::Ident(p) => p.ident.to_string(),
                    _ => format!("arg{i}"),
                };
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
    let source = options::source_text(&func);
    let p = quote!(::rocket_dag::__private);

    let (output_ty, ret_span) = match &sig.output {
        ReturnType::Default => (quote!(()), sig.ident.span()),
        ReturnType::Type(_, ty) if shell => (quote!(::rocket_dag::__private::String), ty.span()),
        ReturnType::Type(_, ty) if is_result(ty) => (
            quote_spanned!(ty.span()=> <#ty as #p::TaskReturn>::Output),
            ty.span(),
        ),
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
            quote_spanned!(ty.span()=> let #var: #ty = #p::input(__rocket_dag_inputs, #i, #name)?;)
        });
        let call = quote!(#fn_name(#(#call_args),*) #await_);
        let finish = match &sig.output {
            _ if shell => quote!(#p::shell(__rocket_dag_ctx, #call).await),
            ReturnType::Type(_, ty) if is_result(ty) => {
                quote_spanned!(ret_span=> #p::TaskReturn::into_task_result(#call))
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
    let params: Vec<Ident> = (0..input_tys.len())
        .map(|i| format_ident!("__rocket_dag_arg{i}"))
        .collect();
    let input_bounds = input_tys.iter().zip(&params).map(|(ty, param)| {
        quote_spanned!(ty.span()=> #param: impl #p::Input<#ty>)
    });
    let nodes = params.iter().map(|param| quote!(#p::Input::node(&#param)));
    let marker_span = Span::call_site();
    let marker = quote_spanned! {marker_span=>
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #fn_name {}
    };
    let errors = errors.into_tokens();
    quote! {
        #func
        #marker
        const _: () = {
            impl #p::Task for #fn_name {
                type Output = #output_ty;
                const ID: &'static str = #id;
                fn spec() -> #p::TaskSpec {
                    #p::spec(#id, #doc, #opts, &[#(#input_names),*], #kind, #source, #output_name)
                }
                fn call<'__rocket_dag>(
                    #ctx_ident: &'__rocket_dag #p::TaskContext,
                    #inputs_ident: &'__rocket_dag [#p::XCom],
                ) -> #p::BoxFuture<'__rocket_dag, #p::Result<Self::Output, #p::TaskError>> {
                    #body
                }
            }
            impl #fn_name {
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments)]
                pub fn __rocket_dag_call(self, #(#input_bounds),*) -> #p::Call<#output_ty> {
                    #p::Call::new::<Self>(&[#(#nodes),*])
                }
            }
        };
        #errors
    }
}
