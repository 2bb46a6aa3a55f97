//! A small, bounded XML reader on top of `quick-xml`: it builds an element tree with local
//! names (namespace prefixes dropped) for the few documents this crate reads (ECB rates,
//! pain.002). DTDs are refused outright, so no entity expansion can happen; only the five
//! predefined entities and character references are resolved.

use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("document too large: {0} bytes (limit {1})")]
    TooLarge(usize, usize),
    #[error("document nests deeper than {0} elements")]
    TooDeep(usize),
    #[error("document has more than {0} elements")]
    TooManyElements(usize),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("unknown entity reference &{0};")]
    UnknownEntity(String),
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("no root element")]
    Empty,
}

/// One element: local name, attributes (key as written, e.g. `xmlns:gesmes`), children, and the
/// concatenated text directly inside it (trimmed).
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The value of the attribute whose local name is `local` (prefix ignored).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == local || k.rsplit(':').next() == Some(local))
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Follows a path of child names: `path(&["Rsn", "Cd"])`.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |el, name| el.child(name))
    }

    /// Text at a path, `None` if absent or empty.
    pub fn text_at(&self, names: &[&str]) -> Option<&str> {
        self.path(names)
            .map(|e| e.text.as_str())
            .filter(|t| !t.is_empty())
    }
}

pub(crate) struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn local_name(raw: &str) -> String {
    raw.rsplit(':').next().unwrap_or(raw).to_owned()
}

pub(crate) fn parse(xml: &str, limits: &Limits) -> Result<Element, XmlError> {
    if xml.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(xml.len(), limits.max_bytes));
    }
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;

    let open = |e: &quick_xml::events::BytesStart<'_>, count: &mut usize| {
        *count += 1;
        if *count > limits.max_elements {
            return Err(XmlError::TooManyElements(limits.max_elements));
        }
        let mut el = Element {
            name: local_name(e.name().as_ref()),
            ..Element::default()
        };
        for attr in e.attributes() {
            let attr = attr.map_err(malformed)?;
            let key = attr.key.as_ref().to_owned();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(malformed)?
                .into_owned();
            el.attrs.push((key, value));
        }
        Ok(el)
    };

    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(e) => {
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let el = open(&e, &mut count)?;
                stack.push(el);
            }
            Event::Empty(e) => {
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let el = open(&e, &mut count)?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                el.text = el.text.trim().to_owned();
                attach(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c,
                    None => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(XmlError::UnknownEntity(other.to_owned())),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(resolved);
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unclosed element at end of document"));
    }
    root.ok_or(XmlError::Empty)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(malformed("more than one root element")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_bytes: 10_000,
        max_depth: 8,
        max_elements: 100,
    };

    #[test]
    fn builds_a_tree_with_local_names_and_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><a:Doc xmlns:a="urn:x"><B k='v&amp;w'>x &amp; y &#233;</B><C/></a:Doc>"#,
            &LIMITS,
        )
        .unwrap();
        assert_eq!(root.name, "Doc");
        assert_eq!(root.attr("a"), Some("urn:x"));
        let b = root.child("B").unwrap();
        assert_eq!(b.text, "x & y é");
        assert_eq!(b.attr("k"), Some("v&w"));
        assert!(root.child("C").is_some());
    }

    #[test]
    fn refuses_doctype_and_excess() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert_eq!(parse(bomb, &LIMITS).unwrap_err(), XmlError::Doctype);
        assert!(matches!(
            parse(
                "<a><b><c><d><e><f><g><h><i/></h></g></f></e></d></c></b></a>",
                &LIMITS
            ),
            Err(XmlError::TooDeep(8))
        ));
        assert!(matches!(
            parse("<a><b></a>", &LIMITS),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            parse("<a/><b/>", &LIMITS),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse("", &LIMITS), Err(XmlError::Empty)));
    }
}
