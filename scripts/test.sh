#!/usr/bin/env bash
# Installs what is needed and runs the test suite three times through ctest: in an
# AddressSanitizer + UndefinedBehaviorSanitizer build (leaks reported by LeakSanitizer), in a
# ThreadSanitizer build (all but the browser test: the server's threads, the persistence
# worker, the index builder and the event streams under real requests), then in the release
# build. Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/web-vendor.sh
jobs=$(nproc)

echo "== sanitizer build (ASan + UBSan) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCRISISMAP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")

echo "== thread sanitizer build (TSan) =="
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRISISMAP_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs"
# Any report ends the process with status 66, which fails its test (the server tests check the
# server's exit status). GDAL's internal lock-order reports are suppressed (tests/tsan.supp).
export TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp
(cd build-tsan && ctest --output-on-failure -j"$jobs" -E '^web\.')
unset TSAN_OPTIONS

echo "== release build =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
cd build && ctest --output-on-failure -j"$jobs"
