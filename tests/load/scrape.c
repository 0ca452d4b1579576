/*
 * scrape.c - concurrent HTTP scrapers against a pgmedic serve on this
 * machine, with the server's RSS, open file descriptors and threads sampled
 * every second; a pass/fail verdict (tests/load/load.sh, make torture).
 *
 *   scrape --port PORT --pid PID [--clients N] [--seconds S] [--warmup S]
 *          [--reconnect N] [--p99-max-ms MS] [--samples FILE]
 *          --path PATH [--expect TEXT] [--path PATH [--expect TEXT]]...
 *
 * Every client is a thread with its own HTTP/1.1 keep-alive connection to
 * 127.0.0.1:PORT (loopback only: there is no host option).  It sends GET
 * requests back to back, walking the --path list from its own offset (client
 * i starts at path i), and closes and reopens its connection every
 * --reconnect requests (0: never), so accept and close are exercised too.  A
 * response counts as good when its status is 200 and, when the path has an
 * --expect, its body contains that text.  Every request has a 10 s deadline.
 * After --seconds the clients finish the request they are in and close.
 *
 * The sampler (the main thread) reads /proc/PID/status (VmRSS, Threads) and
 * counts /proc/PID/fd once before the clients start ("before"), every second
 * while they run, and once more after they closed, when the server has
 * closed their connections too (up to 10 s; "after").
 *
 * Verdict, each printed with its numbers:
 *   - no errors: every response good, no socket error (connect, send,
 *     receive, reset, deadline, malformed HTTP);
 *   - RSS: the largest sample after --warmup seconds (default 10) is less
 *     than 10 % above the sample at --warmup;
 *   - file descriptors: "after" equals "before", and no sample exceeds
 *     "before" + clients + 8 (one socket per client, a little slack);
 *   - threads: "after" equals "before";
 *   - latency: p99 of every request at most --p99-max-ms (default 1000).
 * Exit status: 0 pass, 1 fail, 2 usage or setup error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PATHS           64
#define MAX_CLIENTS         512
#define MAX_SAMPLES         4096
#define REQUEST_DEADLINE_MS 10000
#define MAX_ERRORS_SHOWN    10

typedef struct
{
    const char *path;
    const char *expect; /* NULL: any body */
} Path;

/* One finished request: its latency and which path it was. */
typedef struct
{
    uint32_t us;
    uint16_t path;
    uint16_t good;
} Record;

typedef struct
{
    int id;
    pthread_t thread;
    Record *recs;
    size_t n, cap;
    /* Errors by kind. */
    uint64_t err_connect, err_send, err_recv, err_timeout, err_http, err_status, err_body;
    uint64_t connects;
} Client;

typedef struct
{
    double t; /* seconds since the clients started; negative: before */
    long rss_kb;
    long fds;
    long threads;
    uint64_t requests; /* finished so far, all clients */
} Sample;

static Path paths[MAX_PATHS];
static int n_paths;
static int port;
static int reconnect_every = 10;
static volatile sig_atomic_t stop;
static uint64_t finished; /* __atomic */

static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static int errors_shown;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int64_t
now_ms(void)
{
    return (int64_t) (now_s() * 1000.0);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* The first MAX_ERRORS_SHOWN errors of the run, on stderr. */
static void
show_error(const Client *c, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&err_lock);
    if (errors_shown++ < MAX_ERRORS_SHOWN)
    {
        fprintf(stderr, "scrape: client %d: ", c->id);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&err_lock);
}

