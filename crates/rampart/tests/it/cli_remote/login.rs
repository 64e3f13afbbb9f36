//! `rampart login` and `rampart logout`: the token file.

use std::os::unix::fs::PermissionsExt as _;

use reqwest::Method;

use super::{Cli, canary};
use crate::threat::{PASSWORD, rt, start};

/// `rampart login` with an API key and with a user's password: the token file (mode 0600)
/// serves later commands; one others may read is refused; logout ends the session.
#[test]
fn login_writes_a_private_token_file_and_logout_ends_the_session() {
    let env = start(&[]);
    let runtime = rt();
    let cli = Cli::new(&env);
    runtime.block_on(env.user("dev", &["developer"]));

    // An API key from standard input.
    let login = cli.run_with(
        &["login", "--api-key-stdin"],
        None,
        format!("{}\n", env.admin).as_bytes(),
        None,
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(login.stdout.contains("bootstrap-admin"), "{}", login.stdout);
    let path = cli.token_file();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let listed = cli.run_with(&["principals", "list"], None, b"", None);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("dev"), "{}", listed.stdout);

    // A token file others may read is not used.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = cli.run_with(&["keys", "list"], None, b"", None);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("mode 0644") && refused.stderr.contains("chmod 600"),
        "{}",
        refused.stderr
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = cli.run_with(&["logout"], None, b"", None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!path.exists());

    // No credential at all: 401 with a hint.
    let anonymous = cli.run_with(&["keys", "list"], None, b"", None);
    assert_eq!(anonymous.code, 4, "{}", anonymous.stderr);
    assert!(
        anonymous.stderr.contains("rampart login"),
        "{}",
        anonymous.stderr
    );

    // A wrong password: 401, exit 4, no file.
    let wrong = cli.run_with(
        &["login", "--name", "dev"],
        None,
        b"not-the-password-1\n",
        None,
    );
    assert_eq!(wrong.code, 4, "{}", wrong.stderr);
    assert!(!path.exists());

    // A user's session, to a --token-file of one's choosing.
    let chosen = cli.config_home.path().join("elsewhere").join("dev.token");
    let chosen_arg = chosen.to_str().unwrap();
    let login = cli.run_with(
        &["login", "--name", "dev", "--token-file", chosen_arg],
        None,
        format!("{PASSWORD}\n").as_bytes(),
        None,
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_eq!(
        std::fs::metadata(&chosen).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let session = std::fs::read_to_string(&chosen).unwrap().trim().to_owned();
    let keys = cli.run_with(
        &["keys", "list", "--token-file", chosen_arg],
        None,
        b"",
        None,
    );
    assert_eq!(keys.code, 0, "{}", keys.stderr);
    let denied = cli.run_with(
        &["principals", "list", "--token-file", chosen_arg],
        None,
        b"",
        None,
    );
    assert_eq!(denied.code, 5, "{}", denied.stderr);
    let out = cli.run_with(&["logout", "--token-file", chosen_arg], None, b"", None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!chosen.exists());
    let ended =
        runtime.block_on(env.call(Method::GET, "/v1/auth/whoami", Some(&session), None, None));
    assert_eq!(ended.status, 401, "the session was revoked on the server");

    // A second factor required: exit 4 with the hint; repeated failures lock: exit 9.
    runtime.block_on(env.user("ada", &["admin"]));
    let mfa = cli.run_with(
        &["login", "--name", "ada"],
        None,
        format!("{PASSWORD}\n").as_bytes(),
        None,
    );
    assert_eq!(mfa.code, 4, "{}", mfa.stderr);
    assert!(mfa.stderr.contains("--totp CODE"), "{}", mfa.stderr);
    runtime.block_on(env.user("lou", &["viewer"]));
    let mut last = 4;
    for _ in 0..12 {
        last = cli
            .run_with(
                &["login", "--name", "lou"],
                None,
                b"wrong-password-1\n",
                None,
            )
            .code;
        if last != 4 {
            break;
        }
    }
    assert_eq!(last, 9, "locked or rate limited");

    canary(&cli, &[&env.admin, &session]);
}
