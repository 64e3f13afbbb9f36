//! What agent governance reads from clients: execution tokens presented to
//! `POST /v1/actions/verify-token`, action bodies and guardrails documents. Arbitrary bytes
//! must never panic; a token that verifies must bind only the parameters it was issued for.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rampart_agents::{ActionRequest, GuardrailsDocument, TokenSigner};

static SIGNER: LazyLock<TokenSigner> =
    LazyLock::new(|| TokenSigner::from_seed(&[7; 32]).expect("a key"));

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match which % 3 {
        0 => {
            let now = time::OffsetDateTime::from_unix_timestamp(1_796_000_000).expect("a time");
            if let Ok(claims) = SIGNER.verify(&text, now) {
                let _ = claims.binds(&serde_json::json!({}));
            }
        }
        1 => {
            if let Ok(request) = rampart_document::read_json::<ActionRequest>(&text) {
                let _ = request.check();
                let _ = rampart_agents::parameters_sha256(&request.parameters);
            }
        }
        _ => {
            if let Ok(document) = rampart_document::read_json::<GuardrailsDocument>(&text)
                && let Ok(guardrails) = document.validate()
            {
                let _ = rampart_agents::Guardrails::from_json(&guardrails.to_json());
            }
        }
    }
});
