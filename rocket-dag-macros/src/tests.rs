//! Snapshots of what `#[task]` and `#[dag]` emit for the book's DAG (listing 2.10), so that a
//! change in the generated code shows in review as a diff of `src/snapshots/*.snap`.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Item, ItemFn, Meta};

/// `dags/src/listing_2_10.rs`, read now so the snapshots follow the listing as it is.
fn listing() -> syn::File {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dags/src/listing_2_10.rs");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    syn::parse_file(&text).expect("listing_2_10.rs parses")
}

/// The fn `name` of the listing as the compiler hands it to `#[attr]`: the arguments of that
/// attribute, and the fn without it (its other attributes, the doc comment, stay).
fn attributed_fn(file: &syn::File, name: &str, attr: &str) -> (TokenStream, TokenStream) {
    let mut func: ItemFn = file
        .items
        .iter()
        .find_map(|item| match item {
            Item::Fn(f) if f.sig.ident == name => Some(f.clone()),
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
    (args, func.into_token_stream())
}

/// The expansion as rustfmt-like text. Outside a compiler run spans lead to no file, so the
/// embedded source of each fn is its token text (`options::source_text`'s fallback): it has
/// no paths or line numbers, and nothing needs normalising.
fn pretty(expansion: TokenStream) -> String {
    let file: syn::File = syn::parse2(expansion.clone())
        .unwrap_or_else(|e| panic!("the expansion does not parse ({e}):\n{expansion}"));
    prettyplease::unparse(&file)
}

fn expand_task(name: &str) -> String {
    let (args, item) = attributed_fn(&listing(), name, "task");
    pretty(crate::task::expand(args, item))
}

#[test]
fn listing_2_10_download_launches() {
    insta::assert_snapshot!(expand_task("download_launches"));
}

#[test]
fn listing_2_10_get_pictures() {
    insta::assert_snapshot!(expand_task("get_pictures"));
}

#[test]
fn listing_2_10_notify() {
    insta::assert_snapshot!(expand_task("notify"));
}

#[test]
fn listing_2_10_dag() {
    let (args, item) = attributed_fn(&listing(), "listing_2_10", "dag");
    insta::assert_snapshot!(pretty(crate::dag::expand(args, item)));
}
