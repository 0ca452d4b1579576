/*
 * http_test.c - serve's HTTP layer (src/serve/http.c) and the Alertmanager
 * client (src/serve/amclient.c), driven in-process against real clients:
 * curl(1) for ordinary requests and HTTPS, a raw socket client for what
 * curl cannot do on purpose (chunked floods, idle keep-alive connections,
 * 20 requests in parallel), and amclient_post() against a listener started
 * here.
 *
 * Servers listen on 127.0.0.1 in 57000-57499 (the next free port from a
 * per-process start).  Nothing sleeps for a fixed time: waits poll a
 * condition against a deadline.  The only timed work is the /slow handler,
 * which stands for a handler that blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "serve/amclient.h"
#include "serve/http.h"

#define PORT_FIRST 57000
#define PORT_LAST  57499
#define TOKEN      "s3cret-token-for-tests"
#define N_PARALLEL 20

/* ------------------------------------------------------------ the handlers */

typedef struct
{
    atomic_int wait_inside; /* /wait handlers running now */
    atomic_int wait_max;    /* the most that ran at once */
    atomic_int slow_entered;
    atomic_int slow_done;
    atomic_int release; /* lets /block return */
    /* What the Alertmanager stand-in received. */
    pthread_mutex_t lock;
    int am_calls;
    char am_method[16];
    char am_path[64];
    char am_content_type[64];
    char *am_body;
    int am_status; /* what it answers */
} State;

static State st;

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static char *
xstrdup(const char *s)
{
    char *copy = strdup(s);

    assert_non_null(copy);
    return copy;
}

static void
set_text(HttpResponse *resp, const char *text)
{
    resp->body = xstrdup(text);
    resp->body_len = strlen(text);
    resp->content_type = "text/plain";
}

static void
h_hello(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    char text[256];

    assert_ptr_equal(arg, &st);
    snprintf(text, sizeof(text), "hello %s", req->target != NULL ? req->target : "(none)");
    set_text(resp, text);
}

/* Says what it got, and whether the body is NUL-terminated at body_len. */
static void
h_echo(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    char text[256];

    (void) arg;
    snprintf(text, sizeof(text), "len=%zu terminated=%d type=%s", req->body_len,
             req->body[req->body_len] == '\0' && strlen(req->body) == req->body_len,
             req->content_type != NULL ? req->content_type : "(none)");
    set_text(resp, text);
}

static void
h_act(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    (void) req;
    set_text(resp, "done");
}

/* Holds until N_PARALLEL of these run at once (or 10 s pass). */
static void
h_wait(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    double deadline = h_now() + 10.0;
    int inside = atomic_fetch_add(&st.wait_inside, 1) + 1;
    int max = atomic_load(&st.wait_max);

    (void) arg;
    (void) req;
    while (inside > max && !atomic_compare_exchange_weak(&st.wait_max, &max, inside))
        ;
    while (atomic_load(&st.wait_max) < N_PARALLEL && h_now() < deadline)
        sleep_ms(2);
    atomic_fetch_sub(&st.wait_inside, 1);
    set_text(resp, "ok");
}

/* A handler that blocks for a while, as /probe does. */
static void
h_slow(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    double until = h_now() + 0.5;

    (void) arg;
    (void) req;
    atomic_store(&st.slow_entered, 1);
    while (h_now() < until)
        sleep_ms(5);
    set_text(resp, "slow");
    atomic_store(&st.slow_done, 1);
}

/* Blocks until the test releases it (or 10 s pass). */
static void
h_block(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    double deadline = h_now() + 10.0;

    (void) arg;
    (void) req;
    while (!atomic_load(&st.release) && h_now() < deadline)
        sleep_ms(5);
    set_text(resp, "released");
}

static void
h_bad_status(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    (void) req;
    resp->status = 999;
}

static void
h_empty(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    (void) req;
    resp->status = 202;
}

static void
h_error(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    (void) req;
    set_text(resp, "replaced");
    http_error(resp, 409, "target \"db1\" is \"busy\"\n");
}

/* The Alertmanager stand-in: records the request, answers st.am_status. */
static void
h_am(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    pthread_mutex_lock(&st.lock);
    st.am_calls++;
    snprintf(st.am_method, sizeof(st.am_method), "%s", req->method);
    snprintf(st.am_path, sizeof(st.am_path), "%s", req->path);
    snprintf(st.am_content_type, sizeof(st.am_content_type), "%s",
             req->content_type != NULL ? req->content_type : "");
    free(st.am_body);
    st.am_body = xstrdup(req->body);
    resp->status = st.am_status;
    pthread_mutex_unlock(&st.lock);
    if (resp->status != 200)
        set_text(resp, "bad alert: labels are missing\nsecond line");
}

static const HttpRoute routes[] = {
    {"GET", "/hello", false, h_hello},       {"POST", "/echo", false, h_echo},
    {"POST", "/act", true, h_act},           {"GET", "/wait", false, h_wait},
    {"GET", "/slow", false, h_slow},         {"GET", "/teapot", false, h_bad_status},
    {"GET", "/empty", false, h_empty},       {"GET", "/conflict", false, h_error},
    {"POST", "/api/v2/alerts", false, h_am},
};

/* ---------------------------------------------------------------- helpers */

