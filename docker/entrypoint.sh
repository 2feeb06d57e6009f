#!/bin/sh
# certledger-entrypoint: apply the read-model migrations, then run the command
# (`serve` by default; `ocsp serve`, `init ...`, `projections run`, any certledger command).
set -eu
case "${1:-serve}" in
  serve|ocsp|projections)
    certledger migrate ;;   # idempotent; several containers may start at once
esac
exec certledger "$@"
