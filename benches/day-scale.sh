#!/usr/bin/env bash
# How altsim scales with a capture's length: the shipped sample (1×) against a day made of 133
# copies of it (examples/day_capture.rs), for a backtest from the capture and from the event
# cache, the cache's build, `inspect`, and a 12-run sweep on every core. Prints wall time and
# peak resident memory (GNU time's %M) of each, as a Markdown table.
#
#   benches/day-scale.sh [COPIES]      # 133 by default; needs /usr/bin/time (Debian: time)
set -euo pipefail
cd "$(dirname "$0")/.."
COPIES=${1:-133}
DIR=target/day
BIN=target/release/altsim
cargo build --release --quiet --bin altsim --example day_capture
mkdir -p "$DIR/one" "$DIR/day"
cp data/markets.json "$DIR/one/"
cp data/markets.json "$DIR/day/"
cp data/btcusdt-20240808T2354Z.ranger.gz "$DIR/one/capture.ranger.gz"
if [[ ! -f $DIR/day/capture.ranger.zst ]]; then
    target/release/examples/day_capture "$DIR/day/capture.ranger.zst.partial" "$COPIES"
    mv "$DIR/day/capture.ranger.zst.partial" "$DIR/day/capture.ranger.zst"
fi
for size in one day; do
    cap=$(ls "$DIR/$size"/capture.ranger.*)
    sed -e "s|\"../data/btcusdt-\*.ranger.gz\"|\"$(basename "$cap")\"|" \
        -e "s|\"../data/markets.json\"|\"markets.json\"|" \
        -e "s|^out = .*|out = \"out\"|" scenarios/mm-tight.toml >"$DIR/$size/mm-tight.toml"
    sed -e "s|^out = .*|out = \"sweep\"|" scenarios/sweep-mm.toml >"$DIR/$size/sweep-mm.toml"
done

measure() { # label, command…
    local label=$1
    shift
    /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$DIR/time.txt"
    printf '%s %s\n' "$label" "$(tail -1 "$DIR/time.txt")"
}

run() {
    for size in one day; do
        local d=$DIR/$size cap
        cap=$(ls "$d"/capture.ranger.*)
        rm -rf "$d/.altsim-cache"
        measure "$size backtest-from-capture" "$BIN" backtest "$d/mm-tight.toml" --quiet --no-cache
        measure "$size cache-build" "$BIN" cache "$cap" --markets "$d/markets.json"
        measure "$size backtest-from-cache" "$BIN" backtest "$d/mm-tight.toml" --quiet
        measure "$size inspect" "$BIN" inspect "$cap" --markets "$d/markets.json"
        measure "$size sweep-12-runs" "$BIN" sweep "$d/sweep-mm.toml" --quiet
    done
}

echo "| | 1× (650 s) | ${COPIES}× (a day) |"
echo "|---|---|---|"
run | awk '{k=$2; v[$1" "k]=sprintf("%.2f s, %.0f MB", $3, $4/1024); if (!(k in seen)) {order[n++]=k; seen[k]=1}}
    END {for (i=0;i<n;i++) {k=order[i]; printf "| %s | %s | %s |\n", k, v["one "k], v["day "k]}}'