/* Starts a server on the next free port of the range; fails the test otherwise. */
static HttpServer *
start_on(HttpOptions *opts, const HttpRoute *table, size_t n, int *port)
{
    static int next = -1;
    char listen[32];
    PmError err;

    if (next < 0)
        next = PORT_FIRST + (int) (getpid() % (PORT_LAST - PORT_FIRST + 1));
    for (int i = 0; i <= PORT_LAST - PORT_FIRST; i++)
    {
        HttpServer *srv;

        *port = next;
        next = next >= PORT_LAST ? PORT_FIRST : next + 1;
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
        opts->listen = listen;
        srv = http_start(opts, table, n, &st, &err);
        opts->listen = NULL;
        if (srv != NULL)
            return srv;
        if (strstr(err.message, "could not listen") == NULL)
            fail_msg("http_start: %s", err.message);
    }
    fail_msg("no free port in %d-%d", PORT_FIRST, PORT_LAST);
    return NULL;
}

static HttpServer *
start_default(int *port)
{
    HttpOptions opts = {0};

    opts.token = TOKEN;
    return start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), port);
}

static const char *
find_program(const char *name)
{
    static char found[2][H_PATH_MAX];
    static int slot;
    const char *path = getenv("PATH");
    char dirs[4096];
    char *dir, *save = NULL;

    snprintf(dirs, sizeof(dirs), "%s", path != NULL ? path : "/usr/bin:/bin");
    for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
    {
        char *out = found[slot];

        snprintf(out, H_PATH_MAX, "%s/%s", dir, name);
        if (access(out, X_OK) == 0)
        {
            slot = (slot + 1) % 2;
            return out;
        }
    }
    return NULL;
}

typedef struct
{
    HRun run;
    int status;       /* 0 when no answer */
    const char *head; /* the header block (in run.out) */
    const char *body; /* after the blank line */
} Resp;

/* curl(1) with these arguments (NULL-terminated, the URL among them); -i output parsed. */
static void
curl_do(Resp *r, ...)
{
    const char *argv[40];
    size_t n = 0;
    const char *arg;
    va_list ap;
    char *split;

    memset(r, 0, sizeof(*r));
    argv[n++] = find_program("curl");
    if (argv[0] == NULL)
        fail_msg("curl(1) is not installed");
    argv[n++] = "-sS";
    argv[n++] = "-i";
    argv[n++] = "--noproxy";
    argv[n++] = "*";
    argv[n++] = "--max-time";
    argv[n++] = "20";
    va_start(ap, r);
    while ((arg = va_arg(ap, const char *)) != NULL && n + 1 < sizeof(argv) / sizeof(argv[0]))
        argv[n++] = arg;
    va_end(ap);
    argv[n] = NULL;
    assert_int_equal(h_exec(&r->run, NULL, argv, NULL, 30.0), 0);
    if (r->run.out == NULL || strncmp(r->run.out, "HTTP/", 5) != 0)
        return;
    r->status = (int) strtol(strchr(r->run.out, ' ') + 1, NULL, 10);
    r->head = r->run.out;
    split = strstr(r->run.out, "\r\n\r\n");
    if (split != NULL)
    {
        *split = '\0';
        r->body = split + 4;
    }
    else
        r->body = "";
}

/* A header's value (case-insensitive name) into dst; false when absent. */
static bool
resp_header(const Resp *r, const char *name, char *dst, size_t size)
{
    const char *line = r->head;
    size_t len = strlen(name);

    while (line != NULL && *line != '\0')
    {
        const char *end = strstr(line, "\r\n");
        size_t line_len = end != NULL ? (size_t) (end - line) : strlen(line);

        if (line_len > len && strncasecmp(line, name, len) == 0 && line[len] == ':')
        {
            const char *v = line + len + 1;

            while (*v == ' ')
                v++;
            snprintf(dst, size, "%.*s", (int) (line_len - (size_t) (v - line)), v);
            return true;
        }
        line = end != NULL ? end + 2 : NULL;
    }
    return false;
}

static void
resp_free(Resp *r)
{
    h_run_free(&r->run);
}

static void
assert_status(Resp *r, int status)
{
    if (r->status != status)
        h_run_dump(&r->run, "unexpected HTTP status");
    assert_int_equal(r->status, status);
}

static void
assert_header(const Resp *r, const char *name, const char *want)
{
    char value[256];

    if (!resp_header(r, name, value, sizeof(value)))
        fail_msg("no %s header in:\n%s", name, r->head);
    if (strcmp(value, want) != 0)
        fail_msg("%s: \"%s\", expected \"%s\"", name, value, want);
}

static char *
url(int port, const char *path)
{
    static char buf[4][128];
    static int slot;
    char *out = buf[slot];

    slot = (slot + 1) % 4;
    snprintf(out, 128, "http://127.0.0.1:%d%s", port, path);
    return out;
}

/* --- the raw client -------------------------------------------------------- */

static int
raw_connect(int port)
{
    struct sockaddr_in addr = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t) port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0)
    {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends it all (no SIGPIPE); false when the peer closed. */
static bool
raw_send(int fd, const char *data, size_t len)
{
    while (len > 0)
    {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t) n;
    }
    return true;
}

static const char *
find_nocase(const char *text, const char *needle)
{
    size_t len = strlen(needle);

    for (; *text != '\0'; text++)
    {
        if (strncasecmp(text, needle, len) == 0)
            return text;
    }
    return NULL;
}

/*
 * Reads one response: headers, then Content-Length bytes, or until EOF when
 * there is none.  The status, or 0 when the connection closed before a
 * status line, or -1 on a timeout.
 */
