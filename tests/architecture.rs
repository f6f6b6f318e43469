//! The layers stay honest: the top-level modules of `src/` form no import cycle, the front
//! ends never reach into each other, and no product module uses the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Each top-level module of `src/` and the other top-level modules it names as `crate::X`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("read");
        let deps = map.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    map
}

#[test]
fn the_top_level_modules_form_no_import_cycle() {
    let map = imports();
    // Depth-first search; a grey node met again closes a cycle.
    fn visit(
        m: &str,
        map: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) {
        match state.get(m) {
            Some(2) => return,
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap_or(0);
                panic!("import cycle: {} -> {m}", path[start..].join(" -> "));
            }
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for d in map.get(m).into_iter().flatten() {
            if map.contains_key(d) {
                visit(d, map, state, path);
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    for m in map.keys() {
        visit(m, &map, &mut state, &mut Vec::new());
    }
    assert!(map.len() > 10, "found only {:?}", map.keys());
}

#[test]
fn the_engine_and_the_app_never_use_the_cli_and_product_code_never_uses_the_simulator() {
    let map = imports();
    for m in ["deploy", "tui"] {
        assert!(!map[m].contains("cli"), "{m} imports cli");
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in files {
        if f.ends_with("cli/sim.rs") {
            continue; // `helmdeck sim` and `helmdeck demo` start it: that is their job.
        }
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(
            !text.contains("helmdeck_sim"),
            "{} uses the simulator",
            f.display()
        );
    }
}

/// The text of a source file without its test modules (`#[cfg(test)]` and what follows it:
/// this project keeps its unit tests at the end of a file).
fn product_text(f: &Path) -> String {
    let text = std::fs::read_to_string(f).expect("read");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn product_files() -> Vec<PathBuf> {
    files_under("src")
}

/// The Rust files under a folder of the project, in path order; a file holding only tests
/// (`tests.rs`, `*_tests.rs`) is not product code.
fn files_under(dir: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| {
        let stem = f.file_stem().map(|s| s.to_string_lossy().to_string());
        !stem.is_some_and(|s| s == "tests" || s.ends_with("_tests"))
    });
    files.sort();
    files
}

fn rel(f: &Path) -> String {
    f.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(f)
        .display()
        .to_string()
}

/// Strips string and char literals and comments from a line, so braces in them do not count.
fn code_only(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '/' if chars.peek() == Some(&'/') => break,
            '\'' => {
                // A char literal ('{', '\n'), not a lifetime ('a).
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with('\\') {
                    let skip = rest.find('\'').map_or(0, |i| i + 1);
                    for _ in 0..skip.max(1) {
                        chars.next();
                    }
                    if skip == 0 {
                        while chars.next().is_some_and(|c| c != '\'') {}
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every function of the product code under `dir` longer than `limit` lines, as
/// `file::name (lines)`.
fn long_functions(dir: &str, limit: usize) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for f in files_under(dir) {
        let text = product_text(&f);
        let lines: Vec<String> = text.lines().map(code_only).collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let Some(at) = t.find("fn ") else { continue };
            let head = &t[..at];
            let is_fn = head.split_whitespace().all(|w| {
                matches!(w, "pub" | "async" | "const" | "unsafe") || w.starts_with("pub(")
            });
            if !is_fn {
                continue;
            }
            let name: String = t[at + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let (mut depth, mut started) = (0i64, false);
            for (j, l) in lines.iter().enumerate().skip(i) {
                for c in l.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            started = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                if !started && l.trim_end().ends_with(';') {
                    break;
                }
                if started && depth <= 0 {
                    let len = j - i + 1;
                    if len > limit {
                        out.insert(format!("{}::{name}", rel(&f)), len);
                    }
                    break;
                }
            }
        }
    }
    out
}

/// Checks offenders against the known ones issue 23 is taking apart: a new one fails, and so
/// does a known one that is gone (take it off the list, so it cannot come back).
fn ratchet(what: &str, found: BTreeSet<String>, known: &[&str]) {
    let known: BTreeSet<String> = known.iter().map(|s| s.to_string()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(new.is_empty(), "{what}, new: {new:#?}");
    assert!(
        gone.is_empty(),
        "{what}: these are fixed; take them off the known list: {gone:#?}"
    );
}

/// A function over 150 lines is a design question (shared/STYLE.md): answer it with a split
/// by concern. The known ones are being taken apart.
#[test]
fn no_function_outside_tests_is_over_150_lines() {
    let found = long_functions("src", 150);
    ratchet(
        "functions over 150 lines",
        found.keys().cloned().collect(),
        &[],
    );
}

/// The simulated cluster is held to the same rule: a controller, a route or a store write
/// longer than 150 lines is taken apart by concern.
#[test]
fn no_function_of_the_simulator_is_over_150_lines() {
    let found = long_functions("crates/helmdeck-sim/src", 150);
    ratchet(
        "functions of the simulator over 150 lines",
        found.keys().cloned().collect(),
        &[],
    );
}

/// For each folder under `src/`, the modules of that folder (its files and its subfolders, a
/// subfolder counting as one module with everything in it) and the other modules of the same
/// folder each names (`super::x`, `super::super::x`, `crate::dir::x`). The folder's own
/// `mod.rs` is its root, not one of the modules.
fn sibling_imports() -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut by_dir: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in product_files() {
        let text = product_text(&f);
        let rel_parts: Vec<String> = f
            .strip_prefix(&src)
            .expect("under src")
            .components()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .collect();
        // Each folder above the file (src itself is the crate root's, left to the top-level
        // test), with the module the file belongs to in it.
        for depth in 1..rel_parts.len() {
            let dir_parts = &rel_parts[..depth];
            let node = rel_parts[depth].clone();
            if node == "mod" {
                continue; // the folder's root
            }
            let dir = dir_parts.iter().fold(src.clone(), |d, p| d.join(p));
            let modules: BTreeSet<String> = std::fs::read_dir(&dir)
                .expect("dir")
                .flatten()
                .filter_map(|e| {
                    let p = e.path();
                    let name = p.file_stem()?.to_string_lossy().to_string();
                    (name != "mod" && (p.is_dir() || p.extension()? == "rs")).then_some(name)
                })
                .collect();
            // How the file names the folder's modules: `super::` once per level below the
            // folder, or the absolute path.
            let ups =
                rel_parts.len() - depth - usize::from(rel_parts.last().is_some_and(|l| l == "mod"));
            let prefixes = [
                "super::".repeat(ups),
                format!("crate::{}::", dir_parts.join("::")),
            ];
            let mut names = BTreeSet::new();
            for prefix in prefixes {
                for (i, _) in text.match_indices(&prefix) {
                    // `super::super::x` is not `super::x` one level deeper.
                    if prefix.starts_with("super") && text[..i].ends_with("super::") {
                        continue;
                    }
                    let rest = &text[i + prefix.len()..];
                    // `super::{a, b::C}` names each of a and b.
                    let list: Vec<&str> = match rest.strip_prefix('{') {
                        Some(inner) => inner.split('}').next().unwrap_or("").split(',').collect(),
                        None => vec![rest],
                    };
                    for item in list {
                        let name: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if modules.contains(&name) && name != node {
                            names.insert(name);
                        }
                    }
                }
            }
            by_dir
                .entry(dir)
                .or_default()
                .entry(node)
                .or_default()
                .extend(names);
        }
    }
    by_dir
}

/// Imports between files of one folder that close a circle, as `dir: a -> b` where `b`
/// leads back to `a`: each such import is one to remove.
fn folder_cycles() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (dir, map) in sibling_imports() {
        let reaches = |from: &str, to: &str| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![from.to_string()];
            while let Some(m) = stack.pop() {
                if m == to {
                    return true;
                }
                if seen.insert(m.clone()) {
                    stack.extend(map.get(&m).into_iter().flatten().cloned());
                }
            }
            false
        };
        for (a, deps) in &map {
            for b in deps {
                if reaches(b, a) {
                    found.insert(format!("{}: {a} -> {b}", rel(&dir)));
                }
            }
        }
    }
    found
}

#[test]
fn the_files_of_a_folder_import_each_other_in_no_circle() {
    ratchet(
        "import circles among a folder's files",
        folder_cycles(),
        &[],
    );
}

/// Screens own their state: no module under `src/tui` but its root reaches for the root `App`.
#[test]
fn only_the_apps_root_uses_the_root_app() {
    let mut found = BTreeSet::new();
    for f in product_files() {
        let r = rel(&f);
        if !r.starts_with("src/tui/") || r == "src/tui/mod.rs" || r == "src/tui/app.rs" {
            continue;
        }
        let text = product_text(&f);
        // `App` as a whole word where a type is named: `app::App`, `{App, …}`, `impl App`,
        // `&App`, `&mut App`.
        let uses = text.match_indices("App").any(|(i, _)| {
            let after = text[i + 3..].chars().next();
            let whole = !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let before = &text[..i];
            whole
                && ["app::", "{", "{ ", ", ", "impl ", "&", "&mut "]
                    .iter()
                    .any(|p| before.ends_with(p))
        });
        if uses {
            found.insert(r);
        }
    }
    ratchet("modules under src/tui using the root App", found, &[]);
}

/// `Result<_, String>` in a public signature: errors across module boundaries are types.
#[test]
fn no_public_signature_returns_a_string_error() {
    let mut found = BTreeSet::new();
    for f in product_files() {
        let text = product_text(&f);
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !(t.starts_with("pub fn ") || t.starts_with("pub async fn ")) {
                continue;
            }
            // The signature runs to its body's brace or its semicolon.
            let mut sig = String::new();
            for l in &lines[i..] {
                let code = code_only(l);
                match code.find(['{', ';']) {
                    Some(end) if code[..end].contains(')') || code.contains(") ->") => {
                        sig.push_str(&code[..end]);
                        break;
                    }
                    _ => sig.push_str(&code),
                }
                sig.push(' ');
            }
            let compact: String = sig.split_whitespace().collect::<Vec<_>>().join(" ");
            if compact.contains(", String>") && compact.contains("Result<") {
                let name: String = t
                    .trim_start_matches("pub async fn ")
                    .trim_start_matches("pub fn ")
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(format!("{}::{name}", rel(&f)));
            }
        }
    }
    ratchet("public functions returning Result<_, String>", found, &[]);
}

/// Judgement apart from I/O: the analysers read what was observed (`observed`, a leaf) and never
/// reach for the cluster; what was observed depends on nothing above it.
#[test]
fn the_analysers_never_touch_the_cluster_and_what_was_observed_is_a_leaf() {
    let map = imports();
    assert!(
        !map["health"].contains("cluster"),
        "health imports cluster: {:?}",
        map["health"]
    );
    let above: Vec<&String> = map["observed"]
        .iter()
        .filter(|m| !matches!(m.as_str(), "quantity" | "verdict" | "time"))
        .collect();
    assert!(above.is_empty(), "observed imports {above:?}");
}
