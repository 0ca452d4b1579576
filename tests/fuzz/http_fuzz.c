/*
 * http_fuzz.c - serve's HTTP layer (src/serve/http.c) behind the real
 * libmicrohttpd: the server starts once per process on 127.0.0.1 (a free
 * port), each input is sent as raw bytes over a fresh TCP connection, the
 * write side is shut, and the answer is read until the server closes.
 *
 * Why a socket and not the handler functions directly: what http.c must get
 * right is its contract with MHD (the access handler is called several times
 * per request, bodies arrive in pieces, rejections are queued early or late,
 * request_completed frees the context), and only MHD itself drives that
 * truthfully.  MHD is not instrumented (it is dlopen()ed), so coverage
 * guides through http.c and the handlers; ASan still sees every allocation.
 *
 * Routes: the ones serve has (GET /metrics, /probe, /healthz; POST
 * /api/v1/alertmanager, which acts and needs the token), with stand-in
 * handlers; the webhook one runs the real amwebhook_parse() on the body.
 *
 * Properties: no crash, no leak, no hang (an answer and a close within
 * HTTP_FUZZ_DEADLINE_MS); an answer starts with "HTTP/1."; a handler sees
 * a NUL-terminated body within max_body and the method and path of its
 * route; a route that acts runs only when the request carries the token.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/amwebhook.h"
#include "fuzz.h"
#include "serve/http.h"

enum
{
    HTTP_FUZZ_MAX_BODY = 4096,
    HTTP_FUZZ_MAX_INPUT = 1024 * 1024,
    HTTP_FUZZ_DEADLINE_MS = 5000
};

static const char fuzz_token[] = "fuzz-token-8c1f";

static HttpServer *server;
static char server_listen[32];
static int acted; /* set by a route that acts; read after the answer */

static void
check_request(const HttpRequest *req, const char *method, const char *path)
{
    FUZZ_CHECK(strcmp(req->method, method) == 0 && strcmp(req->path, path) == 0);
    FUZZ_CHECK(req->body != NULL && req->body_len <= HTTP_FUZZ_MAX_BODY);
    FUZZ_CHECK(req->body[req->body_len] == '\0');
}

static char *
text_body(const char *s, size_t *len)
{
    char *body = strdup(s);

    *len = body != NULL ? strlen(body) : 0;
    return body;
}

static void
handle_metrics(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    check_request(req, "GET", "/metrics");
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = text_body("# HELP pgmedic_up 1\npgmedic_up 1\n", &resp->body_len);
}

static void
handle_probe(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    check_request(req, "GET", "/probe");
    if (req->target == NULL)
    {
        http_error(resp, 400, "the target argument is required");
        return;
    }
    /* The decoded argument: any bytes up to its NUL, quoted back as JSON. */
    http_error(resp, 404, req->target);
}

static void
handle_healthz(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    (void) arg;
    check_request(req, "GET", "/healthz");
    /* A handler that answers a status out of range is a 500, not a crash. */
    if (req->target != NULL && strcmp(req->target, "bad") == 0)
        resp->status = 1000;
}

static void
handle_alertmanager(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Arena *arena = arena_new();
    AmPayload payload;
    PmError err;

    (void) arg;
    __atomic_store_n(&acted, 1, __ATOMIC_SEQ_CST);
    check_request(req, "POST", "/api/v1/alertmanager");
    if (arena == NULL)
    {
        http_error(resp, 500, "out of memory");
        return;
    }
    if (amwebhook_parse(req->body, req->body_len, "target", arena, &payload, &err) != 0)
        http_error(resp, 400, err.message);
    else
        resp->body = text_body("{\"status\":\"ok\"}\n", &resp->body_len);
    arena_free(arena);
}

static void
stop_server(void)
{
    http_stop(server);
    server = NULL;
}

static void
start_server(void)
{
    static const HttpRoute routes[] = {
        {"GET", "/metrics", false, handle_metrics},
        {"GET", "/probe", false, handle_probe},
        {"GET", "/healthz", false, handle_healthz},
        {"POST", "/api/v1/alertmanager", true, handle_alertmanager},
    };
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    HttpOptions opts;
    PmError err;
    int fd;

    /* A free port: bind to 0, see which one the kernel chose, let it go. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_CHECK(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(bind(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    FUZZ_CHECK(getsockname(fd, (struct sockaddr *) &addr, &len) == 0);
    close(fd);
    snprintf(server_listen, sizeof(server_listen), "127.0.0.1:%u", (unsigned) ntohs(addr.sin_port));

    memset(&opts, 0, sizeof(opts));
    opts.listen = server_listen;
    opts.token = fuzz_token;
    opts.max_body = HTTP_FUZZ_MAX_BODY;
    opts.timeout_ms = 1000;
    server = http_start(&opts, routes, sizeof(routes) / sizeof(routes[0]), NULL, &err);
    if (server == NULL)
    {
        fprintf(stderr, "http_fuzz: %s\n", err.message);
        FUZZ_CHECK(server != NULL);
    }
    atexit(stop_server);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until deadline; false on timeout. */
static bool
wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {fd, events, 0};
    int64_t left = deadline - now_ms();
    int rc;

    if (left <= 0)
        return false;
    do
        rc = poll(&p, 1, (int) left);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

static int
connect_server(void)
{
    struct sockaddr_in addr;
    const char *colon = strrchr(server_listen, ':');
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    FUZZ_CHECK(fd >= 0 && colon != NULL);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t) strtoul(colon + 1, NULL, 10));
    FUZZ_CHECK(connect(fd, (struct sockaddr *) &addr, sizeof(addr)) == 0);
    return fd;
}

static bool
contains(const uint8_t *data, size_t size, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = 0; i + n <= size; i++)
        if (memcmp(data + i, needle, n) == 0)
            return true;
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t deadline;
    char answer[64];
    size_t sent = 0, got = 0;
    bool closed = false;
    int fd;

    if (size > HTTP_FUZZ_MAX_INPUT)
        return 0;
    if (server == NULL)
        start_server();
    __atomic_store_n(&acted, 0, __ATOMIC_SEQ_CST);
    fd = connect_server();
    deadline = now_ms() + HTTP_FUZZ_DEADLINE_MS;

    /* The whole request, unless the server closes first (an early rejection). */
    while (sent < size)
    {
        ssize_t n;

        if (!wait_fd(fd, POLLOUT, deadline))
            break;
        n = send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        sent += (size_t) n;
    }
    shutdown(fd, SHUT_WR);

    /* The answer, until the server closes the connection. */
    while (!closed)
    {
        char buf[4096];
        ssize_t n;

        if (!wait_fd(fd, POLLIN, deadline))
        {
            fprintf(stderr, "http_fuzz: no close within %d ms (%zu bytes of answer)\n",
                    HTTP_FUZZ_DEADLINE_MS, got);
            FUZZ_FAIL("the server answers and closes");
        }
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
        {
            closed = true; /* EOF, or reset after an early rejection */
            break;
        }
        if (got < sizeof(answer))
            memcpy(answer + got, buf,
                   (size_t) n < sizeof(answer) - got ? (size_t) n : sizeof(answer) - got);
        got += (size_t) n;
    }
    close(fd);
    if (got > 0)
        FUZZ_CHECK(got >= 7 && memcmp(answer, "HTTP/1.", 7) == 0);
    if (__atomic_load_n(&acted, __ATOMIC_SEQ_CST))
        FUZZ_CHECK(contains(data, size, fuzz_token));
    return 0;
}