static int
raw_read_response(int fd, char *buf, size_t size, double timeout_s)
{
    double deadline = h_now() + timeout_s;
    size_t len = 0;
    long want = -1;
    char *body = NULL;

    buf[0] = '\0';
    for (;;)
    {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        double left = deadline - h_now();

        if (body != NULL && want >= 0 && (long) (len - (size_t) (body - buf)) >= want)
            break;
        if (left <= 0)
            return -1;
        if (poll(&p, 1, (int) (left * 1000) + 1) <= 0)
            continue;
        if (len + 1 >= size)
            break;
        n = recv(fd, buf + len, size - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t) n;
        buf[len] = '\0';
        if (body == NULL && (body = strstr(buf, "\r\n\r\n")) != NULL)
        {
            const char *cl = find_nocase(buf, "\r\nContent-Length:");

            body += 4;
            if (cl != NULL && cl < body)
                want = strtol(cl + 17, NULL, 10);
        }
    }
    if (strncmp(buf, "HTTP/1.", 7) != 0)
        return 0;
    return (int) strtol(buf + 9, NULL, 10);
}

/* One request on a new connection; the status (0: closed without one; -1: timeout). */
static int
raw_exchange(int port, const char *request, char *buf, size_t size, double timeout_s)
{
    int fd = raw_connect(port);
    int status;

    if (fd < 0)
        return 0;
    if (!raw_send(fd, request, strlen(request)))
    {
        close(fd);
        return 0;
    }
    status = raw_read_response(fd, buf, size, timeout_s);
    close(fd);
    return status;
}

static int
count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(dir);
    while (readdir(dir) != NULL)
        n++;
    closedir(dir);
    return n;
}

/* ------------------------------------------------------------------ tests */

/* Runs first: nothing loads libmicrohttpd or libcurl before serve needs them. */
static void
test_libraries_load_lazily(void **state)
{
    const char *const env[] = {"LD_DEBUG=files", NULL};
    HttpServer *srv;
    HRun r;
    int port;

    (void) state;
    /* The binary: a CLI command loads neither. */
    H_RUN_ENV(&r, NULL, env, 30.0, "--version");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.err, "libc.so"); /* LD_DEBUG did report */
    H_ASSERT_NOT_CONTAINS(r.err, "libmicrohttpd");
    H_ASSERT_NOT_CONTAINS(r.err, "libcurl");
    H_ASSERT_NOT_CONTAINS(r.err, "gnutls");
    h_run_free(&r);
#ifdef PGMEDIC_STATIC_MHD
    /*
     * This process: libmicrohttpd is linked in, and its GnuTLS is loaded
     * only for TLS (src/serve/mhd_lazy.c; test_tls checks that it is then).
     */
    assert_false(h_maps_contain(0, "libmicrohttpd"));
    srv = start_default(&port);
    assert_false(h_maps_contain(0, "libgnutls"));
    assert_false(h_maps_contain(0, "libmicrohttpd"));
#else
    /* This process: loaded by the first http_start(), not before. */
    assert_false(h_maps_contain(0, "libmicrohttpd"));
    srv = start_default(&port);
    assert_true(h_maps_contain(0, "libmicrohttpd"));
#endif
    http_stop(srv);
}

static void
test_get_ok(void **state)
{
    HttpServer *srv;
    Resp r;
    int port;

    (void) state;
    srv = start_default(&port);
    curl_do(&r, url(port, "/hello?target=db%201%26x"), NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "hello db 1&x");
    assert_header(&r, "Content-Type", "text/plain");
    assert_header(&r, "Cache-Control", "no-store");
    resp_free(&r);

    curl_do(&r, url(port, "/hello"), NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "hello (none)");
    resp_free(&r);

    /* HEAD is served by the GET route, without the body. */
    curl_do(&r, "-I", url(port, "/hello"), NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "");
    resp_free(&r);

    /* No body from the handler: an empty one, and its own status. */
    curl_do(&r, url(port, "/empty"), NULL);
    assert_status(&r, 202);
    assert_string_equal(r.body, "");
    assert_header(&r, "Content-Length", "0");
    resp_free(&r);

    /* A status no HTTP client knows is the handler's bug: 500. */
    curl_do(&r, url(port, "/teapot"), NULL);
    assert_status(&r, 500);
    assert_string_equal(r.body, "{\"error\":\"internal error\"}\n");
    resp_free(&r);

    /* http_error() replaces the body and escapes the message. */
    curl_do(&r, url(port, "/conflict"), NULL);
    assert_status(&r, 409);
    assert_header(&r, "Content-Type", "application/json");
    assert_string_equal(r.body, "{\"error\":\"target \\\"db1\\\" is \\\"busy\\\"\\n\"}\n");
    resp_free(&r);
    http_stop(srv);
}

static void
test_unknown_path_404(void **state)
{
    HttpServer *srv;
    Resp r;
    int port;

    (void) state;
    srv = start_default(&port);
    curl_do(&r, url(port, "/nope?target=x"), NULL);
    assert_status(&r, 404);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    assert_string_equal(r.body, "{\"error\":\"unrecognized endpoint \\\"/nope\\\"\"}\n");
    resp_free(&r);
    /* A POST with a body to nowhere: the body is drained, the answer clean. */
    curl_do(&r, "--data-binary", "some body", url(port, "/hello/"), NULL);
    assert_status(&r, 404);
    resp_free(&r);
    http_stop(srv);
}

static void
test_wrong_method_405(void **state)
{
    HttpServer *srv;
    Resp r;
    int port;

    (void) state;
    srv = start_default(&port);
    curl_do(&r, "--data-binary", "x", url(port, "/hello"), NULL);
    assert_status(&r, 405);
    assert_header(&r, "Allow", "GET, HEAD");
    assert_string_equal(r.body,
                        "{\"error\":\"method \\\"POST\\\" is not allowed for \\\"/hello\\\"\"}\n");
    resp_free(&r);
    curl_do(&r, url(port, "/act"), NULL);
    assert_status(&r, 405);
    assert_header(&r, "Allow", "POST");
    resp_free(&r);
    curl_do(&r, "-X", "DELETE", url(port, "/echo"), NULL);
    assert_status(&r, 405);
    assert_header(&r, "Allow", "POST");
    resp_free(&r);
    http_stop(srv);
}

