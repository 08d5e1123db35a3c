//! The house rules of this crate's modules, checked on its source: every module imports
//! only modules below it in `LAYERS`, and no two files or folders of one folder import
//! each other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate's top-level modules, lowest first: each may import those before it only.
const LAYERS: [&str; 11] = [
    "index",
    "service",
    "ratelimit",
    "auth",
    "cluster",
    "reconciler",
    "config",
    "state",
    "http",
    "surfaces",
    "app",
];

/// Every source file of the crate as its module path (`surfaces/native/decisions`) and
/// its text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, found: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read the source") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).expect("under src");
                let name = relative
                    .with_extension("")
                    .to_string_lossy()
                    .replace('\\', "/");
                let name = name.strip_suffix("/mod").unwrap_or(&name).to_string();
                let text = std::fs::read_to_string(&path).expect("read");
                found.insert(name, text);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    walk(&root, &root, &mut found);
    found
}

/// The modules a file names through `crate::` and `super::` paths (the longest existing
/// prefix of each), other than itself and its own descendants.
fn imports(module: &str, text: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let folder: Vec<String> = module.split('/').map(str::to_string).collect();
    let parent = folder[..folder.len().saturating_sub(1)].to_vec();
    let mut named = BTreeSet::new();
    for (anchor, start) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = text;
        while let Some(at) = rest.find(anchor) {
            rest = &rest[at + anchor.len()..];
            let mut current: Vec<String> = start.clone();
            let mut target = None;
            for part in rest.split("::") {
                let part: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if part.is_empty() {
                    break;
                }
                current.push(part);
                let joined = current.join("/");
                if !all.contains_key(&joined) {
                    break;
                }
                target = Some(joined);
            }
            if let Some(target) = target {
                if target != module && !module.starts_with(&format!("{target}/")) {
                    named.insert(target);
                }
            }
        }
    }
    named
}

#[test]
fn modules_import_only_lower_layers() {
    let all = modules();
    let layer = |module: &str| {
        let top = module.split('/').next().unwrap_or(module);
        LAYERS.iter().position(|l| *l == top)
    };
    let mut wrong = Vec::new();
    for (module, text) in &all {
        let Some(mine) = layer(module) else { continue };
        for target in imports(module, text, &all) {
            if let Some(theirs) = layer(&target) {
                if theirs > mine {
                    wrong.push(format!("{module} imports {target}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports up the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_folder_has_an_import_cycle() {
    let all = modules();
    // Each import seen between the two siblings (files or folders) it crosses.
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &all {
        for target in imports(module, text, &all) {
            let (a, b): (Vec<&str>, Vec<&str>) =
                (module.split('/').collect(), target.split('/').collect());
            let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            if common < a.len() && common < b.len() {
                let from = a[..=common].join("/");
                let to = b[..=common].join("/");
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    // A cycle exists if some sibling reaches itself.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                cycles.push(start.clone());
                break;
            }
            if seen.insert(next.clone()) {
                stack.extend(edges.get(next).into_iter().flatten());
            }
        }
    }
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
}
