//! The architecture's invariants are absences; this test keeps them, reading `cargo metadata`
//! (the resolved dependency graph, so a forbidden crate pulled in through another one counts
//! too) and the server's sources. Every failure names the crate or file at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Workspace crates that are not domain crates. Every other `rampart-*` crate of the workspace
/// is one (`rampart-crypto`, `rampart-access`, …, and every future `rampart-<domain>`).
const NOT_DOMAIN: &[&str] = &[
    "rampart",
    "rampart-app",
    "rampart-server",
    "rampart-store",
    "rampart-test-support",
];
/// The domain crates that exist today: the test fails if it no longer finds them.
const KNOWN_DOMAIN: &[&str] = &[
    "rampart-crypto",
    "rampart-access",
    "rampart-audit",
    "rampart-privacy",
];
/// What a domain crate never depends on, directly or through another crate: HTTP, SQL and
/// database drivers, and the layers above it.
const NOT_IN_DOMAIN: &[&str] = &[
    "axum",
    "hyper",
    "hyper-util",
    "tower",
    "tower-http",
    "reqwest",
    "sqlx",
    "sqlx-core",
    "rusqlite",
    "libsqlite3-sys",
    "tokio-postgres",
    "postgres",
    "rampart",
    "rampart-app",
    "rampart-server",
    "rampart-store",
];
/// What the application layer never depends on: HTTP, and the layers above it.
const NOT_IN_APP: &[&str] = &[
    "axum",
    "hyper",
    "hyper-util",
    "tower",
    "tower-http",
    "rampart",
    "rampart-server",
];
/// What the store never depends on.
const NOT_IN_STORE: &[&str] = &[
    "axum",
    "hyper",
    "tower",
    "tower-http",
    "rampart",
    "rampart-app",
    "rampart-server",
];
/// SQL the HTTP edge never depends on directly (it reaches storage through the app layer).
const NOT_IN_SERVER: &[&str] = &["sqlx", "rusqlite", "tokio-postgres", "postgres", "rampart"];
/// The allowed dependencies of one domain crate on another (`from`, `to`): DESIGN.md allows one
/// where it is natural (a domain using another's public types), never in a cycle.
const DOMAIN_EDGES: &[(&str, &str)] = &[
    // API keys are a PII type the detector recognizes by their checksum.
    ("rampart-privacy", "rampart-access"),
    // The keys service takes the permission proofs of access control (`Granted<perm::…>`).
    ("rampart-crypto", "rampart-access"),
    // The keys service commits its changes through the audit log's `Journal`.
    ("rampart-crypto", "rampart-audit"),
    // The card vault seals a validated card number (`Pan`), the type the PII engine detects.
    ("rampart-crypto", "rampart-privacy"),
    // The identity service commits its changes through the audit log's `Journal`.
    ("rampart-access", "rampart-audit"),
    // Detection rules read audit entries (`Entry`, `Status`) in `seq` order.
    ("rampart-monitor", "rampart-audit"),
    // Rule files and bodies are read, and refused field by field, the same way everywhere.
    ("rampart-threat", "rampart-document"),
    ("rampart-monitor", "rampart-document"),
    ("rampart-subjects", "rampart-document"),
    ("rampart-retention", "rampart-document"),
    // Subject keys are sealed by the KEK and written as Rampart's ciphertext envelope.
    ("rampart-subjects", "rampart-crypto"),
    // An erasure's `erasure.requested` deliveries enter the monitor's webhook outbox in the
    // erasure's own transaction.
    ("rampart-subjects", "rampart-monitor"),
    // A disposal run's `retention.due` deliveries enter the outbox with the run's progress.
    ("rampart-retention", "rampart-monitor"),
    ("rampart-agents", "rampart-document"),
    // Waiver bodies are refused field by field like every document.
    ("rampart-compliance", "rampart-document"),
    // Reports are signed documents; an evidence package's audit export and checkpoint are
    // verified offline by the audit log's own verifier.
    ("rampart-compliance", "rampart-audit"),
    // A pending action's `approval.requested` deliveries enter the outbox with the action.
    ("rampart-agents", "rampart-monitor"),
];
/// Files under `crates/rampart-server/src` that still name `rampart_store`: start-up wiring and
/// the services not yet moved out of the server. This list only shrinks; a file on it that no
/// longer names the store fails the test until it is taken off.
const STORE_NAMED_IN_SERVER: &[&str] = &["http/audit_trail.rs", "identity_cache.rs", "state.rs"];

