#!/usr/bin/env bash
# Runs jackc/puddle's own BenchmarkPoolAcquireAndRelease (puddle is the
# connection pool under pgx) twice per round: once as published, on
# golang.org/x/sync/semaphore, and once with that import replaced by this
# repository's drop-in, backend-generic/semaphore; then prints, per cell,
# x/sync's ns/op over the drop-in's (above 1: the drop-in is faster) as the
# median of the rounds, with the range.
#
# usage: scripts/puddle/run.sh [rounds] [benchtime]   (defaults: 4, 1000x)
#
# The drop-in build uses this checkout's core and backend-generic, edits
# included. Both builds use the same golang.org/x/sync version (the
# benchmarks module's). Rounds alternate the two builds, so that a machine whose speed
# drifts hurts both alike. Four rounds of all 43 cells take about 30 minutes
# on 2 cores. Needs the Go module proxy (it downloads puddle).
set -euo pipefail

rounds=${1:-4}
benchtime=${2:-1000x}
puddle=github.com/jackc/puddle/v2@v2.2.4
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

xsync=$(cd "$root/benchmarks" && go list -m -f '{{.Version}}' golang.org/x/sync)
dir=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$puddle" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "puddle: could not download $puddle" >&2; exit 1; }

for v in xsync dropin; do
	cp -r "$dir" "$work/$v"
	chmod -R u+w "$work/$v"
done
(cd "$work/xsync" && GOWORK=off GOFLAGS=-mod=mod go get "golang.org/x/sync@$xsync" >/dev/null 2>&1)
(
	cd "$work/dropin"
	sed -i 's#"golang.org/x/sync/semaphore"#"github.com/compio-sync/gosync/backend-generic/semaphore"#' pool.go pool_test.go
	cat >>go.mod <<MOD
replace github.com/compio-sync/gosync/backend-generic => $root/backend-generic
replace github.com/compio-sync/gosync/core => $root/core
MOD
	GOWORK=off GOFLAGS=-mod=mod go get github.com/compio-sync/gosync/backend-generic@v0.0.0 "golang.org/x/sync@$xsync" >/dev/null 2>&1
)
for v in xsync dropin; do
	(cd "$work/$v" && GOWORK=off GOFLAGS=-mod=mod go test -c -o "$work/$v.test" .)
done

out="$work/out.txt"
for r in $(seq "$rounds"); do
	for v in xsync dropin; do
		echo "puddle: round $r of $rounds, $v" >&2
		"$work/$v.test" -test.run '^$' -test.bench '^BenchmarkPoolAcquireAndRelease$' \
			-test.benchtime "$benchtime" -test.cpu 2 |
			awk -v r="$r" -v v="$v" '/ns\/op/ {print r, v, $1, $3}' >>"$out"
	done
done

# Per cell: the median over rounds of x/sync's ns/op over the drop-in's.
awk '
	{ sub(/^BenchmarkPoolAcquireAndRelease\//, "", $3); sub(/-[0-9]+$/, "", $3); ns[$1, $2, $3] = $4; cell[$3] = 1; round[$1] = 1 }
	END {
		for (c in cell) {
			k = 0
			for (r in round) if (ns[r, "xsync", c] > 0 && ns[r, "dropin", c] > 0) q[++k] = ns[r, "xsync", c] / ns[r, "dropin", c]
			for (i = 2; i <= k; i++) { x = q[i]; for (j = i - 1; j >= 1 && q[j] > x; j--) q[j + 1] = q[j]; q[j + 1] = x }
			med = (k % 2) ? q[(k + 1) / 2] : (q[k / 2] + q[k / 2 + 1]) / 2
			printf "%-48s x/sync / drop-in %.2fx  (rounds %.2fx to %.2fx)\n", c, med, q[1], q[k] | "sort -V"
			n++; lg += log(med); if (med < 1) below++; if (q[k] < 1) always++
		}
		close("sort -V")
		printf "geometric mean of the cell medians: %.2fx over %d cells; %d cells below 1.0x, %d below it in every round\n", exp(lg / n), n, below, always
	}' "$out"
