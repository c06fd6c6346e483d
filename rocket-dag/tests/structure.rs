//! The crate's structure, checked from its own sources: modules sit in layers and nothing
//! imports from a layer above its own, and no two modules import each other in a loop.
//!
//! The layers (a module may use its own layer and those below):
//!
//! | layer | modules | what they are |
//! |---|---|---|
//! | 0 foundations | `duration`, `escape`, `ids`, `error`, `fs`, `http`, `process`, `signal` | rules and helpers with no notion of a DAG |
//! | 1 model | `home`, `run`, `task`, `asset`, `schedule`, `timetable`, `dag`, `retry`, `context` | what a DAG, a task and a run are |
//! | 2 execution | `store`, `logging`, `shell`, `report`, `notify`, `runner`, `control` | running DAGs, recording them, acting on them |
//! | 3 surfaces | `scheduler`, `viz`, `export`, `cli`, `web`, `airflow` | what users run and look at |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

const LAYERS: &[(&str, u8)] = &[
    ("duration", 0),
    ("escape", 0),
    ("ids", 0),
    ("error", 0),
    ("fs", 0),
    ("http", 0),
    ("process", 0),
    ("signal", 0),
    ("home", 1),
    ("run", 1),
    ("task", 1),
    ("asset", 1),
    ("schedule", 1),
    ("timetable", 1),
    ("dag", 1),
    ("retry", 1),
    ("context", 1),
    ("store", 2),
    ("logging", 2),
    ("shell", 2),
    ("report", 2),
    ("notify", 2),
    ("runner", 2),
    ("control", 2),
    ("scheduler", 3),
    ("viz", 3),
    ("export", 3),
    ("cli", 3),
    ("web", 3),
    ("airflow", 3),
];

/// Every `crate::<module>` a file names, in `use` items and in paths.
#[derive(Default)]
struct Uses(BTreeSet<String>);

impl Uses {
    fn add(&mut self, first: &str, second: Option<&str>) {
        if first == "crate"
            && let Some(m) = second
        {
            self.0.insert(m.to_owned());
        }
    }

    /// `crate::{a, b::c}` and `crate::a::…` in a use tree.
    fn tree(&mut self, tree: &syn::UseTree, parent: Option<&str>) {
        match tree {
            syn::UseTree::Path(p) => {
                let name = p.ident.to_string();
                match parent {
                    None => self.tree(&p.tree, Some(&name)),
                    Some(first) => self.add(first, Some(&name)),
                }
            }
            syn::UseTree::Name(n) => {
                if let Some(first) = parent {
                    self.add(first, Some(&n.ident.to_string()));
                }
            }
            syn::UseTree::Rename(r) => {
                if let Some(first) = parent {
                    self.add(first, Some(&r.ident.to_string()));
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.tree(t, parent);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
}

/// Whether an item is compiled for tests only (`#[cfg(test)]`): tests may use any layer.
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string() == "test")
    })
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.tree(&u.tree, None);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let mut segs = p.segments.iter().map(|s| s.ident.to_string());
        if let Some(first) = segs.next() {
            self.add(&first, segs.next().as_deref());
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Paths inside macro calls (`format!("{}", crate::x::y())`) are tokens, not syntax.
        let text = m.tokens.to_string();
        for (i, _) in text.match_indices("crate ::") {
            let rest = text[i + "crate ::".len()..].trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                self.0.insert(name);
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top module each source file belongs to, and the top modules it uses.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue; // the crate root re-exports everything; test files may use any layer
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut uses = Uses::default();
        uses.visit_file(&file);
        let entry = out.entry(top.clone()).or_default();
        entry.extend(uses.0.into_iter().filter(|m| *m != top));
    }
    out
}

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

#[test]
fn nothing_imports_from_a_higher_layer() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (from, tos) in &imports {
        let Some(lf) = layer(from) else {
            wrong.push(format!("module `{from}` has no layer in the table"));
            continue;
        };
        for to in tos {
            match layer(to) {
                None => {} // a crate re-export (`crate::Dag`) or an item of the root
                Some(lt) if lt > lf => wrong.push(format!(
                    "`{from}` (layer {lf}) uses `crate::{to}` (layer {lt}): move what it needs down, or the code up"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_loop() {
    let imports = imports();
    // Depth-first search for a back edge, reporting the loop's path.
    fn visit(
        m: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for to in imports.get(m).into_iter().flatten() {
            if imports.contains_key(to)
                && let Some(c) = visit(to, imports, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in imports.keys() {
        if let Some(cycle) = visit(m, &imports, &mut Vec::new(), &mut done) {
            panic!(
                "modules import each other in a loop: {}",
                cycle.join(" -> ")
            );
        }
    }
}