/// The workspace's crates and the resolved graph of every package they use.
struct Graph {
    /// Package id → name.
    names: BTreeMap<String, String>,
    /// Package id → (dependency id, kinds: "normal", "dev", "build").
    deps: BTreeMap<String, Vec<(String, BTreeSet<String>)>>,
    /// Workspace crate name → package id.
    members: BTreeMap<String, String>,
}

impl Graph {
    fn load() -> Self {
        let metadata = cargo_metadata();
        let names: BTreeMap<String, String> = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (text(&p["id"]), text(&p["name"])))
            .collect();
        let members = metadata["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .map(|id| (names[&text(id)].clone(), text(id)))
            .collect();
        let deps = metadata["resolve"]["nodes"]
            .as_array()
            .expect("resolve.nodes")
            .iter()
            .map(|node| {
                let edges = node["deps"]
                    .as_array()
                    .expect("deps")
                    .iter()
                    .map(|dep| {
                        let kinds = dep["dep_kinds"]
                            .as_array()
                            .expect("dep_kinds")
                            .iter()
                            .map(|k| k["kind"].as_str().unwrap_or("normal").to_owned())
                            .collect();
                        (text(&dep["pkg"]), kinds)
                    })
                    .collect();
                (text(&node["id"]), edges)
            })
            .collect();
        Self {
            names,
            deps,
            members,
        }
    }

    fn id(&self, name: &str) -> Option<&String> {
        self.members.get(name)
    }

    fn name(&self, id: &str) -> &str {
        &self.names[id]
    }

    /// The direct dependencies of `id` of one of `kinds`.
    fn direct<'a>(&'a self, id: &str, kinds: &[&str]) -> impl Iterator<Item = &'a str> + 'a {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        self.deps
            .get(id)
            .into_iter()
            .flatten()
            .filter(move |(_, k)| k.iter().any(|kind| kinds.contains(kind)))
            .map(|(dep, _)| dep.as_str())
    }

    /// Every package `name` uses at run time (normal dependencies, transitively), each with the
    /// path through which it comes in: `["rampart-privacy", "rampart-access", "ring"]`.
    fn runtime_closure(&self, name: &str) -> BTreeMap<String, Vec<String>> {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let Some(start) = self.id(name) else {
            return seen;
        };
        let mut queue = vec![(start.clone(), vec![name.to_owned()])];
        while let Some((id, path)) = queue.pop() {
            for dep in self.direct(&id, &["normal"]) {
                let dep_name = self.name(dep).to_owned();
                if seen.contains_key(&dep_name) {
                    continue;
                }
                let mut through = path.clone();
                through.push(dep_name.clone());
                seen.insert(dep_name, through.clone());
                queue.push((dep.to_owned(), through));
            }
        }
        seen
    }

    /// The workspace crates that are domain crates.
    fn domain_crates(&self) -> Vec<&str> {
        self.members
            .keys()
            .map(String::as_str)
            .filter(|name| name.starts_with("rampart-") && !NOT_DOMAIN.contains(name))
            .collect()
    }
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

fn cargo_metadata() -> Value {
    // Offline, the full graph would need every platform's crates downloaded: resolve for the
    // host only (the platform CI builds on).
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc names its host");
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("metadata is JSON")
}

/// `crate depends on X (through a -> b -> X)` for every forbidden package in `name`'s closure.
fn forbidden_in(graph: &Graph, name: &str, forbidden: &[&str]) -> Vec<String> {
    graph
        .runtime_closure(name)
        .into_iter()
        .filter(|(dep, _)| forbidden.contains(&dep.as_str()))
        .map(|(dep, path)| format!("{name} depends on {dep} (through {})", path.join(" -> ")))
        .collect()
}

