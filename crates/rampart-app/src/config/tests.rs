use super::*;
use secrecy::ExposeSecret as _;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn layers_apply_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rampart.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1000\"\nbody_limit_bytes = 2048\nmetrics_enabled = false\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
    )
    .expect("write");
    let loaded = Settings::load(
        Some(&file),
        env(&[
            ("RAMPART_LISTEN", "127.0.0.1:2000"),
            ("RAMPART_LOCKOUT_SECONDS", "60"),
            (
                "RAMPART_CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example",
            ),
            ("OTHER", "ignored"),
        ]),
        &FlagOverrides {
            data_dir: Some(PathBuf::from("/flags/dir")),
            ..FlagOverrides::default()
        },
    )
    .expect("loads");
    let s = loaded.settings;
    assert_eq!(s.listen, "127.0.0.1:2000".parse().expect("addr"));
    assert_eq!(s.body_limit_bytes, 2048);
    assert!(!s.metrics_enabled);
    assert_eq!(s.lockout_seconds, 60);
    assert_eq!(s.data_dir, PathBuf::from("/flags/dir"));
    assert_eq!(
        s.trusted_proxies,
        vec!["10.0.0.0/8".parse::<IpNet>().expect("net")]
    );
    assert_eq!(s.cors_allowed_origins.len(), 2);
    assert_eq!(s.max_login_attempts, 5);
    assert_eq!(s.account_lockout_failures, 50);
}

#[test]
fn bad_values_name_the_setting_and_source() {
    let err = Settings::load(
        None,
        env(&[("RAMPART_BODY_LIMIT_BYTES", "lots")]),
        &FlagOverrides::default(),
    )
    .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("body_limit_bytes") && text.contains("RAMPART_"),
        "{text}"
    );
    for (key, value) in [
        ("RAMPART_LISTEN", "nowhere"),
        ("RAMPART_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("RAMPART_CORS_ALLOWED_ORIGINS", "app.example.com"),
        (
            "RAMPART_CORS_ALLOWED_ORIGINS",
            "https://app.example.com\u{7f}",
        ),
        ("RAMPART_DATABASE_URL", "mysql://x"),
        ("RAMPART_METRICS_ENABLED", "maybe"),
        ("RAMPART_LOCKOUT_SECONDS", "0"),
        ("RAMPART_FORWARDED_HEADER", "x-real-ip"),
        ("RAMPART_FORWARDED_HEADER", ""),
        ("RAMPART_MAX_CONNECTIONS", "0"),
        ("RAMPART_MAX_CONNECTIONS", "-1"),
        ("RAMPART_MAX_CONNECTIONS", "1000001"),
        ("RAMPART_MAX_CONNECTIONS_PER_ADDRESS", "many"),
        ("RAMPART_MAX_CONNECTIONS_PER_ADDRESS", "0"),
        ("RAMPART_IDLE_TIMEOUT_SECONDS", "0"),
        ("RAMPART_IDLE_TIMEOUT_SECONDS", "86401"),
        ("RAMPART_IDLE_TIMEOUT_SECONDS", "18446744073709551616"),
        ("RAMPART_LOG_LEVEL", "verbose"),
        ("RAMPART_LOG_LEVEL", ""),
        ("RAMPART_LOG_LEVEL", "rampart=loud"),
        ("RAMPART_LOG_LEVEL", "=debug"),
        ("RAMPART_LOG_LEVEL", "info,rampart=debug,,"),
    ] {
        assert!(
            Settings::load(None, env(&[(key, value)]), &FlagOverrides::default()).is_err(),
            "{key}={value} accepted"
        );
    }
}

#[test]
fn unknown_variables_are_refused_with_a_suggestion() {
    for (name, meant) in [
        ("RAMPART_LISTEN_ADDR", Some("RAMPART_LISTEN")),
        ("RAMPART_LSITEN", Some("RAMPART_LISTEN")),
        ("RAMPART_DATADIR", Some("RAMPART_DATA_DIR")),
        ("RAMPART_MASTERKEY", Some("RAMPART_MASTER_KEY")),
        ("RAMPART_SOMETHING_ELSE_ENTIRELY", None),
    ] {
        let err =
            Settings::load(None, env(&[(name, "1")]), &FlagOverrides::default()).expect_err(name);
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
        match meant {
            Some(meant) => assert!(
                message.contains(&format!("did you mean {meant}?")),
                "{message}"
            ),
            None => assert!(!message.contains("did you mean"), "{message}"),
        }
    }
    let known = env(&[
        ("RAMPART_MASTER_KEY", "x"),
        ("RAMPART_ADDR", "http://127.0.0.1:8470"),
        ("RAMPART_TOKEN", "rk_x"),
        ("RAMPART_LISTEN", "127.0.0.1:9000"),
        ("OTHER_VARIABLE", "ignored"),
    ]);
    assert!(Settings::load(None, known, &FlagOverrides::default()).is_ok());
}