static void
test_token_on_acting_route(void **state)
{
    HttpServer *srv;
    Resp r;
    int port;
    char value[128];

    (void) state;
    srv = start_default(&port);
    /* No token. */
    curl_do(&r, "--data-binary", "{}", url(port, "/act"), NULL);
    assert_status(&r, 401);
    assert_true(resp_header(&r, "WWW-Authenticate", value, sizeof(value)));
    assert_int_equal(strncmp(value, "Bearer", 6), 0);
    H_ASSERT_CONTAINS(r.body, "requires a bearer token");
    resp_free(&r);
    /* Another scheme. */
    curl_do(&r, "-H", "Authorization: Basic " TOKEN, "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 401);
    resp_free(&r);
    /* Wrong tokens: different, a prefix, longer. */
    curl_do(&r, "-H", "Authorization: Bearer wrong", "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 401);
    assert_true(resp_header(&r, "WWW-Authenticate", value, sizeof(value)));
    H_ASSERT_CONTAINS(value, "invalid_token");
    assert_string_equal(r.body, "{\"error\":\"invalid bearer token\"}\n");
    H_ASSERT_NOT_CONTAINS(r.run.out, TOKEN);
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: Bearer s3cret", "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 401);
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: Bearer " TOKEN "x", "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 401);
    resp_free(&r);
    /* The right one (the scheme is case-insensitive). */
    curl_do(&r, "-H", "Authorization: Bearer " TOKEN, "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "done");
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: bearer " TOKEN, "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 200);
    resp_free(&r);
    /* Routes that do not act need none. */
    curl_do(&r, url(port, "/hello"), NULL);
    assert_status(&r, 200);
    resp_free(&r);
    http_stop(srv);
}

static void
test_no_token_configured_403(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    Resp r;
    int port;

    (void) state;
    /* A token of whitespace only (an empty token file) is no token. */
    opts.token = " \n";
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);
    curl_do(&r, "-H", "Authorization: Bearer anything", "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 403);
    assert_string_equal(r.body,
                        "{\"error\":\"this endpoint needs token_file in the configuration\"}\n");
    resp_free(&r);
    curl_do(&r, url(port, "/hello"), NULL);
    assert_status(&r, 200);
    resp_free(&r);
    http_stop(srv);
}

static void
test_auth_all(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    PmError err;
    Resp r;
    int port;

    (void) state;
    opts.token = TOKEN "\n"; /* as read from a token file */
    opts.auth_all = true;
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);
    curl_do(&r, url(port, "/hello"), NULL);
    assert_status(&r, 401);
    resp_free(&r);
    /* Without the token, not even which paths exist. */
    curl_do(&r, url(port, "/nope"), NULL);
    assert_status(&r, 401);
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: Bearer " TOKEN, url(port, "/hello"), NULL);
    assert_status(&r, 200);
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: Bearer " TOKEN, url(port, "/nope"), NULL);
    assert_status(&r, 404);
    resp_free(&r);
    curl_do(&r, "-H", "Authorization: Bearer " TOKEN, "--data-binary", "{}", url(port, "/act"),
            NULL);
    assert_status(&r, 200);
    resp_free(&r);
    http_stop(srv);

    /* auth_all without a token cannot work: refused at start. */
    opts.token = NULL;
    opts.listen = "127.0.0.1:57000";
    assert_null(http_start(&opts, routes, 1, &st, &err));
    assert_string_equal(err.message,
                        "cannot require the token on every endpoint: no token is configured");
}

static void
test_body_limit_413(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    char *big = malloc(4097);
    char *exact = malloc(1025);
    char *big_file, *exact_file;
    char buf[8192];
    char request[8192];
    char at[H_PATH_MAX + 1];
    Resp r;
    int port;
    int status;

    (void) state;
    assert_non_null(big);
    assert_non_null(exact);
    memset(big, 'x', 4096);
    big[4096] = '\0';
    memset(exact, 'y', 1024);
    exact[1024] = '\0';
    big_file = h_write_tmpfile("big", big);
    exact_file = h_write_tmpfile("exact", exact);
    assert_non_null(big_file);
    assert_non_null(exact_file);
    opts.max_body = 1024;
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);

    /* Content-Length over the limit. */
    snprintf(at, sizeof(at), "@%s", big_file);
    curl_do(&r, "--data-binary", at, url(port, "/echo"), NULL);
    assert_status(&r, 413);
    assert_string_equal(r.body, "{\"error\":\"request body is larger than 1024 bytes\"}\n");
    resp_free(&r);
    /* Exactly the limit: accepted, NUL-terminated. */
    snprintf(at, sizeof(at), "@%s", exact_file);
    curl_do(&r, "-H", "Content-Type: application/json", "--data-binary", at, url(port, "/echo"),
            NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "len=1024 terminated=1 type=application/json");
    resp_free(&r);
    /* Form-encoded bodies reach the handler too. */
    curl_do(&r, "-d", "a=1&b=2", url(port, "/echo"), NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "len=7 terminated=1 type=application/x-www-form-urlencoded");
    resp_free(&r);

    /* Chunked, so the size is known only while reading. */
    snprintf(request, sizeof(request),
             "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n1000\r\n%s\r\n0\r\n\r\n",
             big);
    status = raw_exchange(port, request, buf, sizeof(buf), 10.0);
    assert_int_equal(status, 413);
    /* A huge announced body is refused before it is sent. */
    status = raw_exchange(port,
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n"
                          "Connection: close\r\n\r\n",
                          buf, sizeof(buf), 10.0);
    assert_int_equal(status, 413);
    /* So is one that waits for 100 Continue. */
    status = raw_exchange(port,
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n"
                          "Expect: 100-continue\r\n\r\n",
                          buf, sizeof(buf), 10.0);
    assert_int_equal(status, 413);

    /* An endless chunked body: the server stops reading and closes. */
    {
        int fd = raw_connect(port);
        const char *head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        char chunk[8192 + 16];
        bool closed = false;
        double deadline = h_now() + 20.0;

        assert_true(fd >= 0);
        assert_true(raw_send(fd, head, strlen(head)));
        memset(chunk, 'z', sizeof(chunk));
        memcpy(chunk, "2000\r\n", 6);
        memcpy(chunk + 6 + 8192, "\r\n", 2);
        while (!closed && h_now() < deadline)
            closed = !raw_send(fd, chunk, 6 + 8192 + 2);
        if (!closed)
            closed = raw_read_response(fd, buf, sizeof(buf), 5.0) == 0;
        assert_true(closed);
        close(fd);
    }

    /* The server keeps serving. */
    curl_do(&r, url(port, "/hello"), NULL);
    assert_status(&r, 200);
    resp_free(&r);
    http_stop(srv);
    unlink(big_file);
    unlink(exact_file);
    free(big_file);
    free(exact_file);
    free(big);
    free(exact);
}

