#!/usr/bin/env bash
# Fluent Bit's own command line, unchanged: tcp on 5170 → websocket on 9000 as json_lines.
# A bundled sink stands in for your WebSocket server and prints what it receives.
set -euo pipefail
cd "$(dirname "$0")/.."

# Waits until something accepts TCP connections on 127.0.0.1:$1, while process $2 lives (10 s at most).
wait_for_port() {
  local port=$1 pid=$2 tries=100
  until (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before listening on $port" >&2; return 1; }
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || { echo "nothing listens on $port after 10 s" >&2; return 1; }
    sleep 0.1
  done
}

sink='' relay=''
# Both stop with a signal: the relay delivers what it holds and closes with a close frame, then
# the sink closes its clients with 1001 and exits.
cleanup() {
  if [ -n "$relay" ]; then kill "$relay" 2>/dev/null || true; wait "$relay" || true; fi
  if [ -n "$sink" ]; then kill "$sink" 2>/dev/null || true; wait "$sink" || true; fi
}
trap cleanup EXIT

node dist/src/cli.js sink --port 9000 --print &
sink=$!
# The relay connects at start: start it once the sink listens.
wait_for_port 9000 "$sink"
node dist/src/cli.js -i tcp -p listen=127.0.0.1 -p port=5170 -p format=json \
  -o websocket -p host=127.0.0.1 -p port=9000 -p uri=/ -p format=json_lines -m '*' -f 1 &
relay=$!
wait_for_port 5170 "$relay"
echo '{"key 1": 123456789, "key 2": "abcdefg"}' > /dev/tcp/127.0.0.1/5170
sleep 2
