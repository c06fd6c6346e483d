//! XML checks and hand-written tasks shared by the tests of the lane diagrams.

use std::collections::{BTreeMap, HashSet};

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::asset::Asset;
use crate::task::TaskSpec;

/// A hand-written task `$name` with output `$out` (its `Default` value) and the spec
/// `$spec` builds.
macro_rules! task {
    ($name:ident, $out:ty, $spec:expr) => {
        struct $name;
        impl $crate::task::Task for $name {
            type Output = $out;
            const ID: &'static str = stringify!($name);
            fn spec() -> $crate::task::TaskSpec {
                $spec
            }
            fn call<'a>(
                _: &'a $crate::TaskContext,
                _: &'a [$crate::task::XCom],
            ) -> futures::future::BoxFuture<'a, Result<$out, $crate::TaskError>> {
                Box::pin(async { Ok(Default::default()) })
            }
        }
    };
}
pub(crate) use task;

/// A spec with a doc, input names and assets.
pub(crate) fn spec(
    id: &'static str,
    doc: &'static str,
    inputs: &'static [&'static str],
    reads: &'static [Asset],
    writes: &'static [Asset],
) -> TaskSpec {
    let mut s = TaskSpec::new(id);
    s.doc = doc;
    s.inputs = inputs;
    s.reads = reads;
    s.writes = writes;
    s
}

/// An element of a parsed document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Elem {
    pub(crate) name: String,
    pub(crate) attrs: BTreeMap<String, String>,
    /// Its own text (not its children's).
    pub(crate) text: String,
    pub(crate) parent: Option<usize>,
}

