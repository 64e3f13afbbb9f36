//! Authorization decisions per second, in process and single-threaded: Rampart's
//! `Policy::decide` against `cedar_policy::Authorizer::is_authorized` evaluating the same role
//! model (generated from the same policy document), over the same cycled mix of questions.
//!
//! Before timing anything it asks both engines every question of a grid (role sets × teams ×
//! enabled/disabled × actions × resource teams) and stops if any answer differs.
//!
//! Usage: authz-cedar [--seconds S] [--rounds R] [--mix N] [--print-cedar]

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, Request,
};
use rampart_authz_cedar_bench::{
    CedarModel, Principal, Question, ResourceSpec, TeamStyle, action_universe, check_equivalence,
    principals_of_grid, question_mix, rampart_policy, resources_of_grid,
};

struct Options {
    seconds: f64,
    rounds: usize,
    mix: usize,
    print_cedar: bool,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 1.0,
        rounds: 5,
        mix: 1000,
        print_cedar: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--seconds" => o.seconds = value("--seconds").parse().expect("--seconds: a number"),
            "--rounds" => o.rounds = value("--rounds").parse().expect("--rounds: an integer"),
            "--mix" => o.mix = value("--mix").parse().expect("--mix: an integer"),
            "--print-cedar" => o.print_cedar = true,
            "-h" | "--help" => {
                println!("usage: authz-cedar [--seconds S] [--rounds R] [--mix N] [--print-cedar]");
                std::process::exit(0);
            }
            other => panic!("unknown argument {other:?} (try --help)"),
        }
    }
    assert!(o.rounds > 0 && o.mix > 0 && o.seconds > 0.0);
    o
}

/// One engine to time: its name and how it answers the i-th question.
struct Engine<'a> {
    name: String,
    decide: Box<dyn FnMut(usize, &Question) -> bool + 'a>,
    allowed_per_pass: usize,
    ns: Vec<f64>,
    /// False for a row that times a part of a decision (its answers are not decisions).
    decides: bool,
}

impl<'a> Engine<'a> {
    fn new(name: impl Into<String>, decide: impl FnMut(usize, &Question) -> bool + 'a) -> Self {
        Self {
            name: name.into(),
            decide: Box::new(decide),
            allowed_per_pass: 0,
            ns: Vec::new(),
            decides: true,
        }
    }

    fn part(mut self) -> Self {
        self.decides = false;
        self
    }

    /// One pass over the mix; returns how many were allowed.
    fn pass(&mut self, questions: &[Question]) -> usize {
        let mut allowed = 0usize;
        for (i, q) in questions.iter().enumerate() {
            allowed += usize::from(black_box((self.decide)(black_box(i), black_box(q))));
        }
        allowed
    }

    /// Whole passes for at least `seconds`; records ns per decision.
    fn round(&mut self, questions: &[Question], seconds: f64) {
        let start = Instant::now();
        let mut decisions = 0usize;
        loop {
            let allowed = self.pass(questions);
            assert_eq!(
                allowed, self.allowed_per_pass,
                "{}: decisions changed between passes",
                self.name
            );
            decisions += questions.len();
            if start.elapsed().as_secs_f64() >= seconds {
                break;
            }
        }
        self.ns
            .push(start.elapsed().as_nanos() as f64 / decisions as f64);
    }

