#!/bin/sh
# The test suite, as `make test` runs it after the checks. Tests wait on events and use random
# ports, so they run three files at a time (most of a test is waiting; the machine has two
# cores) — except the files that measure a relay's RSS: when glibc and V8 hand memory back
# depends on what else runs, so those run alone, after the others.
set -eu
cd "$(dirname "$0")/../dist/test"
alone=$(grep -l 'rssMb()' ./*.test.js || true)
together=$(for f in ./*.test.js; do case " $(echo $alone) " in *" $f "*) ;; *) echo "$f" ;; esac; done)
# shellcheck disable=SC2086
node --test --test-concurrency=3 $together
[ -z "$alone" ] || node --test --test-concurrency=1 $alone
