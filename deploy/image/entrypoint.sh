#!/bin/sh
# Raises the soft open-file limit to the hard one before wspass starts: every tunnel holds two sockets,
# and Node cannot raise its own limit. The hard limit is the container runtime's (see README, "Kernel and
# node settings"); `exec` keeps wspass the direct child of tini, which forwards signals to it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || echo "wspass-entrypoint: open-file limit stays $(ulimit -n)" >&2
exec node /app/dist/src/cli/main.js "$@"
