#!/usr/bin/env bash
# test-windows.sh: run gosync's Windows test binaries on Linux under Wine.
#
# What it does, in order (every step is idempotent):
#   1. Makes sure wine and the mingw-w64 cross compiler are installed. When
#      they are missing it installs them with apt-get if it runs as root.
#      Where they cannot be installed (not root, no apt-get), or the host is
#      not x86-64 (Wine runs only x86 code), it vets and compiles the Windows
#      test binaries instead, prints one "SKIPPED running" line saying why,
#      and exits 0.
#   2. Creates (once) a Wine prefix owned by the repository, in
#      $GOSYNC_CACHE_DIR/wine (default: <repo>/.cache/wine; .cache/ is
#      gitignored).
#   3. Builds scripts/wine/bcryptprimitives.c into bcryptprimitives.dll and
#      copies it into the prefix's system32: Go 1.24+ Windows binaries abort
#      under Wine 8 without it (see that file).
#   4. Cross-compiles (GOOS=windows GOARCH=amd64 go test -c) the test binary
#      of every package of the modules in $GOSYNC_WINE_MODULES and runs each
#      under wine with -test.v, under a watchdog (timeout), printing all of
#      its output. Any failure, hang, or binary that runs no test fails the
#      script.
#   5. Cross-compiles the same test binaries and runs go vet for
#      windows/arm64 (not run: Wine here only runs x86 code).
#
# Environment:
#   GOSYNC_CACHE_DIR      cache directory (default <repo>/.cache)
#   GOSYNC_WINE_MODULES   modules to test (default "backend-iocp core shared")
#   GOSYNC_WINE_TIMEOUT   watchdog per test binary, seconds (default 600)
#   GOSYNC_WINE_TESTFLAGS extra flags for every test binary, such as
#                         "-test.run=TestConformance -test.count=3"
#   GO                    the go command (default go)
#
# Exit status: 0 when every test binary passed under wine (or, on a host that
# cannot run them, was vetted and compiled) and the arm64 builds succeeded;
# non-zero otherwise.
set -euo pipefail

start=$(date +%s)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${GOSYNC_CACHE_DIR:-$root/.cache}
modules=${GOSYNC_WINE_MODULES:-backend-iocp core shared}
watchdog=${GOSYNC_WINE_TIMEOUT:-600}
read -r -a testflags <<<"${GOSYNC_WINE_TESTFLAGS:-}"
go=${GO:-go}

say() { printf '==> test-windows: %s\n' "$*"; }
die() { printf '==> test-windows: FAIL: %s\n' "$*" >&2; exit 1; }

# --- 1. tools ---------------------------------------------------------------
command -v "$go" >/dev/null || die "the go command ($go) is not on PATH; install Go 1.26 or set GO"

failed=()

# vet_and_build vets every module for windows/$1 and compiles each package's
# test binary without running it, adding what fails to failed.
vet_and_build() {
	local goarch=$1 mod pkg
	for mod in $modules; do
		say "windows/$goarch: go vet and go test -c in $mod (not run)"
		(cd "$root/$mod" && GOWORK=off GOOS=windows GOARCH=$goarch CGO_ENABLED=0 "$go" vet ./...) ||
			failed+=("$mod (windows/$goarch vet)")
		for pkg in $(cd "$root/$mod" && GOWORK=off GOOS=windows GOARCH=$goarch "$go" list ./...); do
			(cd "$root/$mod" && GOWORK=off GOOS=windows GOARCH=$goarch CGO_ENABLED=0 "$go" test -c -o /dev/null "$pkg") ||
				failed+=("$pkg (windows/$goarch build)")
		done
	done
}