static int
connect_loopback(void)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
    {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Waits until fd is ready for events or the deadline; 1 ready, 0 deadline, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;)
    {
        struct pollfd p = {fd, events, 0};
        int64_t left = deadline_ms - now_ms();
        int rc;

        if (left <= 0)
            return 0;
        rc = poll(&p, 1, (int) left);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

typedef struct
{
    char *data;
    size_t len, cap;
} Buf;

static int
buf_reserve(Buf *b, size_t more)
{
    if (b->len + more + 1 > b->cap)
    {
        size_t cap = b->cap ? b->cap : 65536;
        char *p;

        while (b->len + more + 1 > cap)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    return 0;
}

/* Reads more into b: >0 bytes, 0 EOF, -1 error, -2 deadline. */
static ssize_t
read_more(int fd, Buf *b, int64_t deadline_ms)
{
    ssize_t n;
    int w;

    if (buf_reserve(b, 16384) != 0)
        return -1;
    w = wait_fd(fd, POLLIN, deadline_ms);
    if (w == 0)
        return -2;
    if (w < 0)
        return -1;
    do
        n = read(fd, b->data + b->len, b->cap - b->len - 1);
    while (n == -1 && errno == EINTR);
    if (n > 0)
    {
        b->len += (size_t) n;
        b->data[b->len] = '\0';
    }
    return n;
}

/* The value of header name in the header block hdr (NUL-terminated), or NULL. */
static const char *
header_value(const char *hdr, const char *name)
{
    size_t nl = strlen(name);
    const char *p = strstr(hdr, "\r\n");

    while (p != NULL && p[2] != '\r')
    {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
        {
            p += nl + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* The first "\r\n" in p[0..len), or NULL. */
static char *
find_crlf(char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return p + i;
    return NULL;
}

typedef enum
{
    OUT_OK,
    OUT_SEND,
    OUT_RECV,
    OUT_TIMEOUT,
    OUT_HTTP
} Outcome;

/*
 * One request on fd: sends it, reads the whole response into b (headers and
 * body; a chunked body is decoded in place after the headers).  *status, the
 * body's offset and whether the server will close are returned.
 */
static Outcome
request(int fd, const char *path, Buf *b, int *status, size_t *body_at, bool *server_closes)
{
    char req[1024];
    int64_t deadline = now_ms() + REQUEST_DEADLINE_MS;
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                       "User-Agent: pgmedic-scrape\r\nAccept: */*\r\n\r\n",
                       path, port);
    size_t sent = 0, hdr_end;
    const char *v, *end;
    ssize_t n;
    char *p;

    if (len < 0 || (size_t) len >= sizeof(req))
        return OUT_HTTP;
    while (sent < (size_t) len)
    {
        int w = wait_fd(fd, POLLOUT, deadline);

        if (w == 0)
            return OUT_TIMEOUT;
        if (w < 0)
            return OUT_SEND;
        n = send(fd, req + sent, (size_t) len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OUT_SEND;
        sent += (size_t) n;
    }
    b->len = 0;
    for (;;)
    {
        if (b->len > 0 && (end = strstr(b->data, "\r\n\r\n")) != NULL)
            break;
        n = read_more(fd, b, deadline);
        if (n == -2)
            return OUT_TIMEOUT;
        if (n <= 0)
            return OUT_RECV;
    }
    hdr_end = (size_t) (end - b->data) + 4;
    if (strncmp(b->data, "HTTP/1.", 7) != 0 || b->len < 12)
        return OUT_HTTP;
    *status = (int) strtol(b->data + 9, NULL, 10); /* "HTTP/1.1 200" */
    *body_at = hdr_end;
    b->data[hdr_end - 2] = '\0'; /* header lookups stop at the blank line */
    v = header_value(b->data, "Connection");
    *server_closes = v != NULL && strncasecmp(v, "close", 5) == 0;
    v = header_value(b->data, "Content-Length");
    if (v != NULL)
    {
        size_t want = hdr_end + (size_t) strtoull(v, NULL, 10);

        b->data[hdr_end - 2] = '\r';
        while (b->len < want)
        {
            n = read_more(fd, b, deadline);
            if (n == -2)
                return OUT_TIMEOUT;
            if (n <= 0)
                return OUT_RECV;
        }
        if (b->len != want)
            return OUT_HTTP; /* bytes past the response we asked for */
        b->data[b->len] = '\0';
        return OUT_OK;
    }
    v = header_value(b->data, "Transfer-Encoding");
    b->data[hdr_end - 2] = '\r';
    if (v != NULL && strncasecmp(v, "chunked", 7) == 0)
    {
        size_t in = hdr_end, out = hdr_end;

        /* Decode in place: each chunk "SIZE\r\nDATA\r\n", a last one of size 0. */
        for (;;)
        {
            char *crlf;
            unsigned long long size;

            while ((crlf = find_crlf(b->data + in, b->len - in)) == NULL)
            {
                n = read_more(fd, b, deadline);
                if (n == -2)
                    return OUT_TIMEOUT;
                if (n <= 0)
                    return OUT_RECV;
            }
            size = strtoull(b->data + in, &p, 16);
            if (p == b->data + in)
                return OUT_HTTP;
            in = (size_t) (crlf - b->data) + 2;
            while (b->len < in + size + 2)
            {
                n = read_more(fd, b, deadline);
                if (n == -2)
                    return OUT_TIMEOUT;
                if (n <= 0)
                    return OUT_RECV;
            }
            memmove(b->data + out, b->data + in, size);
            out += size;
            in += size + 2;
            if (size == 0)
                break;
        }
        if (in != b->len)
            return OUT_HTTP;
        b->len = out;
        b->data[b->len] = '\0';
        return OUT_OK;
    }
    /* Neither: the body ends when the server closes. */
    for (;;)
    {
        n = read_more(fd, b, deadline);
        if (n == 0)
            break;
        if (n == -2)
            return OUT_TIMEOUT;
        if (n < 0)
            return OUT_RECV;
    }
    *server_closes = true;
    return OUT_OK;
}

static int
record(Client *c, double seconds, int path, bool good)
{
    if (c->n == c->cap)
    {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        Record *r = realloc(c->recs, cap * sizeof(*r));

        if (r == NULL)
            return -1;
        c->recs = r;
        c->cap = cap;
    }
    c->recs[c->n].us = (uint32_t) (seconds * 1e6 > 4e9 ? 4e9 : seconds * 1e6);
    c->recs[c->n].path = (uint16_t) path;
    c->recs[c->n].good = good;
    c->n++;
    __atomic_add_fetch(&finished, 1, __ATOMIC_RELAXED);
    return 0;
}

static void *
client_main(void *arg)
{
    Client *c = arg;
    Buf b = {NULL, 0, 0};
    int fd = -1, on_conn = 0;
    long k = c->id;

    while (!stop)
    {
        int pi = (int) (k++ % n_paths), status = 0;
        size_t body_at = 0;
        bool closes = false, good;
        double t0;
        Outcome o;

        if (fd < 0)
        {
            fd = connect_loopback();
            if (fd < 0)
            {
                c->err_connect++;
                show_error(c, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
                sleep_ms(100);
                continue;
            }
            c->connects++;
            on_conn = 0;
        }
        t0 = now_s();
        o = request(fd, paths[pi].path, &b, &status, &body_at, &closes);
        if (o != OUT_OK)
        {
            static const char *const what[] = {"ok", "send failed", "receive failed or reset",
                                               "no answer within 10 s", "malformed HTTP"};

            switch (o)
            {
                case OUT_SEND:
                    c->err_send++;
                    break;
                case OUT_RECV:
                    c->err_recv++;
                    break;
                case OUT_TIMEOUT:
                    c->err_timeout++;
                    break;
                default:
                    c->err_http++;
                    break;
            }
            show_error(c, "GET %s: %s (%s)", paths[pi].path, what[o],
                       errno != 0 ? strerror(errno) : "-");
            if (record(c, now_s() - t0, pi, false) != 0)
                break;
            close(fd);
            fd = -1;
            continue;
        }
        good = status == 200;
        if (!good)
        {
            c->err_status++;
            show_error(c, "GET %s: HTTP %d: %.200s", paths[pi].path, status, b.data + body_at);
        }
        else if (paths[pi].expect != NULL && strstr(b.data + body_at, paths[pi].expect) == NULL)
        {
            good = false;
            c->err_body++;
            show_error(c, "GET %s: the body has no \"%s\"", paths[pi].path, paths[pi].expect);
        }
        if (record(c, now_s() - t0, pi, good) != 0)
            break;
        if (closes || (reconnect_every > 0 && ++on_conn >= reconnect_every))
        {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    free(b.data);
    return NULL;
}

/* ------------------------------------------------------------- sampling */

static long
status_kb(const char *text, const char *key)
{
    const char *p = strstr(text, key);

    return p != NULL ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* One sample of pid; false when the process is gone. */
static bool
sample(int pid, double t, Sample *s)
{
    char path[64], text[8192];
    FILE *f;
    size_t n;
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return false;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    s->t = t;
    s->rss_kb = status_kb(text, "\nVmRSS:");
    s->threads = status_kb(text, "\nThreads:");
    s->fds = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    d = opendir(path);
    if (d == NULL)
        return false;
    while ((e = readdir(d)) != NULL)
    {
        if (e->d_name[0] != '.')
            s->fds++;
    }
    closedir(d);
    s->requests = __atomic_load_n(&finished, __ATOMIC_RELAXED);
    return s->rss_kb >= 0;
}

/* ------------------------------------------------------------- the report */

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1) of sorted v[n], in ms. */
static double
pct(const uint32_t *v, size_t n, double q)
{
    size_t k;

    if (n == 0)
        return 0;
    k = (size_t) (q * (double) n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1] / 1000.0;
}

/* Length of path up to its query string. */
static size_t
route_len(const char *path)
{
    return strcspn(path, "?");
}

static bool
same_route(const char *a, const char *b)
{
    size_t la = route_len(a);

    return la == route_len(b) && strncmp(a, b, la) == 0;
}

static void
usage(void)
{
    fputs("usage: scrape --port PORT --pid PID [--clients N] [--seconds S] [--warmup S]\n"
          "              [--reconnect N] [--p99-max-ms MS] [--samples FILE]\n"
          "              --path PATH [--expect TEXT]...\n",
          stderr);
    exit(2);
}

static long
num_arg(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (end == s || *end != '\0' || v < lo || v > hi)
    {
        fprintf(stderr, "scrape: error: \"%s\" is not a number from %ld to %ld\n", s, lo, hi);
        exit(2);
    }
    return v;
}

int
main(int argc, char **argv)
{
    static Client clients[MAX_CLIENTS];
    static Sample samples[MAX_SAMPLES];
    int pid = 0, n_clients = 50, seconds = 60, warmup = 10, i, ns = 0;
    long p99_max_ms = 1000;
    const char *samples_file = NULL;
    Sample before, after;
    double start, p99;
    uint32_t *all;
    size_t total = 0, good = 0, k;
    uint64_t e_conn = 0, e_send = 0, e_recv = 0, e_to = 0, e_http = 0, e_status = 0, e_body = 0;
    uint64_t connects = 0, errors;
    long rss_warm = -1, rss_max_after = -1, rss_min = -1, rss_max = -1, fd_min = -1, fd_max = -1,
         thr_max = -1;
    bool pass = true, gone = false;

    for (i = 1; i < argc; i++)
    {
        const char *a = argv[i];

        if (i + 1 >= argc)
            usage();
        if (strcmp(a, "--port") == 0)
            port = (int) num_arg(argv[++i], 1, 65535);
        else if (strcmp(a, "--pid") == 0)
            pid = (int) num_arg(argv[++i], 1, 1L << 30);
        else if (strcmp(a, "--clients") == 0)
            n_clients = (int) num_arg(argv[++i], 1, MAX_CLIENTS);
        else if (strcmp(a, "--seconds") == 0)
            seconds = (int) num_arg(argv[++i], 1, MAX_SAMPLES - 64);
        else if (strcmp(a, "--warmup") == 0)
            warmup = (int) num_arg(argv[++i], 0, 3600);
        else if (strcmp(a, "--reconnect") == 0)
            reconnect_every = (int) num_arg(argv[++i], 0, 1000000);
        else if (strcmp(a, "--p99-max-ms") == 0)
            p99_max_ms = num_arg(argv[++i], 1, 1000000);
        else if (strcmp(a, "--samples") == 0)
            samples_file = argv[++i];
        else if (strcmp(a, "--path") == 0)
        {
            if (n_paths == MAX_PATHS || argv[i + 1][0] != '/')
                usage();
            paths[n_paths++].path = argv[++i];
        }
        else if (strcmp(a, "--expect") == 0)
        {
            if (n_paths == 0)
                usage();
            paths[n_paths - 1].expect = argv[++i];
        }
        else
            usage();
    }
    if (port == 0 || pid == 0 || n_paths == 0 || warmup >= seconds)
        usage();
    signal(SIGPIPE, SIG_IGN);

    if (!sample(pid, -1, &before))
    {
        fprintf(stderr, "scrape: error: no process %d to sample\n", pid);
        return 2;
    }
    start = now_s();
    for (i = 0; i < n_clients; i++)
    {
        clients[i].id = i;
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0)
        {
            fprintf(stderr, "scrape: error: could not start client %d\n", i);
            stop = 1;
            n_clients = i;
            pass = false;
            break;
        }
    }
    /* One sample a second, on the second. */
    for (i = 1; i <= seconds && !stop; i++)
    {
        double wait = start + i - now_s();

        if (wait > 0)
            sleep_ms((long) (wait * 1000));
        if (!sample(pid, now_s() - start, &samples[ns]))
        {
            fprintf(stderr, "scrape: the server (pid %d) is gone\n", pid);
            gone = true;
            break;
        }
        ns++;
    }
    stop = 1;
    for (i = 0; i < n_clients; i++)
        pthread_join(clients[i].thread, NULL);
    double elapsed = now_s() - start;

    /* The server closes the connections once it reads their EOF. */
    after = before;
    if (!gone)
    {
        double until = now_s() + 10;

        do
        {
            sleep_ms(100);
            if (!sample(pid, now_s() - start, &after))
            {
                gone = true;
                break;
            }
        } while ((after.fds != before.fds || after.threads != before.threads) && now_s() < until);
    }

    for (i = 0; i < n_clients; i++)
    {
        total += clients[i].n;
        e_conn += clients[i].err_connect;
        e_send += clients[i].err_send;
        e_recv += clients[i].err_recv;
        e_to += clients[i].err_timeout;
        e_http += clients[i].err_http;
        e_status += clients[i].err_status;
        e_body += clients[i].err_body;
        connects += clients[i].connects;
    }
    errors = e_conn + e_send + e_recv + e_to + e_http + e_status + e_body;
    all = malloc((total ? total : 1) * sizeof(*all));
    if (all == NULL)
        return 2;

    printf("load: %d clients, %.1f s, %d paths, a new connection every %d requests%s\n", n_clients,
           elapsed, n_paths, reconnect_every, reconnect_every == 0 ? " (never)" : "");
    k = 0;
    for (i = 0; i < n_clients; i++)
        for (size_t j = 0; j < clients[i].n; j++)
        {
            all[k++] = clients[i].recs[j].us;
            good += clients[i].recs[j].good;
        }
    qsort(all, total, sizeof(*all), cmp_u32);
    p99 = pct(all, total, 0.99);
    printf("requests: %zu (%.0f/s) over %llu connections; good (200 and the expected body): %zu\n",
           total, (double) total / elapsed, (unsigned long long) connects, good);
    printf("errors: %llu (non-200: %llu, body without the expected text: %llu, connect: %llu, "
           "send: %llu, receive/reset: %llu, deadline 10 s: %llu, malformed HTTP: %llu)\n",
           (unsigned long long) errors, (unsigned long long) e_status, (unsigned long long) e_body,
           (unsigned long long) e_conn, (unsigned long long) e_send, (unsigned long long) e_recv,
           (unsigned long long) e_to, (unsigned long long) e_http);
    printf("latency ms, all: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", pct(all, total, 0.5),
           pct(all, total, 0.9), p99, pct(all, total, 1.0));
    /* The same per route: the path up to its query (/probe?target=a and
     * /probe?target=b are one route), in the order they first appear. */
    for (int pi = 0; pi < n_paths; pi++)
    {
        bool dup = false;
        size_t rl = route_len(paths[pi].path);
        char route[256];

        for (int q = 0; q < pi; q++)
            dup |= same_route(paths[q].path, paths[pi].path);
        if (dup)
            continue;
        k = 0;
        for (i = 0; i < n_clients; i++)
            for (size_t j = 0; j < clients[i].n; j++)
                if (same_route(paths[clients[i].recs[j].path].path, paths[pi].path))
                    all[k++] = clients[i].recs[j].us;
        qsort(all, k, sizeof(*all), cmp_u32);
        snprintf(route, sizeof(route), "%.*s%s", (int) rl, paths[pi].path,
                 paths[pi].path[rl] == '?' ? "?..." : "");
        printf("  %-20s %8zu requests  p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f\n", route, k,
               pct(all, k, 0.5), pct(all, k, 0.9), pct(all, k, 0.99), pct(all, k, 1.0));
    }
    free(all);

    for (i = 0; i < ns; i++)
    {
        const Sample *s = &samples[i];

        if (rss_min < 0 || s->rss_kb < rss_min)
            rss_min = s->rss_kb;
        if (s->rss_kb > rss_max)
            rss_max = s->rss_kb;
        if (fd_min < 0 || s->fds < fd_min)
            fd_min = s->fds;
        if (s->fds > fd_max)
            fd_max = s->fds;
        if (s->threads > thr_max)
            thr_max = s->threads;
        if (rss_warm < 0 && s->t >= warmup - 0.5)
            rss_warm = s->rss_kb;
        else if (rss_warm >= 0 && s->rss_kb > rss_max_after)
            rss_max_after = s->rss_kb;
    }
    if (rss_max_after < rss_warm)
        rss_max_after = rss_warm;
    printf("server RSS kB: before %ld, first %ld, at %d s %ld, min %ld, max %ld, last %ld, "
           "after %ld\n",
           before.rss_kb, ns ? samples[0].rss_kb : -1, warmup, rss_warm, rss_min, rss_max,
           ns ? samples[ns - 1].rss_kb : -1, after.rss_kb);
    printf("server open fds: before %ld, first %ld, min %ld, max %ld, last %ld, after %ld\n",
           before.fds, ns ? samples[0].fds : -1, fd_min, fd_max, ns ? samples[ns - 1].fds : -1,
           after.fds);
    printf("server threads: before %ld, max %ld, after %ld\n", before.threads, thr_max,
           after.threads);
    printf("samples (s: RSS kB / fds / threads / requests so far), every 5th:\n");
    for (i = 0; i < ns; i++)
        if ((i + 1) % 5 == 0 || i == 0 || i == ns - 1)
            printf("  %5.1f: %ld / %ld / %ld / %llu\n", samples[i].t, samples[i].rss_kb,
                   samples[i].fds, samples[i].threads, (unsigned long long) samples[i].requests);
    if (samples_file != NULL)
    {
        FILE *f = fopen(samples_file, "w");

        if (f != NULL)
        {
            fprintf(f, "t_s\trss_kb\tfds\tthreads\trequests\n");
            fprintf(f, "before\t%ld\t%ld\t%ld\t0\n", before.rss_kb, before.fds, before.threads);
            for (i = 0; i < ns; i++)
                fprintf(f, "%.2f\t%ld\t%ld\t%ld\t%llu\n", samples[i].t, samples[i].rss_kb,
                        samples[i].fds, samples[i].threads,
                        (unsigned long long) samples[i].requests);
            fprintf(f, "after\t%ld\t%ld\t%ld\t%llu\n", after.rss_kb, after.fds, after.threads,
                    (unsigned long long) total);
            fclose(f);
        }
    }

    /* The verdict. */
    printf("verdict:\n");
#define CHECK(ok, ...)                                                                             \
    do                                                                                             \
    {                                                                                              \
        bool ok_ = (ok);                                                                           \
        printf("  [%s] ", ok_ ? "ok" : "FAIL");                                                    \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        pass &= ok_;                                                                               \
    } while (0)
    CHECK(!gone, "the server ran to the end");
    CHECK(total > 0 && errors == 0, "no errors: %llu of %zu requests", (unsigned long long) errors,
          total);
    CHECK(rss_warm > 0 &&
                  (double) rss_max_after<1.10 * (double) rss_warm,
                                         "RSS growth after %d s below 10 %%: %ld kB at %d s, at "
                                         "most %ld kB after (%+.1f %%)",
                                         warmup, rss_warm, warmup, rss_max_after, rss_warm> 0
              ? 100.0 * (double) (rss_max_after - rss_warm) / (double) rss_warm
              : 0.0);
    CHECK(after.fds == before.fds && fd_max <= before.fds + n_clients + 8,
          "open fds stable: %ld before, %ld after, at most %ld during (bound %ld)", before.fds,
          after.fds, fd_max, before.fds + n_clients + 8);
    CHECK(after.threads == before.threads, "threads back to %ld after the load: %ld",
          before.threads, after.threads);
    CHECK(p99 <= (double) p99_max_ms, "p99 latency %.2f ms within %ld ms", p99, p99_max_ms);
    printf("scrape: %s\n", pass ? "PASS" : "FAIL");
    for (i = 0; i < n_clients; i++)
        free(clients[i].recs);
    return pass ? 0 : 1;
}
