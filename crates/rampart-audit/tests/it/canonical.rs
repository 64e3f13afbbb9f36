//! RFC 8785 canonical JSON, checked against the RFC's own examples.

use serde_json::json;

fn jcs(value: &serde_json::Value) -> String {
    String::from_utf8(serde_json_canonicalizer::to_vec(value).unwrap()).unwrap()
}

#[test]
fn rfc8785_examples() {
    // RFC 8785 §3.2.2: the sample input and its canonical output.
    let input: serde_json::Value = serde_json::from_str(
        r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]}"#,
    )
    .unwrap();
    assert_eq!(
        jcs(&input),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
    // §3.2.3: keys sorted by UTF-16 code units.
    let input: serde_json::Value = serde_json::from_str(
        r#"{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}"#,
    )
    .unwrap();
    let out = jcs(&input);
    let order: Vec<&str> = [
        "\\r",
        "1",
        "\u{80}",
        "\u{f6}",
        "\u{20ac}",
        "\u{1f600}",
        "\u{fb33}",
    ]
    .to_vec();
    let mut last = 0;
    for key in order {
        let at = out
            .find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("{key} missing in {out}"));
        assert!(at >= last, "{key} out of order in {out}");
        last = at;
    }
    assert_eq!(
        jcs(&json!({"b": 1, "a": [1.0, -0.0]})),
        r#"{"a":[1,0],"b":1}"#
    );
}
