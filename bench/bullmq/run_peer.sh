#!/usr/bin/env bash
# The peer's numbers on this machine in one command: starts a throwaway redis-server (free loopback
# port, temporary directory, persistence off, as steward_playbook_bench does), installs BullMQ from
# package-lock.json if node_modules is missing, runs delayed_jobs.mjs, stops Redis.
#
#   bash bench/bullmq/run_peer.sh [--jobs=100000] [--rate=10000] [--seconds=5] [--concurrency=50] [--hold=N]
#
# Flags are passed to delayed_jobs.mjs (its defaults: N=100000, R=10000, S=5, C=50, hold=N).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
redis_bin="${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}"
[[ -x $redis_bin ]] || { echo "run_peer: no redis-server (apt-get install redis-server)" >&2; exit 1; }
command -v node >/dev/null || { echo "run_peer: no node (apt-get install nodejs npm)" >&2; exit 1; }

if [[ ! -d $here/node_modules/bullmq || ! -d $here/node_modules/ioredis ]]; then
  echo "run_peer: installing BullMQ (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/bullmq-peer.XXXXXX")"
redis_pid=""
cleanup() {
  if [[ -n $redis_pid ]]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e "const s = require('net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

# The port is free when picked but not reserved: retry if another process takes it first.
port=""
for _ in 1 2 3 4 5; do
  candidate="$(free_port)"
  "$redis_bin" --save '' --appendonly no --bind 127.0.0.1 --port "$candidate" --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no &
  redis_pid=$!
  for _ in $(seq 100); do
    if redis-cli -p "$candidate" ping 2>/dev/null | grep -q PONG; then port=$candidate; break; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.05
  done
  [[ -n $port ]] && break
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=""
done
[[ -n $port ]] || { echo "run_peer: redis-server did not start" >&2; cat "$dir/redis.log" >&2 || true; exit 1; }
echo "run_peer: redis-server $("$redis_bin" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $redis_pid)" >&2

# Redis is thrown away afterwards: no need to obliterate the queue.
status=0
node "$here/delayed_jobs.mjs" --port="$port" --cleanup=false "$@" || status=$?
exit "$status"
