# bench/roundtrips.awk - count PostgreSQL connections and round trips in an
# strace log written with: strace -f -yy -s 0 -e trace=connect,read,write,
#   sendto,recvfrom,sendmsg,recvmsg -o FILE CMD...   (or -p PID to attach)
#
# A database socket is a unix-stream fd the process connect()ed to a
# ".s.PGSQL.*" socket; with -v attach=1 (strace -p on a running program,
# whose connections already exist) every connected unix-stream fd is one.
# A round trip is a burst of writes on that socket answered by a read.  The
# first one of a connection is its startup (authentication), not a query;
# a final burst with no answer is the Terminate message.
# Prints: "connections N round_trips_total N query_round_trips N".
function key(pid, fd) { return pid ":" fd }
function finish(k) {
    if (k in state) {
        rt_total += replies[k]
        if (k in startup) rt_query += replies[k] - 1
        else rt_query += replies[k]
        delete state[k]; delete replies[k]; delete startup[k]
    }
}
function handle(pid, call, rest,    fd, k, ret, m) {
    if (!match(rest, /^[0-9]+</)) return
    fd = substr(rest, 1, RLENGTH - 1)
    k = key(pid, fd)
    if (call == "connect") {
        if (rest ~ /sun_path="[^"]*\.s\.PGSQL\.[0-9]+"/ && rest ~ /= 0$/) {
            finish(k)
            state[k] = ""; replies[k] = 0; startup[k] = 1; conns++
        }
        return
    }
    if (rest !~ /^[0-9]+<UNIX-STREAM:/) {
        # the descriptor now names something else: that connection is over
        finish(k)
        return
    }
    if (!(k in state)) {
        if (attach && rest ~ /^[0-9]+<UNIX-STREAM:\[[0-9]+->[0-9]+/) {
            state[k] = ""; replies[k] = 0
        } else return
    }
    if (!match(rest, /= -?[0-9]+( [A-Z].*)?$/)) return
    m = substr(rest, RSTART + 2)
    ret = m + 0
    if (ret <= 0) return
    if (call ~ /^(write|sendto|sendmsg)$/) state[k] = "w"
    else {
        if (state[k] == "w") replies[k]++
        state[k] = "r"
    }
}
{
    pid = $1
    line = $0
    sub(/^[0-9]+ +/, "", line)
    if (line ~ /^<\.\.\. [a-z_0-9]+ resumed>/) {
        if (!(pid in pend)) next
        sub(/^<\.\.\. [a-z_0-9]+ resumed>/, "", line)
        handle(pid, pendcall[pid], pend[pid] line)
        delete pend[pid]
        next
    }
    if (!match(line, /^[a-z_0-9]+\(/)) next
    call = substr(line, 1, RLENGTH - 1)
    rest = substr(line, RLENGTH + 1)
    if (rest ~ /<unfinished \.\.\.>$/) {
        sub(/ *<unfinished \.\.\.>$/, "", rest)
        pend[pid] = rest; pendcall[pid] = call
        next
    }
    handle(pid, call, rest)
}
END {
    for (k in state) finish(k)
    printf "connections %d round_trips_total %d query_round_trips %d\n", conns, rt_total, rt_query
}
