//! The architecture's invariants are absences; this test keeps them, reading `cargo metadata`.

use serde_json::Value;

/// Crates that hold domain logic: no HTTP, no SQL, no server.
const DOMAIN: &[&str] = &[
    "rampart-crypto",
    "rampart-access",
    "rampart-audit",
    "rampart-privacy",
];
/// What a domain crate must never depend on.
const NOT_IN_DOMAIN: &[&str] = &[
    "axum",
    "hyper",
    "hyper-util",
    "tower",
    "tower-http",
    "reqwest",
    "sqlx",
    "rusqlite",
    "tokio-postgres",
    "postgres",
    "rampart-store",
    "rampart-server",
    "rampart",
];

#[test]
fn dependencies_point_one_way() {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let normal_deps = |name: &str| -> Vec<String> {
        packages
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| {
                p["dependencies"]
                    .as_array()
                    .expect("dependencies")
                    .iter()
                    .filter(|d| d["kind"].is_null())
                    .map(|d| d["name"].as_str().expect("name").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut checked = 0;
    for domain in DOMAIN {
        if !packages.iter().any(|p| p["name"] == *domain) {
            continue;
        }
        checked += 1;
        for dep in normal_deps(domain) {
            assert!(
                !NOT_IN_DOMAIN.contains(&dep.as_str()),
                "{domain} depends on {dep}"
            );
        }
    }
    assert!(checked >= 2, "no domain crate found");
    for dep in normal_deps("rampart-store") {
        assert!(
            ![
                "axum",
                "hyper",
                "tower",
                "tower-http",
                "rampart-server",
                "rampart"
            ]
            .contains(&dep.as_str()),
            "rampart-store depends on {dep}"
        );
    }
    for dep in normal_deps("rampart-server") {
        assert_ne!(dep, "rampart", "the server depends on the binary");
    }
    // Test support is for tests only.
    for package in packages {
        let name = package["name"].as_str().expect("name");
        assert!(
            !normal_deps(name)
                .iter()
                .any(|d| d == "rampart-test-support"),
            "{name} ships with rampart-test-support"
        );
    }
}
