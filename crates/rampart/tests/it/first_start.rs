//! `serve` initializes only the default data dir: a data dir or database named explicitly that
//! holds no deployment is refused, creating nothing, with the `rampart init` command to run
//! (issue 21: `--data-dir ./rampart-dta`, a typo, made a new deployment with a new admin key).

use crate::support::{Server, rampart, run, snapshot, text};

#[test]
fn serve_refuses_an_explicit_data_dir_never_initialized_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("rampart-dta");
    let typo_text = typo.to_str().unwrap();
    // By flag and by variable alike.
    for (args, envs) in [
        (vec!["--data-dir", typo_text], vec![]),
        (vec![], vec![("RAMPART_DATA_DIR", typo_text)]),
    ] {
        let (stdout, stderr) = Server::try_serve(&args, &envs)
            .err()
            .expect("serve refuses an uninitialized explicit data dir");
        assert!(
            !stdout.contains("listening") && !stdout.contains("rk_"),
            "{stdout}"
        );
        assert!(
            stderr.contains(&format!("data dir {typo_text} is not initialized")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("`rampart init --data-dir {typo_text}`")),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was created"), "{stderr}");
        assert!(!typo.exists(), "serve created {}", typo.display());
    }
    // An existing empty directory stays empty.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (_, stderr) = Server::try_serve(&["--data-dir", empty.to_str().unwrap()], &[])
        .err()
        .expect("refuses");
    assert!(stderr.contains("rampart init --data-dir"), "{stderr}");
    assert!(snapshot(&empty).is_empty(), "{:?}", snapshot(&empty).keys());
    // A path with a space is quoted in the command, so it can be pasted.
    let spaced = dir.path().join("my data");
    let (_, stderr) = Server::try_serve(&["--data-dir", spaced.to_str().unwrap()], &[])
        .err()
        .expect("refuses");
    assert!(
        stderr.contains(&format!("rampart init --data-dir '{}'", spaced.display())),
        "{stderr}"
    );
}

#[test]
fn serve_starts_an_explicit_data_dir_once_init_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = run(rampart().args(["init", "--json", "--data-dir"]).arg(&data));
    assert!(init.status.success(), "{}", text(&init).1);
    let key = serde_json::from_slice::<serde_json::Value>(&init.stdout).unwrap()["admin_api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Server::try_serve(&["--data-dir", data.to_str().unwrap()], &[]).expect("serves");
    assert_eq!(
        server.admin_key,
        None,
        "no second admin key: {}",
        server.stdout()
    );
    assert!(!server.stdout().contains("First start"));
    let status = tokio::runtime::Runtime::new().unwrap().block_on(async {
        crate::support::client(None, None)
            .get(format!("{}/v1/auth/whoami", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
}
