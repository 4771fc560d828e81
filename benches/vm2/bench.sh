#!/usr/bin/env bash
# The harness side by side with PostHog's vm2 sandbox, whole process against whole process.
#
#   benches/vm2/bench.sh [--count N] [--seed N] [--runs N]     (defaults: 200000, 1, 3)
#
# Generates N events (benches/vm2/gen-events.js) into target/bench-vs-vm2/events.jsonl, builds
# the harness (release) and the plugin components (as the harness builds them), checks on a
# sample that both sides produce the same events (compare.js), then times each pair:
#   (a) url-normalizer       vm2: benches/vm2/url-normalizer.js    harness: plugins/url-normalizer
#   (b) passthrough          vm2: benches/vm2/passthrough.js       harness: benches/vm2/passthrough-plugin
#                            (the library and the test fixtures have no plain passthrough plugin)
#   (c) pipeline             vm2: benches/vm2/pipeline.js          harness: --pipeline plugins/pipeline.toml
#   (d) floor                node JSON.parse + JSON.stringify of every line (no vm2) / cat
# The harness is timed twice: given the plugin directories, as `harness run` is normally used
# (each run asks cargo whether the crate is built), and given the built .wasm files (no cargo).
# Timing uses hyperfine when installed (--warmup 1, --runs N, median), else bash and
# `date +%s%N` (one warm-up run, N runs, median). Prints one table and writes it as JSON to
# target/bench-vs-vm2/results.json. Run from anywhere; paths are relative to the repository.
# Environment: CARGO_TARGET_DIR (where cargo builds, default target/), HARNESS (a harness binary
# to use instead of building one), VM2_MODULE (another vm2 for run.js, to compare versions).
set -euo pipefail

count=200000
seed=1
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
        --count) count="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! command -v node >/dev/null 2>&1; then
    echo "skipped: node not found"
    exit 0
fi

out=target/bench-vs-vm2
mkdir -p "$out/logs" "$out/sample"
step() { echo "==> $*" >&2; }
run_visibly() { echo "+ $*" >&2; "$@"; }

if [ ! -d benches/vm2/node_modules/vm2 ]; then
    run_visibly npm ci --prefix benches/vm2
fi

# --- events -------------------------------------------------------------------------------
events="$out/events.jsonl"
if [ ! -f "$events" ] || [ "$(cat "$out/events.args" 2>/dev/null)" != "$seed $count" ]; then
    step "generating $count events (seed $seed) into $events"
    node benches/vm2/gen-events.js --seed "$seed" --count "$count" > "$events.tmp"
    mv "$events.tmp" "$events"
    echo "$seed $count" > "$out/events.args"
fi
event_bytes=$(wc -c < "$events")
step "$count events, $event_bytes bytes ($((event_bytes / count)) per event)"

# --- builds -------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-target}"
if [ -n "${HARNESS:-}" ]; then
    harness=$HARNESS
    step "using the harness binary HARNESS=$harness (not building it)"
else
    run_visibly cargo build --release -p harness
    harness="$target_dir/release/harness"
fi

# Plugin components, built exactly as harness/src/cargo_build.rs builds a crate plugin (same
# target, package selection and profile overrides), so that the harness's own cargo call on
# each run finds them up to date.
wasm_target=wasm32-wasip2
profile_overrides=(
    --config 'profile.release.opt-level=3'
    --config 'profile.release.lto=true'
    --config 'profile.release.codegen-units=1'
    --config 'profile.release.panic="abort"'
    --config 'profile.release.strip="debuginfo"'
)
if [ ! -d "$(rustc --print target-libdir --target "$wasm_target" 2>/dev/null)" ]; then
    run_visibly rustup target add "$wasm_target"
fi
# The library's pipeline, which benches/vm2/pipeline.js restates plugin by plugin.
mapfile -t pipeline_plugins < <(sed -n 's|^path *= *"\(.*\)"|\1|p' plugins/pipeline.toml)
js_plugins=$(node -e 'console.log(require("./benches/vm2/pipeline").map((p) => p.name).join(" "))')
if [ "${pipeline_plugins[*]}" != "$js_plugins" ]; then
    echo "warning: plugins/pipeline.toml runs (${pipeline_plugins[*]}) but benches/vm2/pipeline.js" \
        "restates ($js_plugins): case (c) compares different pipelines" >&2