fn assert_none(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

#[test]
fn domain_crates_know_no_http_no_sql_and_no_layer_above_them() {
    let graph = Graph::load();
    let domain = graph.domain_crates();
    for known in KNOWN_DOMAIN {
        assert!(
            domain.contains(known),
            "{known} is no longer a workspace crate: update KNOWN_DOMAIN"
        );
    }
    let problems: Vec<String> = domain
        .iter()
        .flat_map(|name| forbidden_in(&graph, name, NOT_IN_DOMAIN))
        .collect();
    assert_none(
        &problems,
        "a domain crate depends on HTTP, SQL or a layer above it",
    );
}

#[test]
fn the_app_layer_and_the_store_know_no_http() {
    let graph = Graph::load();
    let mut problems = Vec::new();
    if graph.id("rampart-app").is_some() {
        problems.extend(forbidden_in(&graph, "rampart-app", NOT_IN_APP));
    }
    problems.extend(forbidden_in(&graph, "rampart-store", NOT_IN_STORE));
    assert_none(&problems, "a layer below the HTTP edge depends on HTTP");
}

#[test]
fn the_server_has_no_sql_and_the_binary_is_on_top() {
    let graph = Graph::load();
    let server = graph
        .id("rampart-server")
        .expect("rampart-server is a member");
    let problems: Vec<String> = graph
        .direct(server, &["normal", "build"])
        .map(|dep| graph.name(dep))
        .filter(|dep| NOT_IN_SERVER.contains(dep))
        .map(|dep| format!("rampart-server depends on {dep} (crates/rampart-server/Cargo.toml)"))
        .collect();
    assert_none(&problems, "the HTTP edge depends on SQL or on the binary");
}

#[test]
fn domain_crates_depend_on_each_other_only_as_allowed() {
    let graph = Graph::load();
    let domain = graph.domain_crates();
    let mut problems = Vec::new();
    for from in &domain {
        let id = graph.id(from).expect("member");
        for dep in graph.direct(id, &["normal", "build"]) {
            let to = graph.name(dep);
            if domain.contains(&to) && !DOMAIN_EDGES.contains(&(from, to)) {
                problems.push(format!(
                    "{from} depends on {to} (crates/{from}/Cargo.toml): not in DOMAIN_EDGES"
                ));
            }
        }
    }
    assert_none(
        &problems,
        "a domain-to-domain dependency that is not allowed",
    );
}

#[test]
fn workspace_crates_form_no_cycle() {
    // Cargo refuses cycles of normal dependencies, not those closed by a dev-dependency: look
    // at every kind.
    let graph = Graph::load();
    let edges: BTreeMap<&str, Vec<&str>> = graph
        .members
        .iter()
        .map(|(name, id)| {
            let deps = graph
                .direct(id, &["normal", "build", "dev"])
                .map(|dep| graph.name(dep))
                .filter(|dep| graph.members.contains_key(*dep) && dep != name)
                .collect();
            (name.as_str(), deps)
        })
        .collect();
    // Depth-first search; a back edge is a cycle, reported with its crates.
    fn visit<'a>(
        node: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle: Vec<&str> = stack[at..].to_vec();
            cycle.push(node);
            cycles.push(cycle.join(" -> "));
            return;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, cycles);
        }
        stack.pop();
        done.insert(node);
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert_none(&cycles, "workspace crates depend on each other in a cycle");
}

#[test]
fn test_support_ships_with_nothing() {
    let graph = Graph::load();
    let problems: Vec<String> = graph
        .members
        .keys()
        .filter(|name| {
            graph
                .runtime_closure(name)
                .contains_key("rampart-test-support")
        })
        .map(|name| format!("{name} ships with rampart-test-support (crates/{name}/Cargo.toml)"))
        .collect();
    assert_none(&problems, "test support is for tests only");
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("reads the directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Whether a line of code (not a comment) names `ident` as a whole identifier.
fn names(line: &str, ident: &str) -> bool {
    let code = line.trim_start();
    if code.starts_with("//") {
        return false;
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(ident).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + ident.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn the_server_names_the_store_only_in_its_wiring() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-server/src");
    let mut naming = BTreeSet::new();
    let mut problems = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(&file).expect("reads the file");
        for (number, line) in source.lines().enumerate() {
            if names(line, "rampart_store") {
                naming.insert(relative.clone());
                if !STORE_NAMED_IN_SERVER.contains(&relative.as_str()) {
                    problems.push(format!(
                        "crates/rampart-server/src/{relative}:{}: names rampart_store: `{}`",
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    for allowed in STORE_NAMED_IN_SERVER {
        if !naming.contains(*allowed) {
            problems.push(format!(
                "crates/rampart-server/src/{allowed} no longer names rampart_store: take it off STORE_NAMED_IN_SERVER"
            ));
        }
    }
    assert_none(
        &problems,
        "the HTTP edge reaches the store outside its start-up wiring (handlers call services)",
    );
}
