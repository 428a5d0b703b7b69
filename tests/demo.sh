#!/bin/sh
# tests/demo.sh -- a full drain-and-rollout against a local demo world:
# a real redis-server, two Celery worker deployments run as pods by the
# Kubernetes API double, the Flower API double; with tasks running and
# prefetched while the drain happens, and the ledger checked at the end.
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/drain-demo.XXXXXX)
env="$dir/world.env"
/usr/bin/python3 tests/world/up.py --dir "$dir" --env-file "$env" \
    ecal-bulk tracker-priority >"$dir/up.log" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null; echo "demo world stopped (logs in $dir)"' EXIT INT TERM
i=0
while [ ! -s "$env" ]; do
	sleep 0.5
	i=$((i + 1))
	if [ $i -gt 120 ] || ! kill -0 $up 2>/dev/null; then
		cat "$dir/up.log"; exit 1
	fi
done
echo "== the demo world is up:"
cat "$env"
echo "== 6 ingest tasks of 5 s each on each queue (a worker prefetches 4)"
/usr/bin/python3 tests/demo_load.py "$env" "$dir/ids.json" load
sleep 2
echo "== drain-and-rollout --dry-run ecal-bulk tracker-priority"
./drain-and-rollout --config "$env" --dry-run ecal-bulk tracker-priority
echo
echo "== drain-and-rollout ecal-bulk tracker-priority"
./drain-and-rollout --config "$env" ecal-bulk tracker-priority
echo
echo "== the ledger: every task ran exactly once, nothing left unacknowledged"
/usr/bin/python3 tests/demo_load.py "$env" "$dir/ids.json" check