typedef struct
{
    int port;
    int status;
    char path[32];
} Client;

static void *
client_thread(void *arg)
{
    Client *c = arg;
    char request[128];
    char buf[4096];

    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             c->path);
    c->status = raw_exchange(c->port, request, buf, sizeof(buf), 20.0);
    return NULL;
}

/* N_PARALLEL requests whose handlers all block at once: each gets its own thread. */
static void
test_concurrent_requests(void **state)
{
    pthread_t threads[N_PARALLEL];
    Client clients[N_PARALLEL];
    HttpServer *srv;
    int port;

    (void) state;
    atomic_store(&st.wait_inside, 0);
    atomic_store(&st.wait_max, 0);
    srv = start_default(&port);
    for (int i = 0; i < N_PARALLEL; i++)
    {
        clients[i].port = port;
        clients[i].status = -2;
        snprintf(clients[i].path, sizeof(clients[i].path), "/wait");
        assert_int_equal(pthread_create(&threads[i], NULL, client_thread, &clients[i]), 0);
    }
    for (int i = 0; i < N_PARALLEL; i++)
    {
        pthread_join(threads[i], NULL);
        assert_int_equal(clients[i].status, 200);
    }
    assert_int_equal(atomic_load(&st.wait_max), N_PARALLEL);
    http_stop(srv);
}

/* At most 64 connections: more are closed at once, and service resumes after. */
static void
test_connection_limit(void **state)
{
    enum
    {
        N = 64
    };

    int fds[N];
    char buf[4096];
    const char *keepalive = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    HttpServer *srv;
    double deadline;
    int port;
    int extra;
    int status = 0;

    (void) state;
    srv = start_default(&port);
    for (int i = 0; i < N; i++)
    {
        fds[i] = raw_connect(port);
        assert_true(fds[i] >= 0);
        assert_true(raw_send(fds[i], keepalive, strlen(keepalive)));
        assert_int_equal(raw_read_response(fds[i], buf, sizeof(buf), 10.0), 200);
    }
    extra = raw_connect(port);
    if (extra >= 0)
    {
        if (raw_send(extra, keepalive, strlen(keepalive)))
            status = raw_read_response(extra, buf, sizeof(buf), 10.0);
        close(extra);
    }
    assert_int_equal(status, 0);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    /* The threads of the closed connections end on their own: poll. */
    deadline = h_now() + 10.0;
    while (status != 200 && h_now() < deadline)
    {
        status = raw_exchange(port, "GET /hello HTTP/1.0\r\n\r\n", buf, sizeof(buf), 5.0);
        if (status != 200)
            sleep_ms(20);
    }
    assert_int_equal(status, 200);
    http_stop(srv);
}

static void
assert_listen_error(const char *listen, const char *message)
{
    HttpOptions opts = {0};
    PmError err;

    opts.listen = listen;
    assert_null(http_start(&opts, routes, 1, &st, &err));
    if (strcmp(err.message, message) != 0)
        fail_msg("listen \"%s\": \"%s\", expected \"%s\"", listen, err.message, message);
}

