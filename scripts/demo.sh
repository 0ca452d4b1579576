#!/usr/bin/env bash
# demo.sh [PGMEDIC] - a throwaway PostgreSQL 15 with a seeded incident, and
# pgmedic working on it.  Stops and removes everything it started, also on
# error or Ctrl-C.  Run it with `make demo`.
#
# The incident (what the runbook's three alerts are about):
#   - a connection leak: 12 idle sessions of application "billing-worker"
#   - a lock chain: "checkout" holds a row lock idle in transaction, two
#     sessions queue behind it
#   - a slow query: a report running pg_sleep past the slow threshold
# max_connections is 23 (20 usable), so 17 client sessions make 85 %.
# The demo goes as the runbook does: status (§3), the alerts, triage (§4-5,
# "Common Issues"), fix as a dry run and then applied (§6), and the alerts
# again (§8), all inside an incident (§1, §13) whose report is written to
# ./pgmedic-demo-report/ (the only thing left behind).  The audit log and the
# incident's timeline live in the demo's temp dir.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:-$here/../build/pgmedic}
root=$(mktemp -d /tmp/pgmedic-demo.XXXXXX)
chmod 755 "$root"
pids=()

cleanup() {
    local pid
    # The psql sessions, and the sleeps that keep their input open.
    for pid in "${pids[@]+"${pids[@]}"}" $(cat "$root/sleepers" 2>/dev/null); do
        kill "$pid" 2>/dev/null || true
    done
    "$here/tmp-pg" stop-all "$root" >/dev/null 2>&1 || true
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" || printf '(exit status %d)\n' $?; }

say "starting a throwaway PostgreSQL 15 (max_connections = 23)"
eval "$("$here/tmp-pg" start --root "$root" --set max_connections=23 --set log_statement=none)"
export PGHOST PGPORT PGUSER PGDATABASE=postgres
# The demo's own configuration: its store (audit log) in the temp dir, the
# thresholds lowered so a 2-second-old incident counts.
cat >"$root/pgmedic.ini" <<INI
[pgmedic]
store = $root/pgmedic.db
[thresholds]
slow_query_warning = 2s
idle_connection = 2s
lock_wait = 1s
INI
export PGMEDIC_CONFIG=$root/pgmedic.ini
# The post-incident report is the one thing the demo leaves behind, for reading.
report_dir=$PWD/pgmedic-demo-report
echo "socket $PGHOST, port $PGPORT"

# A session that runs SQL and then stays open, as its application.
hold() {
    local app=$1 sql=$2
    (
        printf '%s\n' "$sql"
        echo "$BASHPID" >>"$root/sleepers"
        exec sleep 600
    ) | PGAPPNAME=$app psql -X -q -v ON_ERROR_STOP=0 >/dev/null 2>&1 &
    pids+=($!)
}

psql -X -q -c "CREATE TABLE orders (id int PRIMARY KEY, total numeric); INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;"

say "seeding the incident"
for _ in $(seq 1 12); do hold billing-worker "SELECT 1;"; done
hold checkout "BEGIN; UPDATE orders SET total = total + 1 WHERE id = 42;"
sleep 0.3
hold checkout "UPDATE orders SET total = total + 2 WHERE id = 42;"
sleep 0.3
hold refunds "UPDATE orders SET total = total - 1 WHERE id = 42;"
hold reporting "SELECT pg_sleep(600);"
hold reporting "SELECT pg_sleep(600);"

# Wait until the load is in place: 17 clients, 2 waiting on a lock.
for _ in $(seq 1 100); do
    n=$(psql -X -At -c "SELECT count(*) FILTER (WHERE backend_type = 'client backend') || ' ' || count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
    [ "$n" = "17 2" ] && break
    sleep 0.1
done
echo "17 client sessions: 12 idle (billing-worker), 1 idle in transaction holding a lock,"
echo "2 waiting behind it, 2 running pg_sleep"
sleep 2.2

say "runbook §3: is the database up?"
run "$bin" status

say "the alerts (thresholds lowered to seconds for the demo, in \$PGMEDIC_CONFIG)"
run "$bin" check

say "runbook §1: acknowledge the alert, create an incident ticket"
printf '$ id=$(%s incident open --alert DatabaseHighConnections --title ... | head -n1)\n' "$bin"
id=$("$bin" incident open --alert DatabaseHighConnections \
    --title "Connections near the limit on the demo database" | head -n1)
echo "incident $id: from now on every check, triage, fix and verify adds to its timeline"
run "$bin" incident ack "$id" --by on-call

say "the same as a Nagios plugin"
run "$bin" check --format nagios

say "triage: the causes, their evidence, and the command that treats each"
run "$bin" triage

say "runbook §8 before any treatment: not recovered"
run "$bin" verify

say "treat the lock chain first: a dry run shows what would be done"
run "$bin" fix terminate-blockers --lock-wait 1s

say "... and --apply does it (re-checked per session, audited)"
run "$bin" fix terminate-blockers --lock-wait 1s --apply --yes

say "then the leak: terminate billing-worker's idle sessions"
run "$bin" fix terminate-idle --application billing-worker --idle-for 2s --apply --yes

say "and the slow reports: cancel queries running longer than 2s"
run "$bin" fix cancel-long --running-for 2s --apply --yes

say "runbook §8: verify recovery (re-probes for up to 10s)"
run "$bin" verify --wait 10s

say "the audit log of what was done"
run "$bin" audit

say "runbook §13: resolve it with the root cause"
run "$bin" incident resolve "$id" --root-cause "billing-worker leaked idle connections while a checkout transaction held a row lock; reporting queries ran unbounded"
run "$bin" incident show "$id"

say "when the server is gone"
"$here/tmp-pg" stop-all "$root" >/dev/null 2>&1
run "$bin" check --set connect_timeout=2s

say "the post-incident report, written from what actually happened"
printf '$ %s incident report %s --output %s\n' "$bin" "$id" "$report_dir"
report=$("$bin" incident report "$id" --output "$report_dir" | head -n1)
echo "report: $report (chart: ${report%.md}.svg)"
echo "----"
head -n 25 "$report"
echo "----"

say "done: everything started by the demo is stopped and removed"
echo "(the report stays in $report_dir/: open $report)"