fi
plugin_dirs=()
for name in "${pipeline_plugins[@]}"; do plugin_dirs+=("plugins/$name"); done
case " ${pipeline_plugins[*]} " in *" url-normalizer "*) ;; *) plugin_dirs+=(plugins/url-normalizer) ;; esac
plugin_dirs+=(benches/vm2/passthrough-plugin)
rm -rf "$out/components"
for dir in "${plugin_dirs[@]}"; do
    package=$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$dir/Cargo.toml" | head -n 1)
    echo "+ cargo build --manifest-path $dir/Cargo.toml --package $package --lib --release" \
        "--target $wasm_target ${profile_overrides[*]}" >&2
    # The component's path from cargo's own report.
    wasm=$(cargo build --manifest-path "$dir/Cargo.toml" --package "$package" --lib --release \
        --target "$wasm_target" "${profile_overrides[@]}" --message-format json-render-diagnostics |
        node -e 'let text = ""; process.stdin.on("data", (d) => (text += d)).on("end", () => {
            const files = text.split("\n").filter(Boolean).map((l) => JSON.parse(l))
                .filter((m) => m.reason === "compiler-artifact").flatMap((m) => m.filenames)
                .filter((f) => f.endsWith(".wasm"));
            console.log(files.pop() || ""); })')
    if [ -z "$wasm" ] || [ ! -f "$wasm" ]; then echo "error: no component built for $dir" >&2; exit 1; fi
    # The same component with its manifest (and fixtures) beside it, for the runs without cargo.
    name=$(basename "$dir")
    mkdir -p "$out/components/$name"
    cp "$dir/plugin.json" "$out/components/$name/"
    if [ -d "$dir/fixtures" ]; then cp -r "$dir/fixtures" "$out/components/$name/"; fi
    cp "$wasm" "$out/components/$name/plugin.wasm"
done
sed 's|^path = "\(.*\)"|path = "\1/plugin.wasm"|' plugins/pipeline.toml > "$out/components/pipeline.toml"

# --- the cases ----------------------------------------------------------------------------
# case id | label | vm2 command | harness command (plugin directories) | harness command (.wasm)
vm2_run="node benches/vm2/run.js --input $events --plugin"
# `--deterministic`: verification's environment (fixtures for http, storage in memory), as the
# vm2 side has; without it `run` would persist storage and reach for the network.
h_run="$harness run --allow-unapproved --deterministic --input $events"
cases=(
    "a|(a) url-normalizer|$vm2_run url-normalizer|$h_run plugins/url-normalizer|$h_run $out/components/url-normalizer/plugin.wasm"
    "b|(b) passthrough|$vm2_run passthrough|$h_run benches/vm2/passthrough-plugin|$h_run $out/components/passthrough-plugin/plugin.wasm"
    "c|(c) pipeline, ${#pipeline_plugins[@]} plugins|$vm2_run pipeline|$h_run --pipeline plugins/pipeline.toml|$h_run --pipeline $out/components/pipeline.toml"
    "d|(d) floor: node JSON only / cat|$vm2_run none|cat $events|"
)