impl Elem {
    pub(crate) fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

fn elem(e: &BytesStart<'_>, parent: Option<usize>) -> Elem {
    let mut attrs = BTreeMap::new();
    for a in e.attributes() {
        let a = a.expect("well-formed attribute");
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .expect("attribute value unescapes");
        let k = a.key.0.to_owned();
        assert!(
            attrs.insert(k.clone(), v.into_owned()).is_none(),
            "repeated {k}"
        );
    }
    Elem {
        name: e.name().0.to_owned(),
        attrs,
        text: String::new(),
        parent,
    }
}

/// Every element of `xml`, in document order; panics unless it is well-formed with one
/// root element.
pub(crate) fn parse(xml: &str) -> Vec<Elem> {
    let mut r = Reader::from_str(xml);
    let mut out: Vec<Elem> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0;
    loop {
        let event = r
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", r.buffer_position()));
        match event {
            Event::Start(e) => {
                roots += usize::from(stack.is_empty());
                out.push(elem(&e, stack.last().copied()));
                stack.push(out.len() - 1);
            }
            Event::Empty(e) => {
                roots += usize::from(stack.is_empty());
                out.push(elem(&e, stack.last().copied()));
            }
            Event::End(_) => {
                stack.pop().expect("an end tag closes an open element");
            }
            Event::Text(t) => {
                let t = t.xml10_content();
                match stack.last() {
                    Some(&i) => out[i].text.push_str(&t),
                    None => assert!(t.trim().is_empty(), "text outside the root: {t}"),
                }
            }
            Event::GeneralRef(g) => {
                let s = match g.resolve_char_ref().expect("valid character reference") {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&g.xml10_content())
                        .expect("a predefined entity")
                        .to_owned(),
                };
                let i = *stack.last().expect("a reference inside an element");
                out[i].text.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(roots, 1, "one root element");
    out
}

/// A draw.io cell, with the id, label and tooltip of its `<UserObject>` if it has one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cell {
    pub(crate) id: String,
    pub(crate) value: String,
    pub(crate) tooltip: Option<String>,
    pub(crate) style: String,
    pub(crate) parent: Option<String>,
    pub(crate) vertex: bool,
    pub(crate) edge: bool,
    pub(crate) source: Option<String>,
    pub(crate) target: Option<String>,
    /// `x, y, width, height` of its `<mxGeometry>` (a vertex's).
    pub(crate) geometry: Option<[f64; 4]>,
}

impl Cell {
    /// The label's text: draw.io's HTML label (`html=1`) unescaped, `<br>` as `\n`.
    pub(crate) fn text(&self) -> String {
        self.value
            .replace("<br>", "\n")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }
    pub(crate) fn has_style(&self, s: &str) -> bool {
        self.style.split(';').any(|p| p == s)
    }
}

/// The cells of a draw.io file, after checking its structure: `<mxfile>` › `<diagram>` ›
/// `<mxGraphModel>` › `<root>`, cells `0` and `1`, unique ids, every parent, source and
/// target an existing cell, every vertex with a geometry, every edge with a relative one.
pub(crate) fn drawio_cells(xml: &str) -> Vec<Cell> {
    let elems = parse(xml);
    assert_eq!(elems[0].name, "mxfile");
    assert_eq!(elems[0].attr("host"), Some("rocket-dag"));
    let path: Vec<&str> = elems[1..4].iter().map(|e| e.name.as_str()).collect();
    assert_eq!(path, ["diagram", "mxGraphModel", "root"]);
    let mut cells: Vec<Cell> = Vec::new();
    let mut cell_of_elem = BTreeMap::new();
    for (i, e) in elems.iter().enumerate() {
        match e.name.as_str() {
            "mxCell" => {
                let wrapper = e
                    .parent
                    .map(|p| &elems[p])
                    .filter(|p| p.name == "UserObject");
                let (id, value, tooltip) = match wrapper {
                    Some(u) => {
                        assert!(e.attr("id").is_none(), "id on the UserObject only");
                        (
                            u.attr("id").expect("UserObject id"),
                            u.attr("label").unwrap_or(""),
                            u.attr("tooltip").map(str::to_owned),
                        )
                    }
                    None => (
                        e.attr("id").expect("mxCell id"),
                        e.attr("value").unwrap_or(""),
                        None,
                    ),
                };
                cell_of_elem.insert(i, cells.len());
                cells.push(Cell {
                    id: id.to_owned(),
                    value: value.to_owned(),
                    tooltip,
                    style: e.attr("style").unwrap_or("").to_owned(),
                    parent: e.attr("parent").map(str::to_owned),
                    vertex: e.attr("vertex") == Some("1"),
                    edge: e.attr("edge") == Some("1"),
                    source: e.attr("source").map(str::to_owned),
                    target: e.attr("target").map(str::to_owned),
                    geometry: None,
                });
            }
            "mxGeometry" => {
                assert_eq!(e.attr("as"), Some("geometry"));
                let owner = e.parent.and_then(|p| cell_of_elem.get(&p)).copied();
                let c = &mut cells[owner.expect("a geometry inside a cell")];
                if c.edge {
                    assert_eq!(e.attr("relative"), Some("1"));
                } else {
                    let n = |k: &str| -> f64 {
                        e.attr(k).unwrap_or_else(|| panic!("{k}")).parse().unwrap()
                    };
                    c.geometry = Some([n("x"), n("y"), n("width"), n("height")]);
                }
            }
            _ => {}
        }
    }
    assert_eq!(cells[0].id, "0");
    assert_eq!(
        (cells[1].id.as_str(), cells[1].parent.as_deref()),
        ("1", Some("0"))
    );
    let ids: HashSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), cells.len(), "ids are unique");
    for c in &cells[1..] {
        assert!(ids.contains(c.parent.as_deref().unwrap()), "{c:?}");
        if c.vertex {
            assert!(c.geometry.is_some(), "{c:?}");
        }
        if c.edge {
            assert!(ids.contains(c.source.as_deref().unwrap()), "{c:?}");
            assert!(ids.contains(c.target.as_deref().unwrap()), "{c:?}");
        }
    }
    cells
}

/// The cell with id `id`.
pub(crate) fn cell<'a>(cells: &'a [Cell], id: &str) -> &'a Cell {
    cells
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no cell {id}"))
}

/// The swimlanes' values, top to bottom as the file lists them.
pub(crate) fn lanes(cells: &[Cell]) -> Vec<(String, String)> {
    cells
        .iter()
        .filter(|c| c.style.starts_with("swimlane;"))
        .map(|c| (c.id.clone(), c.value.clone()))
        .collect()
}

/// The SVG's elements with `class` among their classes.
pub(crate) fn with_class<'a>(elems: &'a [Elem], class: &str) -> Vec<&'a Elem> {
    elems.iter().filter(|e| e.has_class(class)).collect()
}

/// Text of the children of element `i` named `name`.
pub(crate) fn child_texts(elems: &[Elem], i: usize, name: &str) -> Vec<String> {
    elems
        .iter()
        .filter(|e| e.parent == Some(i) && e.name == name)
        .map(|e| e.text.clone())
        .collect()
}