    fn median(&self) -> f64 {
        let mut v = self.ns.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    fn min(&self) -> f64 {
        self.ns.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.ns.iter().copied().fold(0.0, f64::max)
    }
}

/// Warms every engine up (one counted pass, then a quarter of a round), then times `rounds`
/// rounds, the engines taking turns within each round so that drift on the machine hits all
/// of them alike.
fn time_engines(engines: &mut [Engine<'_>], questions: &[Question], o: &Options) {
    for e in engines.iter_mut() {
        e.allowed_per_pass = e.pass(questions);
        let warm = Instant::now();
        while warm.elapsed() < Duration::from_secs_f64(o.seconds / 4.0) {
            black_box(e.pass(questions));
        }
    }
    for round in 1..=o.rounds {
        for e in engines.iter_mut() {
            e.round(questions, o.seconds);
        }
        println!(
            "  round {round}/{}: {}",
            o.rounds,
            engines
                .iter()
                .map(|e| format!("{:.0}", e.ns.last().copied().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
}

fn main() {
    let o = options();
    let policy = rampart_policy();
    let document = policy.document().clone();
    let actions = action_universe(&document);
    let resources: Vec<ResourceSpec> = resources_of_grid();
    let principals: Vec<Principal> = principals_of_grid(&document, true);

    let models = [
        CedarModel::new(&document, &actions, TeamStyle::PermitWhen),
        CedarModel::new(&document, &actions, TeamStyle::Forbid),
    ];
    if o.print_cedar {
        for m in &models {
            println!(
                "// ===== {} =====\n// schema\n{}\n// policies\n{}",
                m.style.label(),
                m.schema_text,
                m.policies_text
            );
        }
        return;
    }
    let entities: Vec<Entities> = models.iter().map(|m| m.entities(&principals)).collect();

    println!(
        "Rampart role policy vs cedar-policy {} (Cedar language {}), in process, single thread",
        cedar_policy::get_sdk_version(),
        cedar_policy::get_lang_version()
    );
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_owned())
            )
            .unwrap_or_else(|| "unknown CPU".to_owned())
    );
    println!(
        "model: {} roles, {} (role, permission) permits, {} concrete actions in {} action groups + \"*\", {} users, {} resources",
        document.roles.len(),
        document
            .roles
            .values()
            .map(|r| r.permissions.len())
            .sum::<usize>(),
        actions.len(),
        actions
            .iter()
            .map(|a| a.split(':').next().unwrap_or(a))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        principals.len(),
        resources.len(),
    );

    // 1. Equivalence over the whole grid, for both Cedar encodings.
    let started = Instant::now();
    let mut total = 0;
    for (m, e) in models.iter().zip(&entities) {
        let eq = check_equivalence(&policy, m, e, &principals, &resources);
        if eq.mismatch_count > 0 {
            eprintln!(
                "MISMATCH ({}): {} of {}",
                m.style.label(),
                eq.mismatch_count,
                eq.checked
            );
            for line in &eq.mismatches {
                eprintln!("  {line}");
            }
            std::process::exit(1);
        }
        println!(
            "equivalence ({}): {} combinations checked ({} principals [{} role sets x 4 team sets x enabled/disabled] x {} actions x {} resource teams), {} allowed, 0 mismatches",
            m.style.label(),
            eq.checked,
            principals.len(),
            principals.len() / 8,
            actions.len(),
            resources.len(),
            eq.allowed
        );
        total += eq.checked;
    }
    println!(
        "equivalence: {total} combinations checked in all, identical allow/deny ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // 2. The mix: enabled principals only (Rampart's Subject { disabled: false }).
    let enabled: Vec<usize> = (0..principals.len())
        .filter(|&i| !principals[i].disabled)
        .collect();
    let questions: Vec<Question> =
        question_mix(o.mix, enabled.len(), actions.len(), resources.len())
            .into_iter()
            .map(|q| Question {
                principal: enabled[q.principal],
                ..q
            })
            .collect();
    println!(
        "mix: {} (principal, action, resource) questions drawn with a fixed seed from {} enabled principals, cycled; {} rounds of >= {} s per engine, median reported",
        questions.len(),
        enabled.len(),
        o.rounds,
        o.seconds
    );

    let authorizer = Authorizer::new();
    let user_type = EntityTypeName::from_str("User").expect("type");
    let action_type = EntityTypeName::from_str("Action").expect("type");
    let resource_type = EntityTypeName::from_str("Resource").expect("type");
    let build_request = |q: &Question, schema: Option<&cedar_policy::Schema>| {
        Request::new(
            EntityUid::from_type_name_and_id(
                user_type.clone(),
                EntityId::new(&principals[q.principal].id),
            ),
            EntityUid::from_type_name_and_id(
                action_type.clone(),
                EntityId::new(&actions[q.action]),
            ),
            EntityUid::from_type_name_and_id(
                resource_type.clone(),
                EntityId::new(&resources[q.resource].id),
            ),
            Context::empty(),
            schema,
        )
        .expect("a valid request")
    };

    let prebuilt: Vec<Request> = questions.iter().map(|q| build_request(q, None)).collect();
    let mut engines = vec![Engine::new(
        "Rampart `Policy::decide`",
        |_, q: &Question| {
            policy
                .decide(
                    principals[q.principal].subject(),
                    &actions[q.action],
                    resources[q.resource].team.as_deref(),
                )
                .allowed
        },
    )];
    for (m, e) in models.iter().zip(&entities) {
        let style = match m.style {
            TeamStyle::PermitWhen => "permit-unless",
            TeamStyle::Forbid => "forbid-unless",
        };
        let (authorizer, build_request, prebuilt) = (&authorizer, &build_request, &prebuilt);
        engines.push(Engine::new(
            format!("Cedar [{style}] Request built per decision"),
            move |_, q: &Question| {
                authorizer
                    .is_authorized(&build_request(q, None), &m.policies, e)
                    .decision()
                    == Decision::Allow
            },
        ));
        if m.style == TeamStyle::PermitWhen {
            engines.push(Engine::new(
                format!("Cedar [{style}] Request built + schema-validated per decision"),
                move |_, q: &Question| {
                    authorizer
                        .is_authorized(&build_request(q, Some(&m.schema)), &m.policies, e)
                        .decision()
                        == Decision::Allow
                },
            ));
        }
        engines.push(Engine::new(
            format!("Cedar [{style}] prebuilt Request"),
            move |i, _: &Question| {
                authorizer
                    .is_authorized(&prebuilt[i], &m.policies, e)
                    .decision()
                    == Decision::Allow
            },
        ));
    }
    // Not a decision: what building a Request costs on its own, to split the rows above.
    engines.push(
        Engine::new(
            "(part) Cedar `Request::new` alone, no schema",
            |_, q: &Question| build_request(q, None).principal().is_some(),
        )
        .part(),
    );
    println!("timing (ns/decision, engines in the order of the table below):");
    time_engines(&mut engines, &questions, &o);
    let rows = engines;

    let allowed = rows[0].allowed_per_pass;
    for r in rows.iter().filter(|r| r.decides) {
        assert_eq!(
            r.allowed_per_pass, allowed,
            "{}: allowed count differs on the mix",
            r.name
        );
    }
    println!(
        "mix: {allowed} of {} questions allowed by every engine",
        questions.len()
    );
    println!();
    let base = rows[0].median();
    println!("| engine | ns/decision (median) | min..max over rounds | decisions/s | x Rampart |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        let med = r.median();
        let per_second = if r.decides {
            format!("{:.0}", 1e9 / med)
        } else {
            "-".to_owned()
        };
        println!(
            "| {} | {:.0} | {:.0}..{:.0} | {} | {:.1} |",
            r.name,
            med,
            r.min(),
            r.max(),
            per_second,
            med / base
        );
    }
}