#[test]
fn toml_errors_give_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, at) in [
        (
            "listen = \"127.0.0.1:9000\"\nbody_limit_bytes = \"lots\n",
            "line 2, column",
        ),
        (
            "listen = \"127.0.0.1:9000\"\n\nlisten_addr = 3\n",
            "line 3, column 1",
        ),
        (
            "max_connections = 10\nmetrics_enabled = maybe\n",
            "line 2, column",
        ),
    ] {
        let path = dir.path().join("rampart.toml");
        std::fs::write(&path, text).expect("writes");
        let err =
            Settings::load(Some(&path), env(&[]), &FlagOverrides::default()).expect_err("refused");
        let message = err.to_string();
        assert!(message.contains(at), "{text:?}: {message}");
    }
}

#[test]
fn log_filters_are_levels_or_target_directives() {
    for good in [
        "info",
        "WARN",
        "rampart=debug,info",
        "rampart_app::jobs=trace, warn",
        "off",
    ] {
        let loaded = Settings::load(
            None,
            env(&[("RAMPART_LOG_LEVEL", good)]),
            &FlagOverrides::default(),
        );
        let level = loaded
            .map(|l| l.settings.log_level)
            .map_err(|e| e.to_string());
        assert_eq!(level.as_deref(), Ok(good), "{good}");
    }
    let err = Settings::load(
        None,
        env(&[("RAMPART_LOG_LEVEL", "verbose")]),
        &FlagOverrides::default(),
    )
    .expect_err("refused");
    assert!(err.to_string().contains("log_level"), "{err}");
}

#[test]
fn unknown_keys_and_master_keys_in_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rampart.toml");
    std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").expect("write");
    let err = Settings::load(Some(&file), env(&[]), &FlagOverrides::default()).expect_err("typo");
    assert!(err.to_string().contains("lisen"), "{err}");
    std::fs::write(&file, "master_key = \"c2VjcmV0\"\n").expect("write");
    let err = Settings::load(Some(&file), env(&[]), &FlagOverrides::default()).expect_err("key");
    assert!(err.to_string().contains("RAMPART_MASTER_KEY"), "{err}");
    assert!(!err.to_string().contains("c2VjcmV0"));
}

#[test]
fn tls_settings_must_be_complete() {
    let flags = FlagOverrides {
        tls_cert: Some(PathBuf::from("cert.pem")),
        ..FlagOverrides::default()
    };
    assert!(Settings::load(None, env(&[]), &flags).is_err());
    let flags = FlagOverrides {
        tls_client_ca: Some(PathBuf::from("ca.pem")),
        ..FlagOverrides::default()
    };
    assert!(Settings::load(None, env(&[]), &flags).is_err());
}

#[test]
fn show_redacts_every_secret() {
    let loaded = Settings::load(
        None,
        env(&[
            ("RAMPART_DATABASE_URL", "postgres://rampart:hunter2canary@db.internal/rampart?password=othercanary&sslmode=require"),
            ("RAMPART_MASTER_KEY", "bWFzdGVya2V5Y2FuYXJ5"),
        ]),
        &FlagOverrides::default(),
    )
    .expect("loads");
    let shown = loaded.settings.show("env");
    assert!(!shown.contains("hunter2canary"), "{shown}");
    assert!(!shown.contains("othercanary"), "{shown}");
    assert!(!shown.contains("bWFzdGVya2V5Y2FuYXJ5"));
    assert!(
        shown.contains(
            "postgres://rampart:[REDACTED]@db.internal/rampart?password=[REDACTED]&sslmode=require"
        ),
        "{shown}"
    );
    assert!(!format!("{loaded:?}").contains("hunter2canary"));
    for name in SETTING_NAMES {
        assert!(shown.contains(&format!("{name} = ")), "{name} missing");
    }
    // What `show` prints parses back as TOML.
    assert!(shown.parse::<toml::Table>().is_ok(), "{shown}");
}

#[test]
fn redact_url_handles_odd_shapes() {
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        redact_url("postgres://u:p@ss@h/db"),
        "postgres://u:[REDACTED]@h/db"
    );
    assert_eq!(redact_url("garbage"), "[REDACTED]");
    assert_eq!(
        redact_url("postgres:///db?host=/tmp"),
        "postgres:///db?host=/tmp"
    );
}

