# bench/gate.jq - is pgmedic's snapshot the load that loadgen built?
#
#   jq -r --slurpfile load PIDS.json -f bench/gate.jq SNAPSHOT.json
#
# PIDS.json is what `loadgen --pids FILE` wrote: every session it holds (pid,
# kind, application, client) and its lock chains as [blocker, waiter 1,
# waiter 2, waiter 3].  The server must hold nothing else (run.sh waits until
# it has exactly that many client backends).  Prints one line per
# difference and nothing when the snapshot is right; run.sh fails on any
# output.  Checked:
#   connections: clients, idle, idle_in_transaction (idle-in-transaction
#     sessions + chain blockers), active (pg_sleep sessions + lock waiters),
#     waiting_lock (3 per chain);
#   groups: client sessions per (state, application, client), summed over
#     roles, exactly the ones loadgen opened (no group missing or extra);
#   sessions: every lock waiter has exactly one pid in blocked_by; every chain
#     is blocker (idle in transaction, blocked by nobody) <- waiter 1 <-
#     waiter 2 <- waiter 3, each waiter active on a Lock; the roots (blockers
#     that wait for nobody) are exactly loadgen's blockers, one per chain;
#     every idle-in-transaction and pg_sleep session is listed in its state;
#     no session is listed that loadgen does not hold.

def state_of: {idle: "idle", idle_in_transaction: "idle in transaction",
               blocker: "idle in transaction", waiter: "active", active: "active"}[.];
def want(name; got; expected):
    if got == expected then empty
    else "\(name): snapshot says \(got | tojson), the load is \(expected | tojson)" end;
def count_kind($ls; k): [$ls[] | select(.kind == k)] | length;

. as $s
| $load[0] as $l
| $l.sessions as $ls
| ($l.chains | length) as $nchains
| ([$s.sessions[]? | {key: (.pid | tostring), value: .}] | from_entries) as $by_pid
| ([$ls[] | {key: (.pid | tostring), value: .}] | from_entries) as $known
| (
    # ------------------------------------------------------ connections
    want("status.reachable"; $s.status.reachable; true),
    want("connections.clients"; $s.connections.clients; $ls | length),
    want("connections.idle"; $s.connections.idle; count_kind($ls; "idle")),
    want("connections.idle_in_transaction"; $s.connections.idle_in_transaction;
         count_kind($ls; "idle_in_transaction") + count_kind($ls; "blocker")),
    want("connections.active"; $s.connections.active;
         count_kind($ls; "active") + count_kind($ls; "waiter")),
    want("connections.waiting_lock"; $s.connections.waiting_lock; 3 * $nchains),

    # ----------------------------------------------------------- groups
    ( ([$s.groups[]? | {k: [.state, .application, .client], n: .count}]
         | group_by(.k) | map({key: (.[0].k | tojson), value: (map(.n) | add)}) | from_entries)
        as $got
    | ([$ls[] | [(.kind | state_of), .application, .client]]
         | group_by(.) | map({key: (.[0] | tojson), value: length}) | from_entries)
        as $exp
    | (($got | keys) + ($exp | keys) | unique[])
    | want("groups \(.) count"; $got[.] // 0; $exp[.] // 0) ),

    # --------------------------------------------------------- sessions
    # Every lock waiter in the snapshot: exactly one blocker.
    ( $s.sessions[]? | select(.wait_event_type == "Lock")
      | select((.blocked_by | length) != 1)
      | "sessions: lock waiter \(.pid) has blocked_by \(.blocked_by | tojson), want exactly one pid" ),
    # The lock waiters are loadgen's waiters, no more, no fewer.
    want("sessions: lock waiters";
         [$s.sessions[]? | select(.wait_event_type == "Lock") | .pid] | sort;
         [$ls[] | select(.kind == "waiter") | .pid] | sort),
    # Each chain as built.
    ( $l.chains | to_entries[] | .key as $c | .value as $ch
      | ( ($by_pid[$ch[0] | tostring]) as $b
          | if $b == null then "chain \($c): blocker \($ch[0]) is not in sessions"
            else want("chain \($c): blocker \($ch[0]) state"; $b.state; "idle in transaction"),
                 want("chain \($c): blocker \($ch[0]) blocked_by"; $b.blocked_by; [])
            end ),
        ( range(1; 4) as $i
          | ($by_pid[$ch[$i] | tostring]) as $w
          | if $w == null then "chain \($c): waiter \($i) (\($ch[$i])) is not in sessions"
            else want("chain \($c): waiter \($i) (\($ch[$i])) state"; $w.state; "active"),
                 want("chain \($c): waiter \($i) (\($ch[$i])) wait_event_type"; $w.wait_event_type; "Lock"),
                 want("chain \($c): waiter \($i) (\($ch[$i])) blocked_by"; $w.blocked_by; [$ch[$i - 1]])
            end ) ),
    # Roots: pids that block someone and wait for nobody.
    ( [$s.sessions[]?.blocked_by[]?] | unique
      | map(select((($by_pid[tostring].blocked_by) // []) == []))
      | want("sessions: roots (block someone, blocked by nobody)"; .;
             [$l.chains[][0]] | sort),
        want("sessions: number of roots"; length; $nchains) ),
    # The other sessions worth a look are listed in their state.
    ( $ls[] | select(.kind == "idle_in_transaction" or .kind == "active") | . as $e
      | ($by_pid[.pid | tostring]) as $x
      | if $x == null then "sessions: \($e.kind) session \($e.pid) is not listed"
        else want("sessions: \($e.kind) session \($e.pid) state"; $x.state; $e.kind | state_of),
             want("sessions: \($e.kind) session \($e.pid) blocked_by"; $x.blocked_by; [])
        end ),
    # Nothing listed that the load does not hold (pgmedic's own session is not a client).
    ( $s.sessions[]? | select($known[.pid | tostring] == null)
      | "sessions: \(.pid) (\(.application), \(.state)) is listed but is not one of the load's" )
  )
