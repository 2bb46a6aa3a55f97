//! The layer rule of `platform/src`, checked on the sources (ARCHITECTURE.md, "Layers").
//!
//! Every module belongs to one layer, declared below by path prefix; a module may import
//! from its own layer or a lower one, never from a higher one, and no two modules may import
//! each other, directly or around a circle. Imports are read from the non-test part of each
//! file: `crate::a::b` paths (in `use` lines or inline, with `{…}` groups) and `super::x`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first: each is a folder of `src` (`infra/`, `domain/`, `adapters/`), and the
/// composition root is what sits beside them (`lib.rs`, `main.rs`, `app.rs`, `bench.rs`,
/// `cli.rs`, `workers.rs`). A module's layer is that of its longest matching prefix.
const LAYERS: &[(&str, &[&str])] = &[
    // Infrastructure: storage, the outboxes, configuration, formats shared by every layer.
    ("infra", &["infra"]),
    // Domain services: no HTTP, no API or page types, their own error enums.
    ("domain", &["domain"]),
    // HTTP adapters: the gateway, the JSON API, the hosted pages, and their shared state.
    ("adapters", &["adapters"]),
    // The composition root: the process, its commands and workers.
    ("top", &["app", "bench", "cli", "workers", "crate", "main"]),
];

fn layer_of(module: &str) -> Option<(usize, &'static str)> {
    let mut best: Option<(usize, usize, &'static str)> = None;
    for (rank, (name, prefixes)) in LAYERS.iter().enumerate() {
        for prefix in *prefixes {
            let hit = module == *prefix || module.starts_with(&format!("{prefix}::"));
            if hit && best.is_none_or(|(len, _, _)| prefix.len() > len) {
                best = Some((prefix.len(), rank, name));
            }
        }
    }
    best.map(|(_, rank, name)| (rank, name))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        panic!("cannot read {}", dir.display());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// `adapters/api/accounts.rs` → `adapters::api::accounts`; `domain/kyc/mod.rs` → `domain::kyc`; `lib.rs` → `crate`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        let last = parts.pop();
        if parts.is_empty() {
            parts.push(
                if last.as_deref() == Some("main") {
                    "main"
                } else {
                    "crate"
                }
                .to_owned(),
            );
        }
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifiers after `prefix` (`crate::`, `super::`) in `text`, each with the ones
/// that follow it (`crate::adapters::api::accounts::X` → `[api, accounts, X]`); `{a, b::c}` groups
/// give one path per member.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue; // `foo_crate::` or `a::super::` is not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let member = member.trim();
                let path: Vec<String> = member
                    .split("::")
                    .map(|s| s.trim().chars().take_while(|c| is_ident(*c)).collect())
                    .take_while(|s: &String| !s.is_empty())
                    .collect();
                if !path.is_empty() {
                    out.push(path);
                }
            }
            continue;
        }
        let mut path = Vec::new();
        let mut cursor = rest;
        loop {
            let ident: String = cursor.chars().take_while(|c| is_ident(*c)).collect();
            if ident.is_empty() {
                break;
            }
            cursor = &cursor[ident.len()..];
            path.push(ident);
            match cursor.strip_prefix("::") {
                Some(next) if next.starts_with(|c: char| is_ident(c)) => cursor = next,
                _ => break,
            }
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// The longest known module that `path` (from the crate root) names.
fn resolve(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

struct Graph {
    /// module → modules it imports (not itself, not its own ancestors or descendants).
    edges: BTreeMap<String, BTreeSet<String>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut sources = Vec::new();
    let mut modules = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap_or(&file).to_path_buf();
        let module = module_path(&rel);
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        // Tests may reach anywhere; the rule is about what ships.
        let text = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
        modules.insert(module.join("::"));
        sources.push((module, text));
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &sources {
        let from = module.join("::");
        // Comments name modules too (`[`crate::infra::events::EVENT_TYPES`]`); only code counts.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut targets = Vec::new();
        for path in paths_after(&code, "crate::") {
            targets.extend(resolve(&path, &modules));
        }
        // `super::x` inside module a::b names a::x (in mod.rs files, `super` is the parent
        // of the directory's module).
        let parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
        for path in paths_after(&code, "super::") {
            let mut full = parent.clone();
            full.extend(path);
            targets.extend(resolve(&full, &modules));
        }
        for to in targets {
            let related = to == from
                || from.starts_with(&format!("{to}::"))
                || to.starts_with(&format!("{from}::"))
                || to == "crate";
            if !related {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    Graph { edges }
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> = graph
        .edges
        .iter()
        .flat_map(|(k, vs)| std::iter::once(k.as_str()).chain(vs.iter().map(String::as_str)))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn every_module_has_a_layer() {
    let graph = graph();
    let unplaced: BTreeSet<&str> = graph
        .edges
        .iter()
        .flat_map(|(k, vs)| std::iter::once(k.as_str()).chain(vs.iter().map(String::as_str)))
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer (add them to LAYERS in platform/tests/layers.rs and to \
         ARCHITECTURE.md): {unplaced:?}"
    );
}

#[test]
fn imports_only_go_down() {
    let graph = graph();
    let mut upward = Vec::new();
    for (from, targets) in &graph.edges {
        let Some((from_rank, from_layer)) = layer_of(from) else {
            continue;
        };
        for to in targets {
            let Some((to_rank, to_layer)) = layer_of(to) else {
                continue;
            };
            if to_rank > from_rank {
                upward.push(format!("{from} ({from_layer}) imports {to} ({to_layer})"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one:\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn no_import_circles() {
    let found = circles(&graph());
    assert!(
        found.is_empty(),
        "import circles between modules:\n  {}",
        found
            .iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// `module` as the folder-level unit it belongs to: `adapters::gateway::auth` →
/// `adapters::gateway`, `domain::payments::view` → `domain::payments`; top-level files stay.
fn unit_of(module: &str) -> String {
    module.split("::").take(2).collect::<Vec<_>>().join("::")
}

/// The same graph between folder-level units (a service, the gateway, the API…): two units
/// that import each other through different files are a circle too.
fn unit_graph(graph: &Graph) -> Graph {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &graph.edges {
        let from = unit_of(from);
        for to in targets {
            let to = unit_of(to);
            if to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    Graph { edges }
}

#[test]
fn no_import_circles_between_folders() {
    let found = circles(&unit_graph(&graph()));
    assert!(
        found.is_empty(),
        "import circles between folders:\n  {}",
        found
            .iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn the_check_sees_a_circle_and_an_upward_import() {
    // The parser and the rule, on a made-up pair: kyc → api is upward, and the two import
    // each other.
    let modules: BTreeSet<String> = ["adapters::api", "adapters::api::accounts", "domain::kyc"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let paths = paths_after(
        "use crate::adapters::api::accounts::AccountObject;\nuse crate::{domain::kyc, adapters::api::accounts};",
        "crate::",
    );
    let resolved: Vec<String> = paths.iter().filter_map(|p| resolve(p, &modules)).collect();
    assert_eq!(
        resolved,
        [
            "adapters::api::accounts",
            "domain::kyc",
            "adapters::api::accounts"
        ]
    );
    assert!(
        layer_of("domain::kyc").map(|l| l.0) < layer_of("adapters::api::accounts").map(|l| l.0)
    );
    let mut edges = BTreeMap::new();
    edges.insert(
        "domain::kyc".to_owned(),
        BTreeSet::from(["adapters::api::accounts".to_owned()]),
    );
    edges.insert(
        "adapters::api::accounts".to_owned(),
        BTreeSet::from(["domain::kyc".to_owned()]),
    );
    // Between folders: state → gateway::rate_limit and gateway::auth → state is no circle
    // between files, but one between the units adapters::state and adapters::gateway.
    let files = Graph {
        edges: BTreeMap::from([
            (
                "adapters::state".to_owned(),
                BTreeSet::from(["adapters::gateway::rate_limit".to_owned()]),
            ),
            (
                "adapters::gateway::auth".to_owned(),
                BTreeSet::from(["adapters::state".to_owned()]),
            ),
        ]),
    };
    assert!(circles(&files).is_empty());
    assert_eq!(circles(&unit_graph(&files)).len(), 1);
    assert_eq!(
        circles(&Graph { edges }),
        [vec![
            "adapters::api::accounts".to_owned(),
            "domain::kyc".to_owned()
        ]]
    );
}