#[test]
fn the_master_key_comes_from_a_file_of_its_own_and_never_from_two_places() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("master-key");
    let key = "SiWr8cSrqn7oPDe1JCTsHzwsP9sULTgYu0pAIg/QboA=";
    std::fs::write(&file, format!("{key}\n")).expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).expect("chmod");
    let path = file.to_str().expect("utf-8 path");
    let loaded = Settings::load(
        None,
        env(&[("RAMPART_MASTER_KEY_FILE", path)]),
        &FlagOverrides::default(),
    )
    .expect("loads");
    assert_eq!(
        loaded.master_key_env.as_ref().map(|k| k.expose_secret()),
        Some(key),
        "the file's text, trimmed"
    );
    let refused = |pairs: &[(&str, &str)]| {
        Settings::load(None, env(pairs), &FlagOverrides::default())
            .expect_err("refused")
            .to_string()
    };
    let both = refused(&[
        ("RAMPART_MASTER_KEY_FILE", path),
        ("RAMPART_MASTER_KEY", key),
    ]);
    assert!(both.contains("only one"), "{both}");
    let missing = refused(&[("RAMPART_MASTER_KEY_FILE", "/nonexistent/master-key")]);
    assert!(missing.contains("/nonexistent/master-key"), "{missing}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o604)).expect("chmod");
    let open = refused(&[("RAMPART_MASTER_KEY_FILE", path)]);
    assert!(open.contains("chmod 600"), "{open}");
    std::fs::write(&file, "  \n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let empty = refused(&[("RAMPART_MASTER_KEY_FILE", path)]);
    assert!(empty.contains("empty"), "{empty}");
    for message in [both, missing, open, empty] {
        assert!(!message.contains(key), "never the key: {message}");
    }
}

#[test]
fn a_data_dir_or_database_named_anywhere_is_explicit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rampart.toml");
    std::fs::write(&file, "data_dir = \"/file/dir\"\n").expect("write");
    let load = |file: Option<&Path>, vars: &[(&str, &str)], flags: FlagOverrides| {
        Settings::load(file, env(vars), &flags)
            .expect("loads")
            .location_explicit
    };
    assert!(!load(
        None,
        &[("RAMPART_LISTEN", "127.0.0.1:1")],
        FlagOverrides::default()
    ));
    assert!(load(Some(&file), &[], FlagOverrides::default()));
    assert!(load(
        None,
        &[("RAMPART_DATA_DIR", "d")],
        FlagOverrides::default()
    ));
    assert!(load(
        None,
        &[("RAMPART_DATABASE_URL", "postgres://h/db")],
        FlagOverrides::default()
    ));
    let flags = FlagOverrides {
        data_dir: Some(PathBuf::from("rampart-data")),
        ..FlagOverrides::default()
    };
    assert!(
        load(None, &[], flags),
        "the default's path typed out is still a choice"
    );
}

#[test]
fn tls_min_version_comes_from_each_layer_and_refuses_other_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rampart.toml");
    let load = |file_text: &str, vars: &[(&str, &str)], flag: Option<&str>| {
        std::fs::write(&file, file_text).expect("write");
        Settings::load(
            Some(&file),
            env(vars),
            &FlagOverrides {
                tls_min_version: flag.map(str::to_owned),
                ..FlagOverrides::default()
            },
        )
        .map(|l| l.settings.tls_min_version)
        .map_err(|e| e.to_string())
    };
    assert_eq!(load("", &[], None), Ok(TlsMinVersion::Tls12));
    assert_eq!(
        load("tls_min_version = \"1.3\"\n", &[], None),
        Ok(TlsMinVersion::Tls13)
    );
    assert_eq!(
        load("", &[("RAMPART_TLS_MIN_VERSION", "1.3")], None),
        Ok(TlsMinVersion::Tls13)
    );
    assert_eq!(
        load("tls_min_version = \"1.3\"\n", &[], Some("1.2")),
        Ok(TlsMinVersion::Tls12)
    );
    for (text, vars, flag, source) in [
        ("tls_min_version = \"1.1\"\n", &[][..], None, "config file"),
        (
            "",
            &[("RAMPART_TLS_MIN_VERSION", "1.0")][..],
            None,
            "environment",
        ),
        ("", &[][..], Some("TLSv1.3"), "command-line flags"),
    ] {
        let err = load(text, vars, flag).expect_err("refused");
        assert!(
            err.contains(source)
                && err.contains("tls_min_version")
                && err.contains("\"1.2\" or \"1.3\""),
            "{err}"
        );
    }
    let shown = Settings::load(
        None,
        env(&[("RAMPART_TLS_MIN_VERSION", "1.3")]),
        &FlagOverrides::default(),
    )
    .expect("loads")
    .settings
    .show("file");
    assert!(shown.contains("tls_min_version = \"1.3\""), "{shown}");
}
