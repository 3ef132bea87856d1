#!/usr/bin/env bash
# Fails when C sources call functions the style bans (sprintf, strcpy, strcat, strtok,
# atoi, gets): bounded alternatives exist for each (snprintf, memcpy with a known length,
# cm_buf, strtol with checks).
cd "$1" || exit 2
hits=$(grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)\s*\(' layers/*.c layers/*.h service/*.c service/*.h service/handlers/*.c \
       | grep -vE '\b(snprintf|vsnprintf)\s*\(' || true)
if [ -n "$hits" ]; then
    echo "banned functions used:"; echo "$hits"
    echo "0 passed, 1 failed"; exit 1
fi
echo "no banned functions in layers/ and service/"
echo "1 passed, 0 failed"
