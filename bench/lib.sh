# bench/lib.sh — shared by the benchmark scripts (sourced). Needs REPO, WD, BUILD, say, die.

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