static void
test_bad_listen_address(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    char listen[32];
    char want[128];
    int port;

    (void) state;
    assert_listen_error("127.0.0.1", "invalid listen address \"127.0.0.1\": expected HOST:PORT");
    assert_listen_error("[::1]9188", "invalid listen address \"[::1]9188\": expected HOST:PORT");
    assert_listen_error("::1:9188",
                        "invalid listen address \"::1:9188\": an IPv6 address must be in brackets");
    assert_listen_error("127.0.0.1:0",
                        "invalid listen address \"127.0.0.1:0\": the port must be between 1 "
                        "and 65535");
    assert_listen_error("127.0.0.1:70000", "invalid listen address \"127.0.0.1:70000\": the port "
                                           "must be between 1 and 65535");
    assert_listen_error("127.0.0.1:", "invalid listen address \"127.0.0.1:\": the port must be "
                                      "between 1 and 65535");
    assert_listen_error("127.0.0.1:80x", "invalid listen address \"127.0.0.1:80x\": the port "
                                         "must be between 1 and 65535");
    assert_listen_error("db.example.com:9188",
                        "invalid listen address \"db.example.com:9188\": the host must be an "
                        "IPv4 address, \"localhost\" or an IPv6 address in brackets");
    assert_listen_error("1.2.3:9188", "invalid listen address \"1.2.3:9188\": the host must be an "
                                      "IPv4 address, \"localhost\" or an IPv6 address in brackets");
    assert_listen_error("[nope]:9188",
                        "invalid listen address \"[nope]:9188\": the host must be an IPv4 "
                        "address, \"localhost\" or an IPv6 address in brackets");
    assert_listen_error(":9188", "invalid listen address \":9188\": the host must be an IPv4 "
                                 "address, \"localhost\" or an IPv6 address in brackets");
    /* An address of another machine. */
    assert_listen_error("192.0.2.1:57000",
                        "could not listen on 192.0.2.1:57000: Cannot assign requested address");

    /* A port already taken. */
    srv = start_default(&port);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(want, sizeof(want), "could not listen on %s: Address already in use", listen);
    assert_listen_error(listen, want);
    /* "localhost" is 127.0.0.1. */
    snprintf(listen, sizeof(listen), "localhost:%d", port);
    snprintf(want, sizeof(want), "could not listen on %s: Address already in use", listen);
    assert_listen_error(listen, want);
    http_stop(srv);

    /* IPv6, where the machine has it. */
    {
        PmError err;
        Resp r;

        snprintf(listen, sizeof(listen), "[::1]:%d", port);
        opts.listen = listen;
        srv = http_start(&opts, routes, 1, &st, &err);
        if (srv == NULL)
        {
            H_ASSERT_CONTAINS(err.message, "could not listen on [::1]");
            fprintf(stderr, "note: no IPv6 loopback here (%s)\n", err.message);
            return;
        }
        snprintf(want, sizeof(want), "http://[::1]:%d/hello", port);
        curl_do(&r, want, NULL);
        assert_status(&r, 200);
        resp_free(&r);
        http_stop(srv);
    }
}

/* openssl(1) makes a self-signed certificate for localhost into dir. */
static bool
make_cert(char *dir, size_t size)
{
    const char *openssl = find_program("openssl");
    char key[H_PATH_MAX + 16], cert[H_PATH_MAX + 16];
    HRun r;

    if (openssl == NULL)
        return false;
    snprintf(dir, size, "%s/tls.XXXXXX", h_tmproot());
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    {
        const char *const argv[] = {openssl,    "req",    "-x509",   "-newkey",
                                    "rsa:2048", "-nodes", "-subj",   "/CN=localhost",
                                    "-days",    "1",      "-addext", "subjectAltName=DNS:localhost",
                                    "-keyout",  key,      "-out",    cert,
                                    NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 60.0), 0);
    }
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    return true;
}

static void
test_tls(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    PmError err;
    Resp r;
    char dir[H_PATH_MAX], key[H_PATH_MAX + 16], cert[H_PATH_MAX + 16];
    char target[64], resolve[64];
    char *garbage;
    int port;
    int fds_before;

    (void) state;
    if (!make_cert(dir, sizeof(dir)))
    {
        fprintf(stderr, "note: openssl(1) is not installed: the TLS test is skipped\n");
        skip();
    }
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    opts.tls_cert_file = cert;
    opts.tls_key_file = key;
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);
    snprintf(target, sizeof(target), "https://localhost:%d/hello?target=tls", port);
    snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1", port);
    curl_do(&r, "--cacert", cert, "--resolve", resolve, target, NULL);
    assert_status(&r, 200);
    assert_string_equal(r.body, "hello tls");
    resp_free(&r);
    /* GnuTLS came with the TLS set-up (loaded lazily with MHD_LINK=static). */
    assert_true(h_maps_contain(0, "libgnutls"));
    /* Plain HTTP on the TLS port gets no answer. */
    curl_do(&r, url(port, "/hello"), NULL);
    assert_int_equal(r.status, 0);
    resp_free(&r);
    http_stop(srv);

    /* Both or neither. */
    opts.listen = "127.0.0.1:57000";
    opts.tls_key_file = NULL;
    assert_null(http_start(&opts, routes, 1, &st, &err));
    assert_string_equal(err.message, "TLS needs both a certificate and a key file");
    opts.tls_key_file = key;
    opts.tls_cert_file = "";
    assert_null(http_start(&opts, routes, 1, &st, &err));
    assert_string_equal(err.message, "TLS needs both a certificate and a key file");
    /* A missing file. */
    opts.tls_cert_file = "/nonexistent/cert.pem";
    assert_null(http_start(&opts, routes, 1, &st, &err));
    assert_string_equal(err.message, "could not read the TLS certificate: could not open file "
                                     "\"/nonexistent/cert.pem\": No such file or directory");
    /* A file that is no certificate: MHD's reason, and no descriptor left behind. */
    garbage = h_write_tmpfile("garbage", "not a certificate\n");
    assert_non_null(garbage);
    opts.tls_cert_file = garbage;
    opts.listen = NULL;
    fds_before = count_fds();
    {
        char listen[32];

        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        opts.listen = listen;
        assert_null(http_start(&opts, routes, 1, &st, &err));
        H_ASSERT_CONTAINS(err.message, "could not start the HTTP server on 127.0.0.1:");
        H_ASSERT_CONTAINS(err.message, "certificate");
    }
    assert_int_equal(count_fds(), fds_before);
    free(garbage);
}

