//! Snapshots of what `#[task]` and `#[dag]` emit for the book's DAG (listing 2.10), so that a
//! change in the generated code shows in review as a diff of `src/snapshots/*.snap`.

use proc_macro2::{Literal, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Item, ItemFn, Meta};

/// `dags/src/listing_2_10.rs` itself, compiled in: the snapshots cannot drift from the DAG, and
/// cargo rebuilds this test when the listing changes.
const LISTING: &str = include_str!("../../dags/src/listing_2_10.rs");

/// The fn `name` of the listing as the compiler hands it to `#[attr]`: the arguments of that
/// attribute, and the fn without it (its other attributes, the doc comment, stay).
fn attributed_fn(name: &str, attr: &str) -> (TokenStream, ItemFn) {
    let file = syn::parse_file(LISTING).expect("listing_2_10.rs parses");
    let mut func = file
        .items
        .into_iter()
        .find_map(|item| match item {
            Item::Fn(f) if f.sig.ident == name => Some(f),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no fn `{name}` in listing_2_10.rs"));
    let at = func
        .attrs
        .iter()
        .position(|a| a.path().is_ident(attr))
        .unwrap_or_else(|| panic!("`{name}` has no `#[{attr}]`"));
    let args = match func.attrs.remove(at).meta {
        Meta::List(list) => list.tokens,
        Meta::Path(_) => TokenStream::new(),
        Meta::NameValue(nv) => panic!("`#[{attr} = …]` on `{name}`: {}", nv.to_token_stream()),
    };
    (args, func)
}

/// The expansion of `#[attr]` on the listing's fn `name`, as rustfmt-like text.
///
/// The embedded source of the fn is replaced by a placeholder: in a build it is the fn's lines
/// read from its file, but here spans lead to no file and it would be the fn's token text, one
/// long line repeating the fn. Nothing else is normalised: the output holds no paths, line
/// numbers or hash-map order.
fn expansion(attr: &str, name: &str) -> String {
    let (args, func) = attributed_fn(name, attr);
    let source = Literal::string(&crate::item::source_text(&func)).to_string();
    let placeholder = Literal::string(&format!("<the source of `{name}` as written in its file>"));
    let item = func.into_token_stream();
    let tokens = match attr {
        "task" => crate::task::expand(args, item),
        "dag" => crate::dag::expand(args, item),
        _ => unreachable!("the listing has `#[task]` and `#[dag]` fns"),
    };
    let mut replaced = 0;
    let tokens = replace_literal(tokens, &source, &placeholder, &mut replaced);
    assert_eq!(replaced, 1, "the expansion embeds the fn's source once");
    let file: syn::File = syn::parse2(tokens.clone())
        .unwrap_or_else(|e| panic!("the expansion does not parse ({e}):\n{tokens}"));
    prettyplease::unparse(&file)
}

/// `tokens` with every literal written `old` replaced by `new`, counted in `replaced`.
fn replace_literal(
    tokens: TokenStream,
    old: &str,
    new: &Literal,
    replaced: &mut usize,
) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Literal(lit) if lit.to_string() == old => {
                *replaced += 1;
                TokenTree::Literal(new.clone())
            }
            TokenTree::Group(g) => {
                let stream = replace_literal(g.stream(), old, new, replaced);
                let mut group = proc_macro2::Group::new(g.delimiter(), stream);
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}

#[test]
fn listing_2_10_download_launches() {
    insta::assert_snapshot!(expansion("task", "download_launches"));
}

#[test]
fn listing_2_10_get_pictures() {
    insta::assert_snapshot!(expansion("task", "get_pictures"));
}

#[test]
fn listing_2_10_notify() {
    insta::assert_snapshot!(expansion("task", "notify"));
}

#[test]
fn listing_2_10_dag() {
    insta::assert_snapshot!(expansion("dag", "listing_2_10"));
}
