#!/usr/bin/env bash
# The URI form of -o, extra handshake headers (repeatable), GELF 1.1 with the message taken
# from the record's "msg" key, flushing every 200 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node dist/src/cli.js -i tcp -p port=5170 -t app.logs \
  -o websocket://127.0.0.1:9000/gelf -m 'app.*' -p format=gelf \
  -p gelf_short_message_key=msg -p 'header=Authorization Bearer s3cret' -p 'header=X-Source wsrelay' \
  -f 0.2