# --- a sample first: both sides work, the pipelines agree, components are compiled and cached
sample="$out/sample/events.jsonl"
head -n 2000 "$events" > "$sample"
step "sample run (2000 events): outputs in $out/sample/"
for entry in "${cases[@]}"; do
    IFS='|' read -r id label vm2_cmd h_cmd hw_cmd <<< "$entry"
    [ "$id" = d ] && continue
    for side in vm2 harness harness-wasm; do
        case $side in vm2) cmd=$vm2_cmd ;; harness) cmd=$h_cmd ;; harness-wasm) cmd=$hw_cmd ;; esac
        # shellcheck disable=SC2086 # the commands are word lists
        if ! ${cmd//$events/$sample} > "$out/sample/$id-$side.jsonl" 2> "$out/logs/sample-$id-$side.stderr"; then
            echo "error: $side failed on $label (stderr: $out/logs/sample-$id-$side.stderr):" >&2
            tail -n 20 "$out/logs/sample-$id-$side.stderr" >&2
            exit 1
        fi
    done
    printf '  %-28s vm2 vs harness: ' "$label" >&2
    node benches/vm2/compare.js "$out/sample/$id-vm2.jsonl" "$out/sample/$id-harness.jsonl" >&2 || true
done

# --- timing -------------------------------------------------------------------------------
if command -v hyperfine >/dev/null 2>&1 && hyperfine -N --runs 1 --warmup 0 true >/dev/null 2>&1; then
    tool=hyperfine
else
    tool=date
fi
step "timing with $tool: $runs runs of each command (plus one warm-up), median"

# Prints the median wall-clock seconds of a command, its stdout discarded.
measure() {
    local name=$1 cmd=$2
    if [ "$tool" = hyperfine ]; then
        hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$out/logs/$name.json" \
            "$cmd" >&2
        # Wall-clock median, and the mean CPU time (user + system; hyperfine reports means),
        # which other load on the machine disturbs less.
        node -e 'const r = require(process.argv[1]).results[0]
            console.log(r.median.toFixed(3) + "/" + (r.user + r.system).toFixed(3))' "$PWD/$out/logs/$name.json"
    else
        local times=() i start end
        for i in $(seq 0 "$runs"); do
            start=$(date +%s%N)
            # shellcheck disable=SC2086
            $cmd > /dev/null 2> "$out/logs/$name.stderr"
            end=$(date +%s%N)
            [ "$i" -gt 0 ] && times+=($((end - start)))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END {
            m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1e9 }'
    fi
}

rows="$out/logs/rows.tsv"
: > "$rows"
for entry in "${cases[@]}"; do
    IFS='|' read -r id label vm2_cmd h_cmd hw_cmd <<< "$entry"
    step "$label"
    vm2_s=$(measure "$id-vm2" "$vm2_cmd")
    h_s=$(measure "$id-harness" "$h_cmd")
    hw_s=""
    [ -n "$hw_cmd" ] && hw_s=$(measure "$id-harness-wasm" "$hw_cmd")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$label" "$vm2_s" "$h_s" "$hw_s" "$vm2_cmd" "$h_cmd" "$hw_cmd" >> "$rows"
done

# --- the table and results.json -----------------------------------------------------------
node - "$rows" "$out/results.json" "$count" "$event_bytes" "$seed" "$runs" "$tool" <<'EOF'
const fs = require('fs')
const [rowsFile, resultsFile, count, bytes, seed, runs, tool] = process.argv.slice(2)
const num = (text) => (text === '' ? null : Number(text))
const ratio = (a, b) => (a !== null && b !== null && b > 0 ? a / b : null)
const cases = fs.readFileSync(rowsFile, 'utf8').trim().split('\n').map((line) => {
    const [id, label, vm2Times, harnessTimes, wasmTimes, vm2Command, harnessCommand, wasmCommand] = line.split('\t')
    // Each measurement is "wall" or "wall/cpu" (cpu: user + system, with hyperfine only).
    const [vm2, vm2Cpu = ''] = vm2Times.split('/')
    const [harness, harnessCpu = ''] = harnessTimes.split('/')
    const [wasm, wasmCpu = ''] = wasmTimes.split('/')
    const floor = id === 'd'
    return {
        id, case: label,
        vm2_seconds: num(vm2), harness_seconds: num(harness),
        ratio: floor ? null : ratio(num(vm2), num(harness)),
        harness_wasm_seconds: num(wasm), ratio_wasm: floor ? null : ratio(num(vm2), num(wasm)),
        vm2_cpu_seconds: num(vm2Cpu), harness_cpu_seconds: num(harnessCpu), harness_wasm_cpu_seconds: num(wasmCpu),
        vm2_command: vm2Command, harness_command: harnessCommand, harness_wasm_command: wasmCommand || null,
    }
})
const vm2Package = process.env.VM2_MODULE || 'benches/vm2/node_modules/vm2'
const vm2Version = require(require('path').resolve(vm2Package, 'package.json')).version
const results = {
    events: Number(count), event_bytes: Number(bytes), seed: Number(seed), runs: Number(runs), timer: tool,
    statistic: 'median wall-clock seconds, whole process (*_cpu_seconds: mean user + system CPU seconds, with hyperfine)',
    load_average: require('os').loadavg().map((x) => Number(x.toFixed(2))),
    ratio: 'vm2_seconds / harness_seconds: above 1, the harness is faster',
    machine: { cpus: require('os').cpus().length, node: process.version, vm2: vm2Version },
    cases,
}
fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n')
const f = (x, digits = 2) => (x === null ? '-' : x.toFixed(digits))
const table = [['case', 'vm2 s', 'harness s', 'ratio', 'harness .wasm s', 'ratio .wasm']]
for (const c of cases) {
    table.push([c.case, f(c.vm2_seconds), f(c.harness_seconds), c.ratio === null ? '-' : f(c.ratio) + 'x',
        f(c.harness_wasm_seconds), c.ratio_wasm === null ? '-' : f(c.ratio_wasm) + 'x'])
}
const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)))
const line = (r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
console.log(`\n${count} events (${bytes} bytes), ${results.machine.cpus} CPUs (load average ${results.load_average.join(' ')}), node ${process.version}, vm2 ${vm2Version}; median of ${runs} (${tool})`)
console.log(line(table[0]))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of table.slice(1)) console.log(line(r))
if (cases.some((c) => c.vm2_cpu_seconds !== null)) {
    console.log('\nCPU seconds (user + system, mean), less disturbed by other load:')
    const cpu = [['case', 'vm2', 'harness', 'ratio', 'harness .wasm', 'ratio .wasm']]
    for (const c of cases) {
        const floor = c.id === 'd'
        const r1 = floor ? null : ratio(c.vm2_cpu_seconds, c.harness_cpu_seconds)
        const r2 = floor ? null : ratio(c.vm2_cpu_seconds, c.harness_wasm_cpu_seconds)
        cpu.push([c.case, f(c.vm2_cpu_seconds), f(c.harness_cpu_seconds), r1 === null ? '-' : f(r1) + 'x',
            f(c.harness_wasm_cpu_seconds), r2 === null ? '-' : f(r2) + 'x'])
    }
    const w = cpu[0].map((_, i) => Math.max(...cpu.map((r) => r[i].length)))
    for (const r of cpu) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(w[i]) : cell.padStart(w[i]))).join('  '))
}
console.log('(d): the vm2 column is node JSON.parse + JSON.stringify without vm2, the harness column is cat.')
console.log(`ratio = vm2 / harness (above 1: the harness is faster). JSON: ${resultsFile}`)
EOF
