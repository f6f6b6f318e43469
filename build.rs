//! Embeds the bundled chart's files so an installed binary can write them out for helm.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read assets")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).expect("prefix").to_path_buf());
        }
    }
}

fn main() {
    // Read when the script runs, not when it was compiled: a script built for another
    // checkout sharing this target directory would otherwise read that checkout's chart.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("assets/charts/posthog-mini");
    println!("cargo:rerun-if-changed=assets/charts/posthog-mini");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let mut code = String::from(
        "/// Bundled chart files: (path relative to the chart, contents).\npub static BUNDLED_CHART_FILES: &[(&str, &[u8])] = &[\n",
    );
    let mut hash: u64 = 0xcbf29ce484222325;
    for f in &files {
        let abs = root.join(f);
        println!("cargo:rerun-if-changed={}", abs.display());
        for b in std::fs::read(&abs)
            .expect("read asset")
            .iter()
            .chain(f.to_string_lossy().as_bytes())
        {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
        writeln!(
            code,
            "    ({:?}, include_bytes!({:?})),",
            f.to_string_lossy(),
            abs.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    writeln!(code, "/// Content hash, so a changed chart is extracted afresh.\npub const BUNDLED_CHART_HASH: &str = \"{hash:016x}\";").unwrap();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundled_chart.rs");
    std::fs::write(out, code).expect("write generated");
}