static void *
slow_client(void *arg)
{
    Client *c = arg;
    char buf[4096];

    c->status = raw_exchange(c->port, "GET /slow HTTP/1.0\r\n\r\n", buf, sizeof(buf), 20.0);
    return NULL;
}

/* http_stop() while a handler runs: it waits for it, and nothing crashes. */
static void
test_stop_with_request_in_flight(void **state)
{
    Client c = {0, -2, ""};
    pthread_t thread;
    HttpServer *srv;
    double deadline;

    (void) state;
    atomic_store(&st.slow_entered, 0);
    atomic_store(&st.slow_done, 0);
    srv = start_default(&c.port);
    assert_int_equal(pthread_create(&thread, NULL, slow_client, &c), 0);
    deadline = h_now() + 10.0;
    while (!atomic_load(&st.slow_entered) && h_now() < deadline)
        sleep_ms(2);
    assert_true(atomic_load(&st.slow_entered));
    assert_false(atomic_load(&st.slow_done));
    http_stop(srv);
    assert_true(atomic_load(&st.slow_done));
    pthread_join(thread, NULL);
    /* The client got the answer or a closed connection, not a hang. */
    assert_true(c.status == 200 || c.status == 0);
}

/* An idle keep-alive connection does not hold http_stop() for its timeout. */
static void
test_stop_with_idle_connection(void **state)
{
    HttpOptions opts = {0};
    const char *keepalive = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    HttpServer *srv;
    char buf[4096];
    double start;
    int port;
    int fd;

    (void) state;
    opts.timeout_ms = 30000;
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);
    fd = raw_connect(port);
    assert_true(fd >= 0);
    assert_true(raw_send(fd, keepalive, strlen(keepalive)));
    assert_int_equal(raw_read_response(fd, buf, sizeof(buf), 10.0), 200);
    start = h_now();
    http_stop(srv);
    assert_true(h_now() - start < 5.0);
    close(fd);
    http_stop(NULL);
}

/* An idle connection is closed after the timeout. */
static void
test_idle_timeout(void **state)
{
    HttpOptions opts = {0};
    HttpServer *srv;
    char buf[256];
    double start;
    int port;
    int fd;
    int status;

    (void) state;
    opts.timeout_ms = 1000;
    srv = start_on(&opts, routes, sizeof(routes) / sizeof(routes[0]), &port);
    fd = raw_connect(port);
    assert_true(fd >= 0);
    start = h_now();
    status = raw_read_response(fd, buf, sizeof(buf), 15.0);
    assert_int_equal(status, 0); /* closed, not timed out on our side */
    assert_true(h_now() - start < 10.0);
    close(fd);
    http_stop(srv);
}

/* --- amclient --------------------------------------------------------------- */

static void
am_reset(int status)
{
    pthread_mutex_lock(&st.lock);
    st.am_calls = 0;
    st.am_status = status;
    st.am_method[0] = st.am_path[0] = st.am_content_type[0] = '\0';
    free(st.am_body);
    st.am_body = NULL;
    pthread_mutex_unlock(&st.lock);
}

static const AmOutAlert am_alerts[] = {
    {"DatabaseConnectionFailure", "db1", "critical", "cannot connect to \"db1\"",
     "https://runbooks.example/DatabaseConnectionFailure", 1790000000.5, 0,
     "http://pgmedic.example:9188/"},
    {"HighConnections", "db2", "warning", "92% of max_connections", NULL, 1790000000, 1790000600,
     NULL},
};

static void
test_amclient_post(void **state)
{
    HttpServer *srv;
    PmError err;
    char base[64];
    json_t *root;
    json_error_t jerr;
    int port;

    (void) state;
    am_reset(200);
    srv = start_default(&port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/", port);
    if (amclient_post(base, am_alerts, 2, 5000, &err) != 0)
        fail_msg("amclient_post: %s", err.message);
    pthread_mutex_lock(&st.lock);
    assert_int_equal(st.am_calls, 1);
    assert_string_equal(st.am_method, "POST");
    assert_string_equal(st.am_path, "/api/v2/alerts");
    assert_string_equal(st.am_content_type, "application/json");
    root = json_loads(st.am_body, JSON_REJECT_DUPLICATES, &jerr);
    pthread_mutex_unlock(&st.lock);
    assert_non_null(root);
    assert_int_equal(h_json_len(root, ""), 2);
    assert_string_equal(h_json_str(root, "0.labels.alertname"), "DatabaseConnectionFailure");
    assert_string_equal(h_json_str(root, "0.labels.target"), "db1");
    assert_string_equal(h_json_str(root, "0.labels.severity"), "critical");
    assert_int_equal(json_object_size(h_json_get(root, "0.labels")), 3);
    assert_string_equal(h_json_str(root, "0.annotations.summary"), "cannot connect to \"db1\"");
    assert_string_equal(h_json_str(root, "0.annotations.runbook"),
                        "https://runbooks.example/DatabaseConnectionFailure");
    assert_string_equal(h_json_str(root, "0.startsAt"), "2026-09-21T14:13:20.500Z");
    assert_null(h_json_get(root, "0.endsAt"));
    assert_string_equal(h_json_str(root, "0.generatorURL"), "http://pgmedic.example:9188/");
    assert_string_equal(h_json_str(root, "1.labels.alertname"), "HighConnections");
    assert_null(h_json_get(root, "1.annotations.runbook"));
    assert_string_equal(h_json_str(root, "1.startsAt"), "2026-09-21T14:13:20.000Z");
    assert_string_equal(h_json_str(root, "1.endsAt"), "2026-09-21T14:23:20.000Z");
    assert_null(h_json_get(root, "1.generatorURL"));
    json_decref(root);

    /* Without the trailing slash, the same path; nothing to send, no request. */
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    assert_int_equal(amclient_post(base, am_alerts, 1, 5000, &err), 0);
    assert_int_equal(amclient_post(base, am_alerts, 0, 5000, &err), 0);
    pthread_mutex_lock(&st.lock);
    assert_int_equal(st.am_calls, 2);
    assert_string_equal(st.am_path, "/api/v2/alerts");
    pthread_mutex_unlock(&st.lock);
    http_stop(srv);
}

static void
test_amclient_http_error(void **state)
{
    HttpServer *srv;
    PmError err;
    char base[64];
    char want[128];
    int port;

    (void) state;
    am_reset(400);
    srv = start_default(&port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    assert_int_equal(amclient_post(base, am_alerts, 2, 5000, &err), -1);
    snprintf(want, sizeof(want), "Alertmanager at %s answered HTTP 400", base);
    assert_string_equal(err.message, want);
    assert_string_equal(err.detail, "Alertmanager said: bad alert: labels are missing");
    /* A route that does not exist is an error too (404). */
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/prefix", port);
    assert_int_equal(amclient_post(base, am_alerts, 1, 5000, &err), -1);
    H_ASSERT_CONTAINS(err.message, "answered HTTP 404");
    http_stop(srv);
}

/* A port bound but not listening: the connection is refused. */
static int
refused_port(int *fd_out)
{
    for (int port = PORT_LAST; port >= PORT_FIRST; port--)
    {
        struct sockaddr_in addr = {0};
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t) port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0)
        {
            *fd_out = fd;
            return port;
        }
        close(fd);
    }
    fail_msg("no free port in %d-%d", PORT_FIRST, PORT_LAST);
    return -1;
}

