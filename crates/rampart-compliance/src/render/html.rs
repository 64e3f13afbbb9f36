//! The report as one self-contained HTML5 page: inline CSS only, no script, nothing fetched
//! (the page's own Content-Security-Policy forbids it), readable on screen and on paper.
//!
//! Every piece of text comes from the report and is escaped: principal names, waiver reasons
//! and fact values are user data. Statuses are colour-coded and always written in words too.

use serde_json::Value;

use crate::control::Status;
use crate::report::{ControlResult, Report};

/// Deepest nesting of a fact's value drawn as lists and tables; deeper parts are shown as JSON.
const MAX_VALUE_DEPTH: usize = 6;

const STYLE: &str = r#"
:root{--pass:#1a7f37;--fail:#cf222e;--manual:#9a6700;--waived:#0550ae;--na:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#fff;max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.7em;margin:0}
.subtitle{margin:0 0 1em;color:#57606a}
h2{font-size:1.3em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.1em;margin:.2em 0 .4em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:.5em 0}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
table.summary th,table.summary td{text-align:center;width:20%}
table.summary td{font-size:1.8em;font-weight:700}
table.kv{width:auto;margin:0}
table.kv th{font-weight:600;background:none}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;overflow-wrap:anywhere;white-space:pre-wrap}
ul.value{margin:0;padding-left:1.2em}
.empty{color:var(--na);font-style:italic}
.badge{display:inline-block;padding:0 .6em;border:1.5px solid currentColor;border-radius:1em;font-weight:700;font-size:.85em;white-space:nowrap}
.status-pass{color:var(--pass)}
.status-fail{color:var(--fail)}
.status-manual{color:var(--manual)}
.status-waived{color:var(--waived)}
.status-not_applicable{color:var(--na)}
.badge.status-pass{background:#dafbe1}
.badge.status-fail{background:#ffebe9}
.badge.status-manual{background:#fff8c5}
.badge.status-waived{background:#ddf4ff}
.badge.status-not_applicable{background:#f6f8fa}
section.control{border:1px solid var(--line);border-left:6px solid var(--line);border-radius:6px;padding:8px 16px;margin:16px 0;color:#1f2328}
section.control.status-pass{border-left-color:var(--pass)}
section.control.status-fail{border-left-color:var(--fail)}
section.control.status-manual{border-left-color:var(--manual)}
section.control.status-waived{border-left-color:var(--waived)}
section.control.status-not_applicable{border-left-color:var(--na)}
.waiver{border:1px dashed var(--waived);border-radius:4px;padding:4px 10px;margin:.5em 0}
.note{color:#57606a}
@page{margin:15mm}
@media print{
body{max-width:none;padding:0;font-size:10.5pt}
a{color:inherit;text-decoration:none}
th,.badge,.badge.status-pass,.badge.status-fail,.badge.status-manual,.badge.status-waived,.badge.status-not_applicable{background:none}
section.control,tr,.waiver{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}
#controls{break-before:page;page-break-before:always}
}
"#;

/// The report as one self-contained HTML5 page: title, report id and who made it when, the
/// audit period, a summary of the five counts (each cell carries `data-status`), a table of
/// every control, one section per control (`id="control-<id>"`) with its status, reason,
/// evidence, remediation and waiver, every fact with its source, and the signature with how to
/// check it. No script and no external resource; all text escaped.
pub fn html(report: &Report) -> String {
    let mut page = Page::default();
    page.head(report);
    page.header(report);
    page.summary(report);
    page.control_index(&report.controls);
    for control in &report.controls {
        page.control(control);
    }
    page.facts(report);
    page.signature(report);
    page.raw("</main>\n</body>\n</html>\n");
    page.out
}

/// The words a reader sees for a status.
fn status_words(status: Status) -> &'static str {
    match status {
        Status::Pass => "Pass",
        Status::Fail => "Fail",
        Status::Manual => "Manual check",
        Status::Waived => "Waived",
        Status::NotApplicable => "Not applicable",
    }
}

/// Text with `&`, `<`, `>`, `"` and `'` escaped (safe in elements and quoted attributes);
/// NUL, which HTML refuses, becomes U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[derive(Default)]
struct Page {
    out: String,
}

impl Page {
    fn raw(&mut self, html: &str) {
        self.out.push_str(html);
    }

    fn text(&mut self, text: &str) {
        escape_into(&mut self.out, text);
    }

    /// `<tag>text</tag>`, the text escaped.
    fn element(&mut self, tag: &str, text: &str) {
        self.raw("<");
        self.raw(tag);
        self.raw(">");
        self.text(text);
        self.raw("</");
        self.raw(tag);
        self.raw(">");
    }

    fn badge(&mut self, status: Status) {
        self.raw("<span class=\"badge status-");
        self.raw(status.as_str());
        self.raw("\">");
        self.text(status_words(status));
        self.raw("</span>");
    }

    fn meta_row(&mut self, term: &str, value: &str, code: bool) {
        self.element("dt", term);
        self.raw("<dd>");
        if code {
            self.element("code", value);
        } else {
            self.text(value);
        }
        self.raw("</dd>\n");
    }

    fn head(&mut self, report: &Report) {
        self.raw(concat!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            "<meta name=\"color-scheme\" content=\"light\">\n",
            "<meta name=\"generator\" content=\"Rampart\">\n<title>",
        ));
        self.text(&format!(
            "{} {} — compliance report {}",
            report.framework_title,
            report.framework_version,
            report.id.as_str()
        ));
        self.raw("</title>\n<style>");
        self.raw(STYLE);
        self.raw("</style>\n</head>\n<body>\n<main>\n");
    }

    fn header(&mut self, report: &Report) {
        self.raw("<header id=\"report\">\n");
        self.element("h1", &report.framework_title);
        self.raw("<p class=\"subtitle\">");
        self.text(&format!(
            "Compliance report · {} version {}",
            report.framework.as_str(),
            report.framework_version
        ));
        self.raw("</p>\n<dl class=\"meta\">\n");
        self.meta_row("Report id", report.id.as_str(), true);
        self.meta_row("Generated at", &report.generated_at, false);
        self.meta_row("Generated by", &report.generated_by, false);
        self.raw("</dl>\n");
        self.element("h2", "Audit period");
        self.raw("<dl class=\"meta\" id=\"audit-period\">\n");
        self.meta_row(
            "From seq (inclusive)",
            &report.audit.from_seq.to_string(),
            true,
        );
        self.meta_row(
            "Tree size (the period ends before it)",
            &report.audit.tree_size.to_string(),
            true,
        );
        self.meta_row("Root hash at that size", &report.audit.root_hash, true);
        self.raw("</dl>\n</header>\n");
    }

    fn summary(&mut self, report: &Report) {
        let s = report.summary;
        let cells = [
            (Status::Pass, s.pass),
            (Status::Fail, s.fail),
            (Status::Manual, s.manual),
            (Status::Waived, s.waived),
            (Status::NotApplicable, s.not_applicable),
        ];
        self.raw("<section id=\"summary\">\n");
        self.element("h2", "Summary");
        self.raw("<table class=\"summary\">\n<thead><tr>");
        for (status, _) in cells {
            self.raw("<th scope=\"col\" class=\"status-");
            self.raw(status.as_str());
            self.raw("\">");
            self.text(status_words(status));
            self.raw("</th>");
        }
        self.raw("</tr></thead>\n<tbody><tr>");
        for (status, count) in cells {
            self.raw("<td data-status=\"");
            self.raw(status.as_str());
            self.raw("\" class=\"status-");
            self.raw(status.as_str());
            self.raw("\">");
            self.text(&count.to_string());
            self.raw("</td>");
        }
        self.raw("</tr></tbody>\n</table>\n");
        self.raw("<p class=\"note\">");
        self.text(&format!(
            "{} controls. A control Rampart cannot judge is a manual check, never a pass; a waived control is one not met (or not judged) under a waiver in force.",
            report.controls.len()
        ));
        self.raw("</p>\n</section>\n");
    }

    fn control_index(&mut self, controls: &[ControlResult]) {
        self.raw("<section id=\"controls\">\n");
        self.element("h2", "Controls");
        self.raw(concat!(
            "<table class=\"controls\">\n<thead><tr><th scope=\"col\">Control</th>",
            "<th scope=\"col\">Title</th><th scope=\"col\">Requirement</th>",
            "<th scope=\"col\">Status</th></tr></thead>\n<tbody>\n"
        ));
        for control in controls {
            self.raw("<tr><td><a href=\"#control-");
            self.text(&control.id);
            self.raw("\"><code>");
            self.text(&control.id);
            self.raw("</code></a></td>");
            self.element("td", &control.title);
            self.element("td", &control.requirement);
            self.raw("<td>");
            self.badge(control.status);
            self.raw("</td></tr>\n");
        }
        if controls.is_empty() {
            self.raw("<tr><td colspan=\"4\" class=\"empty\">no controls</td></tr>\n");
        }
        self.raw("</tbody>\n</table>\n</section>\n");
    }

    fn control(&mut self, control: &ControlResult) {
        self.raw("<section class=\"control status-");
        self.raw(control.status.as_str());
        self.raw("\" id=\"control-");
        self.text(&control.id);
        self.raw("\">\n<h3>");
        self.badge(control.status);
        self.raw(" <code>");
        self.text(&control.id);
        self.raw("</code> ");
        self.text(&control.title);
        self.raw("</h3>\n<dl class=\"meta\">\n");
        self.meta_row("Requirement", &control.requirement, false);
        self.element("dt", "Status");
        self.raw("<dd>");
        self.badge(control.status);
        if control.judged != control.status {
            self.text(&format!(
                " (the facts alone gave: {})",
                status_words(control.judged)
            ));
        }
        self.raw("</dd>\n");
        self.meta_row("Reason", &control.reason, false);
        self.meta_row("What Rampart checks", &control.checks, false);
        if !control.remediation.is_empty() {
            self.meta_row("Remediation", &control.remediation, false);
        }
        self.raw("</dl>\n");
        self.evidence(control);
        if let Some(waiver) = &control.waiver {
            self.raw("<div class=\"waiver\">\n<strong>");
            self.text(if waiver.expired {
                "Waiver (expired: it no longer covers this control)"
            } else {
                "Waiver in force"
            });
            self.raw("</strong>\n<dl class=\"meta\">\n");
            self.meta_row("Waiver id", &waiver.id, true);
            self.meta_row("Reason", &waiver.reason, false);
            self.meta_row("Expires at", &waiver.expires_at, false);
            self.meta_row("Expired", if waiver.expired { "yes" } else { "no" }, false);
            self.raw("</dl>\n</div>\n");
        }
        self.raw("</section>\n");
    }

    fn evidence(&mut self, control: &ControlResult) {
        if control.evidence.is_empty() {
            self.raw("<p class=\"empty\">No evidence: no fact was cited.</p>\n");
            return;
        }
        self.raw(concat!(
            "<table class=\"evidence\">\n<thead><tr><th scope=\"col\">Evidence (fact)</th>",
            "<th scope=\"col\">Value</th><th scope=\"col\">Source</th></tr></thead>\n<tbody>\n"
        ));
        for item in &control.evidence {
            self.raw("<tr>");
            self.element("td", &item.fact);
            self.raw("<td>");
            self.value(&item.value, 0);
            self.raw("</td>");
            self.source_cell(&item.source);
            self.raw("</tr>\n");
        }
        self.raw("</tbody>\n</table>\n");
    }

    fn source_cell(&mut self, source: &str) {
        if source.is_empty() {
            self.raw("<td class=\"empty\">not stated</td>");
        } else {
            self.raw("<td><code>");
            self.text(source);
            self.raw("</code></td>");
        }
    }

    /// A fact's value, readable: lists as lists, objects as key/value tables, text as text,
    /// anything else (numbers, booleans, too-deep parts) as JSON.
    fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::String(text) if text.is_empty() => {
                self.raw("<span class=\"empty\">(empty text)</span>");
            }
            Value::String(text) => self.text(text),
            Value::Null => self.raw("<span class=\"empty\">none (null)</span>"),
            Value::Array(items) if items.is_empty() => {
                self.raw("<span class=\"empty\">none (empty list)</span>");
            }
            Value::Object(map) if map.is_empty() => {
                self.raw("<span class=\"empty\">(empty object)</span>");
            }
            Value::Array(items) if depth < MAX_VALUE_DEPTH => {
                self.raw("<ul class=\"value\">");
                for item in items {
                    self.raw("<li>");
                    self.value(item, depth + 1);
                    self.raw("</li>");
                }
                self.raw("</ul>");
            }
            Value::Object(map) if depth < MAX_VALUE_DEPTH => {
                self.raw("<table class=\"kv\"><tbody>");
                for (key, item) in map {
                    self.raw("<tr><th scope=\"row\">");
                    self.text(key);
                    self.raw("</th><td>");
                    self.value(item, depth + 1);
                    self.raw("</td></tr>");
                }
                self.raw("</tbody></table>");
            }
            other => {
                let json = serde_json::to_string(other).unwrap_or_default();
                self.element("code", &json);
            }
        }
    }

    fn facts(&mut self, report: &Report) {
        self.raw("<section id=\"facts\">\n");
        self.element("h2", "Facts gathered");
        if report.facts.is_empty() {
            self.raw("<p class=\"empty\">No fact was gathered.</p>\n</section>\n");
            return;
        }
        self.raw(concat!(
            "<table class=\"facts\">\n<thead><tr><th scope=\"col\">Fact</th>",
            "<th scope=\"col\">Value</th><th scope=\"col\">Source</th></tr></thead>\n<tbody>\n"
        ));
        for fact in &report.facts {
            self.raw("<tr id=\"fact-");
            self.text(&fact.name);
            self.raw("\"><td>");
            self.text(&fact.title);
            self.raw("<br><code>");
            self.text(&fact.name);
            self.raw("</code></td><td>");
            self.value(&fact.value, 0);
            self.raw("</td>");
            self.source_cell(&fact.source);
            self.raw("</tr>\n");
        }
        self.raw("</tbody>\n</table>\n</section>\n");
    }

    fn signature(&mut self, report: &Report) {
        self.raw("<section id=\"signature\">\n");
        self.element("h2", "Signature");
        if report.signature_b64.is_empty() {
            self.raw(
                "<p><strong>This report is not signed</strong> (its signature_b64 is empty).</p>\n",
            );
        } else {
            self.raw("<p>Ed25519 signature by the audit log's key (<code>signature_b64</code>):</p>\n<pre class=\"signature\"><code>");
            self.text(&report.signature_b64);
            self.raw("</code></pre>\n");
        }
        self.raw("<p>");
        self.text(&format!(
            "To verify: run `rampart compliance verify PACKAGE.zip --public-key KEY` on this report's evidence package (GET /v1/compliance/reports/{}/evidence), or check the Ed25519 signature over the RFC 8785 (JCS) form of the report's JSON (?format=json) without its signature_b64 member, with the key of GET /v1/audit/public-key. This page is a view of that JSON and is not signed itself.",
            report.id.as_str()
        ));
        self.raw("</p>\n</section>\n");
    }
}
