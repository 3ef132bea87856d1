# bench/lib.sh — shared by the benchmark scripts (sourced). Needs REPO, WD, BUILD, say, die.

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Stops the process whose pid is in a pid file, only if its name matches (the box is shared: a stale
# pid may belong to someone else now): TERM, then KILL after the given seconds. Removes the file.
stop_pid() {  # pidfile comm-regex seconds-to-wait-after-TERM
    local f=$1 comm=$2 wait=$3 p
    [ -f "$f" ] || return 0
    p=$(cat "$f")
    if alive "$p" && grep -qxE "$comm" "/proc/$p/comm" 2>/dev/null; then
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq $((wait * 10))); do alive "$p" || break; sleep 0.1; done
        alive "$p" && { echo "$comm (pid $p) did not stop within $wait s of SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; }
    fi
    rm -f "$f"
}

# Sets BIN to CRISISMAP when given, else to a Release build made in $BUILD (log in $WD).
crisismap_binary() {
    if [ -n "${CRISISMAP:-}" ]; then
        BIN=$(readlink -f "$CRISISMAP"); [ -x "$BIN" ] || die "CRISISMAP=$CRISISMAP is not an executable"
        echo "using CRISISMAP=$BIN"
        return
    fi
    say "build crisismap (Release) in $BUILD"
    # shellcheck disable=SC2086
    if ! { cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} && cmake --build "$BUILD" -j2 --target crisismap; } >"$WD/build.log" 2>&1; then
        tail -30 "$WD/build.log"; die "build failed (log: $WD/build.log); CRISISMAP=/path/to/crisismap measures an existing binary"
    fi
    BIN=$BUILD/crisismap
    echo "built $BIN"
}