static void
test_amclient_refused(void **state)
{
    PmError err;
    char base[128];
    char want[256];
    double start;
    int fd = -1;
    int port = refused_port(&fd);

    (void) state;
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    start = h_now();
    assert_int_equal(amclient_post(base, am_alerts, 2, 3000, &err), -1);
    assert_true(h_now() - start < 3.5);
    snprintf(want, sizeof(want), "could not send alerts to Alertmanager at %s: ", base);
    H_ASSERT_CONTAINS(err.message, want);
    /* Credentials in the URL never show. */
    snprintf(base, sizeof(base), "http://pgmedic:hunter2@127.0.0.1:%d/am/", port);
    assert_int_equal(amclient_post(base, am_alerts, 2, 3000, &err), -1);
    snprintf(want, sizeof(want), "could not send alerts to Alertmanager at http://127.0.0.1:%d/am/",
             port);
    H_ASSERT_CONTAINS(err.message, want);
    H_ASSERT_NOT_CONTAINS(err.message, "hunter2");
    H_ASSERT_NOT_CONTAINS(err.message, "pgmedic:");
    close(fd);
}

static void
test_amclient_timeout(void **state)
{
    static const HttpRoute block[] = {{"POST", "/api/v2/alerts", false, h_block}};
    HttpOptions opts = {0};
    HttpServer *srv;
    PmError err;
    char base[64];
    double start;
    int port;

    (void) state;
    atomic_store(&st.release, 0);
    srv = start_on(&opts, block, 1, &port);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    start = h_now();
    assert_int_equal(amclient_post(base, am_alerts, 1, 300, &err), -1);
    assert_true(h_now() - start < 3.0);
    H_ASSERT_CONTAINS(err.message, "timed out");
    atomic_store(&st.release, 1);
    http_stop(srv);
}

static void
test_amclient_bad_input(void **state)
{
    AmOutAlert nameless = {0};
    PmError err;

    (void) state;
    assert_int_equal(amclient_post("ftp://am.example", am_alerts, 1, 1000, &err), -1);
    assert_string_equal(err.message, "invalid Alertmanager URL \"ftp://am.example\": it must start "
                                     "with http:// or https://");
    assert_int_equal(amclient_post("am.example:9093", am_alerts, 1, 1000, &err), -1);
    H_ASSERT_CONTAINS(err.message, "invalid Alertmanager URL");
    assert_int_equal(amclient_post(NULL, am_alerts, 1, 1000, &err), -1);
    assert_int_equal(amclient_post("http://127.0.0.1:1", &nameless, 1, 1000, &err), -1);
    assert_string_equal(err.message, "cannot send an alert without an alertname");
}

static int
group_setup(void **state)
{
    (void) state;
    pthread_mutex_init(&st.lock, NULL);
    /* curl(1) and libcurl must talk to 127.0.0.1 directly. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    if (find_program("curl") == NULL)
    {
        fprintf(stderr, "http_test: curl(1) is not installed\n");
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void) state;
    free(st.am_body);
    st.am_body = NULL;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libraries_load_lazily),
        cmocka_unit_test(test_get_ok),
        cmocka_unit_test(test_unknown_path_404),
        cmocka_unit_test(test_wrong_method_405),
        cmocka_unit_test(test_token_on_acting_route),
        cmocka_unit_test(test_no_token_configured_403),
        cmocka_unit_test(test_auth_all),
        cmocka_unit_test(test_body_limit_413),
        cmocka_unit_test(test_concurrent_requests),
        cmocka_unit_test(test_connection_limit),
        cmocka_unit_test(test_bad_listen_address),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_stop_with_request_in_flight),
        cmocka_unit_test(test_stop_with_idle_connection),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_amclient_post),
        cmocka_unit_test(test_amclient_http_error),
        cmocka_unit_test(test_amclient_refused),
        cmocka_unit_test(test_amclient_timeout),
        cmocka_unit_test(test_amclient_bad_input),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
