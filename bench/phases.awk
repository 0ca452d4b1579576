# bench/phases.awk - where one run of a libpq client spends its time, from
#   strace -f -ttt -T -yy -s 0 --seccomp-bpf -e trace=execve,connect,write,sendto,
#          recvfrom,exit_group -o FILE CMD...
# Prints seven numbers in ms:
#   start    execve -> connect() to the server socket (exec, dynamic linking,
#            option parsing, config)
#   connect  connect() -> end of the last read of the startup reply
#            (fork of the backend, authentication, ReadyForQuery)
#   prep     -> first write of the first query (client work before the query)
#   server   -> end of the last read of query results (server execution and
#            transfer, plus any client work between round trips)
#   client   -> first write to stdout after it (parsing, evaluating, rendering)
#   output   -> process exit (writing the output, Terminate, teardown)
#   total    execve -> exit
function endt(line,   d) {
    if (match(line, /<[0-9.]+>$/)) d = substr(line, RSTART + 1, RLENGTH - 2) + 0
    return ts + d
}
{
    ts = $2 + 0
    line = $0
    sub(/^[0-9]+ +[0-9.]+ +/, "", line)
    if (t0 == "") t0 = ts
    if (line ~ /^\+\+\+ exited/ || line ~ /^exit_group\(/) { if (texit == "") texit = ts; next }
    if (!match(line, /^[a-z_0-9]+\(/)) next
    call = substr(line, 1, RLENGTH - 1)
    rest = substr(line, RLENGTH + 1)
    if (!match(rest, /^[0-9]+</)) next
    fd = substr(rest, 1, RLENGTH - 1)
    if (call == "connect" && rest ~ /\.s\.PGSQL\.[0-9]+"/) {
        if (tconn == "") { tconn = ts; dbfd = fd; bursts = 0; last = "" }
        next
    }
    if (!match(rest, /= -?[0-9]+( [A-Z][^<]*)?( <[0-9.]+>)?$/)) next
    ret = substr(rest, RSTART + 2) + 0
    if (ret <= 0) next
    if (fd == dbfd && tconn != "") {
        if (call ~ /^(write|sendto)$/) {
            if (last != "w") { bursts++; if (bursts == 2) tq = ts }
            last = "w"
        } else {
            if (bursts == 1) tready = endt(rest)
            else if (bursts >= 2) tlast = endt(rest)
            last = "r"
        }
        next
    }
    if (fd == 1 && call ~ /^write/ && tlast != "" && tout == "" ) {
        # the first stdout write after the results have arrived; a later read
        # of results (psql prints as it goes) resets it below
        tout = ts; tout_after = tlast
    }
}
END {
    if (tout_after != tlast) {
        # output started before the last result: no separate client phase
        tout = tlast
    }
    if (tconn == "" || tready == "" || tq == "" || tlast == "" || texit == "") {
        print "0 0 0 0 0 0 0"
        exit
    }
    if (tout == "") tout = tlast
    printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", (tconn - t0) * 1000, (tready - tconn) * 1000,
        (tq - tready) * 1000, (tlast - tq) * 1000, (tout - tlast) * 1000, (texit - tout) * 1000,
        (texit - t0) * 1000
}
