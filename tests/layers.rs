//! The layer rule of the code (README, "Code map"): http → domain → db, each pointing only
//! down. This reads the `crate::` (and `super::`/`self::`) paths of every file under
//! `src/` — `use` lines and paths written inline, comments and unit-test modules left out —
//! and fails naming the file and the import that points up. Run it alone with
//! `cargo test --test layers`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Every source file, as a path relative to `src/` ("calls/store.rs").
fn source_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).expect("under src");
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    files
}

/// The module path of a file: `calls/store.rs` → `[calls, store]`, `calls/mod.rs` → `[calls]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file.trim_end_matches(".rs").split('/').map(String::from).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The text that counts: no comments, no `#[cfg(test)] mod …` at the end of the file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let mut depth = 0;
    let mut item = String::new();
    for c in tree.chars().chain(std::iter::once(',')) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            let item = std::mem::take(&mut item);
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match item.split_once('{') {
                Some((head, rest)) => {
                    let mut base = prefix.to_vec();
                    base.extend(head.split("::").filter(|p| !p.is_empty()).map(|p| p.trim().to_string()));
                    expand(&base, rest.trim_end().trim_end_matches('}'), out);
                }
                None => {
                    let path = item.split_whitespace().next().unwrap_or("");
                    let mut full = prefix.to_vec();
                    full.extend(path.split("::").filter(|p| !p.is_empty()).map(String::from));
                    out.push(full);
                }
            }
            continue;
        }
        item.push(c);
    }
}

/// Every path a file names.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            let before = at.checked_sub(1).map(|i| bytes[i] as char);
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |n| at + n);
            paths.push(
                code[at..end]
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    let mut from = 0;
    while let Some(found) = code[from..].find("use ") {
        let at = from + found;
        from = at + 4;
        let before = at.checked_sub(1).map(|i| bytes[i] as char);
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(end) = code[from..].find(';') {
            expand(&[], &code[from..from + end], &mut paths);
        }
    }
    paths
}

/// Which files each file imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = source_files();
    let known: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    // The longest module prefix of `parts` that is a file.
    let file_of = |parts: &[String]| -> Option<String> {
        (1..=parts.len()).rev().find_map(|n| {
            let path = parts[..n].join("/");
            [format!("{path}.rs"), format!("{path}/mod.rs")]
                .into_iter()
                .find(|candidate| known.contains(candidate.as_str()))
        })
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(root.join(file)).expect("source file"));
        let me = module_of(file);
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|line| {
                let line = line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
                line.strip_prefix("mod ")?.strip_suffix(';').map(String::from)
            })
            .collect();
        let mut imports = BTreeSet::new();
        for path in paths_in(&code) {
            let Some(first) = path.first() else { continue };
            let parts: Vec<String> = match first.as_str() {
                "crate" => path[1..].to_vec(),
                "self" => me.iter().chain(&path[1..]).cloned().collect(),
                "super" => {
                    let ups = path.iter().take_while(|p| *p == "super").count();
                    let base = &me[..me.len().saturating_sub(ups)];
                    base.iter().chain(&path[ups..]).cloned().collect()
                }
                child if children.contains(child) => me.iter().chain(&path).cloned().collect(),
                _ => continue,
            };
            let modules: Vec<String> = parts
                .into_iter()
                .take_while(|p| p.starts_with(|c: char| c.is_ascii_lowercase()))
                .collect();
            if let Some(target) = file_of(&modules).filter(|target| target != file) {
                imports.insert(target);
            }
        }
        graph.insert(file.clone(), imports);
    }
    graph
}

/// A path `from → … → from`, if `from` is on a cycle.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(file) = queue.pop_front() {
        for next in graph.get(file).into_iter().flatten() {
            if next == from {
                let mut path = vec![from.to_string(), file.to_string()];
                let mut at = file;
                while let Some(&before) = came_from.get(at) {
                    path.insert(1, before.to_string());
                    at = before;
                }
                path.dedup();
                path.push(from.to_string());
                return Some(path);
            }
            if !came_from.contains_key(next.as_str()) && next != from {
                came_from.insert(next, file);
                queue.push_back(next);
            }
        }
    }
    None
}

/// The HTTP layer and the tasks around it: what only the top may import.
fn is_top(file: &str) -> bool {
    file.starts_with("http/")
        || file.ends_with("/routes.rs")
        || file.ends_with("/delivery.rs")
        || [
            "app.rs",
            "cli.rs",
            "state.rs",
            "sweeper.rs",
            "console.rs",
            "realtime/socket.rs",
            "realtime/dashboard.rs",
        ]
        .contains(&file)
}

/// The domain's files that hold its rules and SQL.
fn is_store(file: &str) -> bool {
    [
        "/store.rs",
        "/rules.rs",
        "/jobs.rs",
        "/queue.rs",
        "/chat.rs",
        "/scope.rs",
        "/privacy.rs",
    ]
    .iter()
    .any(|suffix| file.ends_with(suffix))
        || [
            "events.rs",
            "schedule.rs",
            "email/events.rs",
            "email/templates.rs",
            "webhooks/mod.rs",
        ]
        .contains(&file)
}

#[test]
fn no_store_imports_http_state_the_sweeper_or_realtime() {
    let graph = import_graph();
    let mut upward = Vec::new();
    for (file, imports) in &graph {
        if !is_store(file) {
            continue;
        }
        for target in imports {
            if is_top(target) || target.starts_with("realtime/") {
                upward.push(format!("{file} imports {target}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up:\n{}", upward.join("\n"));
}

#[test]
fn db_imports_only_the_base_modules() {
    let base = ["error.rs", "config.rs", "time.rs", "actor.rs"];
    let graph = import_graph();
    let mut upward = Vec::new();
    for (file, imports) in graph.iter().filter(|(file, _)| file.starts_with("db/")) {
        for target in imports {
            if !target.starts_with("db/") && !base.contains(&target.as_str()) {
                upward.push(format!("{file} imports {target}"));
            }
        }
    }
    assert!(upward.is_empty(), "db depends on:\n{}", upward.join("\n"));
}

#[test]
fn no_import_cycle_runs_through_app_or_state() {
    let graph = import_graph();
    for file in ["app.rs", "state.rs"] {
        if let Some(cycle) = cycle_through(&graph, file) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
    // Only the command line and the binary wire the application together.
    let wiring: Vec<&String> = graph
        .iter()
        .filter(|(file, imports)| {
            imports.contains("app.rs") && !["cli.rs", "lib.rs", "main.rs"].contains(&file.as_str())
        })
        .map(|(file, _)| file)
        .collect();
    assert!(wiring.is_empty(), "{wiring:?} import app.rs");
}

#[test]
fn the_checker_sees_an_upward_import() {
    let code = code_of(
        "use crate::http::pagination::{Page, Paging};\n// crate::app::router\nfn f() { crate::state::stop(); }\n",
    );
    let paths = paths_in(&code);
    assert!(paths.iter().any(|p| p.join("::") == "crate::http::pagination::Page"));
    assert!(paths.iter().any(|p| p.join("::") == "crate::state::stop"));
    assert!(
        !paths.iter().any(|p| p.contains(&"app".to_string())),
        "comments are not imports"
    );
}
