#!/usr/bin/env bash
# Fluent Bit's own command line, unchanged: tcp on 5170 → websocket on 9000 as json_lines.
# A bundled sink stands in for your WebSocket server and prints what it receives.
set -euo pipefail
cd "$(dirname "$0")/.."
node dist/src/cli.js sink --port 9000 --print &
sink=$!
node dist/src/cli.js -i tcp -p listen=127.0.0.1 -p port=5170 -p format=json \
  -o websocket -p host=127.0.0.1 -p port=9000 -p uri=/ -p format=json_lines -m '*' -f 1 &
relay=$!
trap 'kill $relay; wait $relay; kill $sink' EXIT
until (echo > /dev/tcp/127.0.0.1/5170) 2>/dev/null; do sleep 0.1; done
echo '{"key 1": 123456789, "key 2": "abcdefg"}' > /dev/tcp/127.0.0.1/5170
sleep 2
