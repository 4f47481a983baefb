#!/usr/bin/env bash
# bench-ab.sh A_BIN B_BIN compares two dcv builds under the same ACME load,
# run side by side: each run starts `dcv serve` of A and of B (embedded
# SQLite, each in a fresh data directory) with a `dcv bench` load generator
# each, and measures both at the same time, so that whatever the machine
# does meanwhile (a virtual machine's speed drifts by a third over minutes
# here) falls on both alike. It prints each run's certificates/s and server
# CPU per certificate, the ratios B/A, and their medians.
#
# Two builds measured one after the other differ by ±10% from run to run on
# such a machine, more than most single changes are worth; side by side,
# an A/A control run gives ratios within about ±6% whose median is within
# 1% of 1.0 (docs/performance.md, round 7). Each pair shares the two cores:
# a build that is more efficient, or less often waiting, takes a larger share
# and makes more certificates. Use a concurrency at which one pair saturates
# the machine (16 on two cores).
#
# Environment: RUNS (default 6), CONCURRENCY (per build, default 16),
# DURATION (default 8s), DCV_SERVE_FLAGS (extra flags for both servers),
# A_IP and B_IP (loopback addresses, default 127.0.0.77 and 127.0.0.78).
# Everything listens on loopback only.
set -euo pipefail

if [ $# -ne 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	echo "usage: $0 A_BIN B_BIN (two dcv binaries)" >&2
	exit 2
fi
A_BIN=$1
B_BIN=$2
RUNS=${RUNS:-6}
CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-8s}
A_IP=${A_IP:-127.0.0.77}
B_IP=${B_IP:-127.0.0.78}
for ip in "$A_IP" "$B_IP"; do
	case $ip in
	127.*) ;;
	*) echo "$0: $ip is not a loopback address (127.0.0.0/8)" >&2; exit 2 ;;
	esac
done
RUN_TIMEOUT=300 # seconds; hard cap on one bench run

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# serve BIN IP DIR: starts dcv serve of BIN on IP and waits for its directory.
serve() {
	local bin=$1 ip=$2 dir=$3
	# shellcheck disable=SC2086 # DCV_SERVE_FLAGS is a list of flags
	"$bin" serve --data "$dir/data" --listen "$ip:18480" --resolver "$ip:18453" \
		--validation-http-port 18402 --validation-https-port 18402 --allow-loopback-targets \
		--log-level error --acme-rate-limits off --resolver-cache-max-ttl 60s ${DCV_SERVE_FLAGS:-} \
		>"$dir/serve.log" 2>&1 &
	echo $! >"$dir/pid"
	for _ in $(seq 100); do
		curl -fs -o /dev/null "http://$ip:18480/acme/directory" && return 0
		sleep 0.1
	done
	echo "dcv serve ($bin) did not start:" >&2
	cat "$dir/serve.log" >&2
	return 1
}

# load BIN IP DIR DURATION OUT: runs dcv bench of BIN against the server of DIR.
load() {
	local bin=$1 ip=$2 dir=$3 d=$4 out=$5
	timeout "$RUN_TIMEOUT" "$bin" bench --directory "http://$ip:18480/acme/directory" \
		--concurrency "$CONCURRENCY" --duration "$d" --responder "$ip:18402" \
		--dns-listen "$ip:18453" --server-pid "$(cat "$dir/pid")" >"$out" 2>&1
}

# figures OUT: "certificates/s server-ms-per-certificate" of a bench report.
figures() {
	awk '/^certificates/{r=$6+0} /^server CPU/{s=$5} END{if (r == "" || s == "") exit 1; print r, s}' "$1"
}

results=$work/results
for i in $(seq "$RUNS"); do
	for side in a b; do mkdir -p "$work/$i$side"; done
	serve "$A_BIN" "$A_IP" "$work/${i}a"
	pids+=("$(cat "$work/${i}a/pid")")
	serve "$B_BIN" "$B_IP" "$work/${i}b"
	pids+=("$(cat "$work/${i}b/pid")")
	# Warm both servers, then measure them together.
	load "$A_BIN" "$A_IP" "$work/${i}a" 3s /dev/null &
	la=$!
	load "$B_BIN" "$B_IP" "$work/${i}b" 3s /dev/null &
	lb=$!
	wait "$la" "$lb"
	load "$A_BIN" "$A_IP" "$work/${i}a" "$DURATION" "$work/${i}a/out" &
	la=$!
	load "$B_BIN" "$B_IP" "$work/${i}b" "$DURATION" "$work/${i}b/out" &
	lb=$!
	wait "$la" "$lb"
	kill "$(cat "$work/${i}a/pid")" "$(cat "$work/${i}b/pid")"
	wait "$(cat "$work/${i}a/pid")" "$(cat "$work/${i}b/pid")" 2>/dev/null || true
	echo "$(figures "$work/${i}a/out") $(figures "$work/${i}b/out")" | tee -a "$results" |
		awk -v i="$i" '{printf "run %d: A %.1f/s %.3f ms  B %.1f/s %.3f ms  B/A certificates/s %.3f server CPU %.3f\n", i, $1, $2, $3, $4, $3/$1, $4/$2}'
done
sort -n <(awk '{print $3/$1}' "$results") | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "median B/A: certificates/s %.3f", m}'
sort -n <(awk '{print $4/$2}' "$results") | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf ", server CPU per certificate %.3f (%d runs, concurrency %s each)\n", m, NR, c}' c="$CONCURRENCY"