# build_only vets and compiles the windows/amd64 and windows/arm64 test
# binaries without running them, then prints one SKIPPED line with the
# reason ($1) and exits 0: a host that cannot run Wine is not a failure.
build_only() {
	vet_and_build amd64
	vet_and_build arm64
	if ((${#failed[@]})); then
		for f in "${failed[@]}"; do say "FAIL: $f"; done
		exit 1
	fi
	say "SKIPPED running: $1; the Windows test binaries were vetted and compiled only"
	exit 0
}

# Wine runs x86 code only: on any other host the binaries cannot run.
case $(uname -m) in
x86_64 | amd64) ;;
*) build_only "this host is $(uname -m) and Wine runs only x86-64 Windows binaries" ;;
esac

missing=()
command -v wine >/dev/null || missing+=(wine wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64-win32)
command -v timeout >/dev/null || missing+=(coreutils)
if ((${#missing[@]})); then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		say "installing ${missing[*]} with apt-get"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	else
		build_only "missing ${missing[*]} and not root with apt-get to install them (sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]})"
	fi
fi

# --- 2. Wine prefix -----------------------------------------------------------
export WINEPREFIX=$cache/wine
export WINEDEBUG=-all
export WINEARCH=win64
# No Mono or Gecko install prompts: the tests are console programs.
export WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$cache"
# One run at a time per prefix (wineserver and the shim copy are shared).
exec 9>"$cache/wine.lock"
flock 9
# Stop this prefix's wineserver on exit so no process outlives the script.
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

say "wine: $(wine --version 2>/dev/null), prefix: $WINEPREFIX"
if [[ ! -f $WINEPREFIX/system.reg ]]; then
	say "creating the Wine prefix (first run only)"
	wineboot --init >/dev/null 2>&1 || die "wineboot --init failed for $WINEPREFIX"
	wineserver -w
fi
system32=$WINEPREFIX/drive_c/windows/system32
[[ -d $system32 ]] || die "$system32 does not exist after wineboot; remove $WINEPREFIX and retry"

# --- 3. bcryptprimitives.dll shim -------------------------------------------
build=$cache/wine-build
mkdir -p "$build"
dll=$build/bcryptprimitives.dll
if [[ ! -f $dll || $here/bcryptprimitives.c -nt $dll || $here/bcryptprimitives.def -nt $dll ]]; then
	say "building the bcryptprimitives.dll shim"
	x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -o "$dll" \
		"$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -ladvapi32
fi
cmp -s "$dll" "$system32/bcryptprimitives.dll" || cp "$dll" "$system32/bcryptprimitives.dll"

# --- 4. build and run the windows/amd64 test binaries -----------------------
bins=$build/bin
rm -rf "$bins"
mkdir -p "$bins"
ran=()
for mod in $modules; do
	[[ -f $root/$mod/go.mod ]] || die "module $mod has no go.mod under $root"
	pkgs=$(cd "$root/$mod" && GOWORK=off GOOS=windows GOARCH=amd64 "$go" list -f '{{.ImportPath}} {{.Dir}} {{len .TestGoFiles}} {{len .XTestGoFiles}}' ./...)
	while read -r pkg dir nt nx; do
		if ((nt + nx == 0)); then
			say "$pkg: no test files for windows, nothing to run"
			continue
		fi
		exe=$bins/$(echo "${pkg#github.com/compio-sync/gosync/}" | tr '/' '_').test.exe
		say "building $pkg (GOOS=windows GOARCH=amd64 go test -c)"
		(cd "$dir" && GOWORK=off GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$go" test -c -o "$exe" .) ||
			{ failed+=("$pkg (build)"); continue; }
		say "running $pkg under wine: wine $(basename "$exe") -test.v${testflags[*]:+ ${testflags[*]}} (watchdog ${watchdog}s)"
		log=$exe.log
		set +e
		# -test.timeout fires first and prints every goroutine's stack;
		# timeout(1) is the backstop if the process cannot even do that.
		(cd "$dir" && timeout -k 10 "$watchdog" wine "$exe" -test.v -test.timeout=$((watchdog - 15))s "${testflags[@]}") 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		set -e
		if ((rc != 0)); then
			((rc == 124 || rc == 137)) && say "$pkg: watchdog expired after ${watchdog}s"
			failed+=("$pkg (exit $rc)")
		elif ! grep -q '^--- PASS\|^=== RUN' "$log" || ! grep -qx 'PASS' "$log"; then
			failed+=("$pkg (ran no test or printed no PASS)")
		else
			passes=$(grep -c '^--- PASS' "$log" || true)
			skips=$(grep -c -- '--- SKIP' "$log" || true)
			ran+=("$pkg: $passes top-level tests passed, $skips tests skipped")
		fi
	done <<<"$pkgs"
done

# --- 5. windows/arm64: compile and vet only ---------------------------------
vet_and_build arm64

# --- summary ----------------------------------------------------------------
elapsed=$(($(date +%s) - start))
for r in "${ran[@]}"; do say "PASS under wine: $r"; done
if ((${#failed[@]})); then
	for f in "${failed[@]}"; do say "FAIL: $f"; done
	say "FAILED after ${elapsed}s"
	exit 1
fi
((${#ran[@]})) || die "no test binary ran"
say "ok: all Windows test binaries passed under wine, arm64 builds ok (${elapsed}s)"
