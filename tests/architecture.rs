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
