#!/usr/bin/env bash
# Authorization decisions per second in process, single thread: Rampart's role policy
# (rampart_access::Policy::decide) against the cedar-policy crate (4.x) evaluating the same role
# model, generated from the same policy document. Before timing, both engines answer every
# question of a grid (role sets x teams x enabled/disabled x actions x resource teams) and the
# run stops on any difference. See bench/authz-cedar/README.md.
# Usage: bench/authz_cedar.sh [--seconds S] [--rounds R] [--mix N] [--print-cedar]
# bench/authz-cedar is its own cargo project (not a workspace member): the workspace never
# compiles cedar-policy; the first build here takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/authz-cedar"
export CARGO_TARGET_DIR="$PWD/target"
cargo build --release --quiet
exec ./target/release/authz-cedar "$@"
