#!/usr/bin/env bash
# test-arch.sh: run gosync's portable tests for another GOARCH on this host,
# or, where this host cannot execute that architecture, build and vet them and
# say so in one line.
#
# Usage: scripts/cross/test-arch.sh ARCH
#   386    core, the drop-in, adaptive and the conformance suite's reference backends,
#          run natively where the kernel executes 32-bit x86 binaries (most
#          x86-64 kernels do; some are built without IA32 emulation, and an
#          arm64 host never does). Go's 386 binaries crash under qemu-i386 on
#          this project's machines, so there is no emulated fallback.
#   arm64  the same packages, run natively on an arm64 host and otherwise
#          under QEMU user-mode emulation (qemu-aarch64-static from Debian's
#          qemu-user-static, through go test -exec; installed with apt-get
#          when missing and the script runs as root).
#
# A host that cannot run ARCH (no kernel support, no QEMU and not root to
# install it) is not a failure: every package is still vetted and its test
# binary compiled, and one line starting "==> test-ARCH: SKIPPED running:"
# says what was not run and why. Only real failures (vet, build, a failing
# or hanging test) make the script exit non-zero.
#
# Environment:
#   GO                 the go command (default go)
#   TEST_TIMEOUT       go test -timeout (default 20m)
#   GOSYNC_CROSS_EXEC  run the binaries through this wrapper instead of the
#                      one chosen here; GOSYNC_CROSS_EXEC=false shows what a
#                      host that cannot run ARCH prints
set -euo pipefail

arch=${1:?usage: test-arch.sh 386|arm64}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
go=${GO:-go}
timeout=${TEST_TIMEOUT:-20m}

say() { printf '==> test-%s: %s\n' "$arch" "$*"; }
die() { printf '==> test-%s: FAIL: %s\n' "$arch" "$*" >&2; exit 1; }

# What runs on ARCH: "module [go test flags]" per line. The suite runs its
# reference backends in -short mode: the platform backends have their own
# native runs in test-race.
plan=(
	"core"
	"backend-generic"
	"adaptive"
	"conformance -short -run TestGeneric|TestCondBackend"
)

host=$(GOARCH= GOOS= "$go" env GOHOSTARCH)
execflag=()
reason=""

# can_run reports whether a trivial GOARCH=$arch program runs here, with
# execflag as the go test -exec wrapper; on failure it sets reason.
can_run() {
	local dir out
	dir=$(mktemp -d)
	# The probe is a program, not a test: it fails the same way a test binary
	# would (exec format error) without the cost of building one.
	cat >"$dir/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("ok") }
EOF
	printf 'module probe\n\ngo 1.26\n' >"$dir/go.mod"
	if ! (cd "$dir" && GOWORK=off GOARCH=$arch CGO_ENABLED=0 "$go" build -o probe .) 2>"$dir/err"; then
		reason="cannot even build a GOARCH=$arch program: $(tr '\n' ' ' <"$dir/err")"
		rm -rf "$dir"
		return 1
	fi
	if out=$("${execflag[@]}" "$dir/probe" 2>&1) && [[ $out == ok ]]; then
		rm -rf "$dir"
		return 0
	fi
	reason="this host ($host, $(uname -r)) cannot execute GOARCH=$arch binaries${execflag:+ under ${execflag[*]}}: $(echo "$out" | head -1)"
	rm -rf "$dir"
	return 1
}

runnable=0
if [[ -n ${GOSYNC_CROSS_EXEC:-} ]]; then
	read -r -a execflag <<<"$GOSYNC_CROSS_EXEC"
	if can_run; then runnable=1; fi
else
case $arch in
386)
	if can_run; then runnable=1; fi
	;;
arm64)
	if [[ $host == arm64 ]]; then
		runnable=1
	else
		if ! command -v qemu-aarch64-static >/dev/null; then
			if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
				say "installing qemu-user-static with apt-get"
				export DEBIAN_FRONTEND=noninteractive
				apt-get update -q >/dev/null
				apt-get install -y -q --no-install-recommends qemu-user-static >/dev/null
			fi
		fi
		if command -v qemu-aarch64-static >/dev/null; then
			execflag=(qemu-aarch64-static)
			if can_run; then runnable=1; fi
		else
			reason="qemu-aarch64-static is not installed and this script is not root to install it (sudo apt-get install -y qemu-user-static)"
		fi
	fi
	;;
*) die "unknown architecture $arch (want 386 or arm64)" ;;
esac
fi

failed=()
for entry in "${plan[@]}"; do
	read -r mod flags <<<"$entry"
	args=()
	[[ -n ${flags:-} ]] && read -r -a args <<<"$flags"
	say "go vet $mod"
	(cd "$root/$mod" && GOARCH=$arch "$go" vet ./...) || failed+=("$mod (vet)")
	if ((runnable)); then
		say "go test $mod${execflag:+ (-exec ${execflag[*]})}${flags:+ $flags}"
		(cd "$root/$mod" && GOARCH=$arch CGO_ENABLED=0 "$go" test -count=1 -timeout "$timeout" \
			${execflag:+-exec "${execflag[*]}"} "${args[@]}" ./...) || failed+=("$mod (test)")
	else
		say "go test -c $mod (built, not run)"
		for pkg in $(cd "$root/$mod" && GOARCH=$arch "$go" list ./...); do
			(cd "$root/$mod" && GOARCH=$arch CGO_ENABLED=0 "$go" test -c -o /dev/null "$pkg") ||
				failed+=("$pkg (test build)")
		done
	fi
done

if ((${#failed[@]})); then
	for f in "${failed[@]}"; do say "FAIL: $f"; done
	exit 1
fi
if ((runnable)); then
	say "ok: tests passed on GOARCH=$arch${execflag:+ under ${execflag[*]}}"
else
	say "SKIPPED running: $reason; vetted and compiled only"
fi
