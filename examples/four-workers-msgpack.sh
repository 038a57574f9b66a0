#!/usr/bin/env bash
# Four worker threads, each with its own connection; msgpack in BINARY frames; never drop.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node dist/src/cli.js -i tcp -p listen=127.0.0.1 -p port=5170 \
  -o websocket -p host=127.0.0.1 -p port=9000 -p format=msgpack -p workers=4 \
  -p retry_limit=no_limits -p mem_buf_limit=128M
