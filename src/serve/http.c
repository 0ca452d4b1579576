/*
 * http.c - serve's HTTP server on libmicrohttpd, loaded on first use.
 *
 * Every pgmedic command is one binary, and the short CLI commands must not
 * pay for loading libmicrohttpd and its GnuTLS chain at start-up (start time
 * and RSS are benchmarked).  So the few functions used here are called
 * through a table of pointers, which http_start() fills once: with the
 * functions of the statically linked libmicrohttpd when the build has it
 * (MHD_LINK=static: its GnuTLS is then loaded only when TLS is configured,
 * see mhd_lazy.c), or by dlopen()ing libmicrohttpd.so otherwise.
 *
 * Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), not
 * a pool of polling threads.  Handlers block: the on-demand /probe waits up
 * to probe_wait for the daemon's probe of its target.  A pool worker is an
 * event loop shared by every connection it holds, so one waiting /probe
 * would stall the Prometheus scrapes and webhooks that happen to share its
 * worker; with a thread per connection a slow handler delays only its own
 * client.  The connection limit (HTTP_MAX_CONNECTIONS) bounds the threads
 * and the file descriptors a flood can take, and the idle timeout frees the
 * threads of clients that connect and say nothing.
 *
 * Request flow (the access handler runs several times per request):
 *   1. headers received: route (404/405), token (401/403) and the declared
 *      Content-Length (413) are decided once, into the connection context;
 *   2. body pieces: stored up to max_body when the request is accepted,
 *      otherwise read and dropped (never kept in memory);
 *   3. body complete: the verdict or the handler's response is queued.
 * A rejection is sent early (step 1) only when the client has not sent its
 * body yet (Expect: 100-continue) or announces one too large to drain: a
 * response queued before the body is read makes MHD close the connection,
 * and a close with unread data resets it, which can lose the response.
 */
#include "serve/http.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/file.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/strbuf.h"

enum
{
    /* At most this many connections (and so threads) at once. */
    HTTP_MAX_CONNECTIONS = 64,
    HTTP_LISTEN_BACKLOG = 128,
    HTTP_DEFAULT_MAX_BODY = 1024 * 1024,
    HTTP_DEFAULT_TIMEOUT_MS = 10 * 1000,
    /*
     * A body over the limit is read and dropped (see above) for at most
     * this many bytes more; past that the connection is closed.
     */
    HTTP_DRAIN_MAX = 1024 * 1024,
    /* TLS certificate and key files are small; anything larger is a mistake. */
    HTTP_TLS_FILE_MAX = 1024 * 1024
};

#define HTTP_DEFAULT_LISTEN "127.0.0.1:9188"
#define MHD_LIBRARY         "libmicrohttpd.so.12"

/* --- loading libmicrohttpd --------------------------------------------------- */

#define MHD_FUNCS(X)                                                                               \
    X(MHD_start_daemon, struct MHD_Daemon *,                                                       \
      (unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *, MHD_AccessHandlerCallback,        \
       void *, ...))                                                                               \
    X(MHD_stop_daemon, void, (struct MHD_Daemon *) )                                               \
    X(MHD_lookup_connection_value, const char *,                                                   \
      (struct MHD_Connection *, enum MHD_ValueKind, const char *) )                                \
    X(MHD_create_response_from_buffer, struct MHD_Response *,                                      \
      (size_t, void *, enum MHD_ResponseMemoryMode))                                               \
    X(MHD_add_response_header, enum MHD_Result,                                                    \
      (struct MHD_Response *, const char *, const char *) )                                        \
    X(MHD_queue_response, enum MHD_Result,                                                         \
      (struct MHD_Connection *, unsigned int, struct MHD_Response *) )                             \
    X(MHD_destroy_response, void, (struct MHD_Response *) )                                        \
    X(MHD_is_feature_supported, enum MHD_Result, (enum MHD_FEATURE))

/* The resolved functions: mhd.MHD_start_daemon(...) and so on. */
#define DECLARE_PTR(name, ret, args) ret(*name) args;

static struct
{
    MHD_FUNCS(DECLARE_PTR)
} mhd;

static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_load_error[256]; /* "" once loaded */

/*
 * Function pointers cannot be assigned from dlsym()'s void * in ISO C; the
 * copy through memcpy is POSIX's sanctioned way (as in src/pg/libpq_lazy.c).
 */
#define LOAD_PTR(name, ret, args)                                                                  \
    if (mhd_load_error[0] == '\0')                                                                 \
    {                                                                                              \
        void *sym = dlsym(handle, #name);                                                          \
        if (sym == NULL)                                                                           \
            snprintf(mhd_load_error, sizeof(mhd_load_error), "could not load %s: %s", MHD_LIBRARY, \
                     "symbol " #name " not found");                                                \
        else                                                                                       \
            memcpy(&mhd.name, &sym, sizeof(sym));                                                  \
    }

#ifdef PGMEDIC_STATIC_MHD

/*
 * libmicrohttpd is linked in (MHD_LINK=static, see the Makefile) and its
 * GnuTLS is loaded on first use (src/serve/mhd_lazy.c): the table points at
 * the linked functions.
 */
#define LINK_PTR(name, ret, args) mhd.name = name;

static void
mhd_load(void)
{
    MHD_FUNCS(LINK_PTR)
}

#else

static void
mhd_load(void)
{
    /* Never closed: the daemon's threads run the library's code until exit. */
    void *handle = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL);

    if (handle == NULL)
    {
        const char *why = dlerror();

        snprintf(mhd_load_error, sizeof(mhd_load_error), "could not load %s: %s", MHD_LIBRARY,
                 why != NULL ? why : "unknown reason");
        return;
    }
    MHD_FUNCS(LOAD_PTR)
}

#endif /* PGMEDIC_STATIC_MHD */

/* --- the server ---------------------------------------------------------------- */

struct HttpServer
{
    struct MHD_Daemon *daemon;
    HttpRoute *routes; /* a copy of the caller's table */
    size_t n_routes;
    void *arg;
    char *token; /* NULL when none; wiped when freed */
    size_t token_len;
    bool auth_all;
    size_t max_body;
    StrBuf tls_cert;
    StrBuf tls_key; /* wiped when freed */
    /* MHD's first message while starting: why the daemon failed to start. */
    pthread_mutex_t log_lock;
    bool started;
    char start_log[256];
};

/* What the headers decided about a request (step 1 above). */
typedef struct
{
    const HttpRoute *route;       /* NULL when rejected */
    int status;                   /* the rejection's status, 0 when accepted */
    char message[200];            /* the rejection's error message */
    char allow[64];               /* 405: the Allow header */
    const char *www_authenticate; /* 401: the WWW-Authenticate header */
    char *body;                   /* the stored body (accepted requests) */
    size_t body_len;
    size_t body_cap;
    size_t received; /* every body byte, stored or dropped */
} Conn;

/*
 * Copies at most size-1 bytes of s, replacing control and non-ASCII bytes
 * with '?': for paths and methods that go into logs and messages.
 */
static void
printable(char *dst, size_t size, const char *s)
{
    size_t i = 0;

    for (; s != NULL && *s != '\0' && i + 1 < size; s++)
    {
        unsigned char c = (unsigned char) *s;

        dst[i++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    dst[i] = '\0';
}

/*
 * Routes MHD's own messages to the debug log (a scanner's bad TLS handshake
 * is not worth a warning), and keeps the first one logged while starting,
 * which says why MHD_start_daemon() failed.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap) PM_PRINTF(2, 0);

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    HttpServer *srv = cls;
    char raw[256];
    char line[256];
    size_t len;

    vsnprintf(raw, sizeof(raw), fmt, ap);
    len = strlen(raw);
    while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r' || raw[len - 1] == '.'))
        raw[--len] = '\0';
    printable(line, sizeof(line), raw); /* MHD may quote what a client sent */
    len = strlen(line);
    pm_log_debug("http: %s", line);
    pthread_mutex_lock(&srv->log_lock);
    if (!srv->started && srv->start_log[0] == '\0')
        memcpy(srv->start_log, line, len + 1);
    pthread_mutex_unlock(&srv->log_lock);
}

/*
 * Compares in time that depends only on the expected token's length, so
 * the answer's timing tells nothing about how much of a guess was right.
 */
static bool
token_equal(const char *given, size_t given_len, const char *want, size_t want_len)
{
    volatile unsigned char diff = given_len == want_len ? 0 : 1;
    size_t i;

    for (i = 0; i < want_len; i++)
    {
        unsigned char g = i < given_len ? (unsigned char) given[i] : 0;

        diff = (unsigned char) (diff | (g ^ (unsigned char) want[i]));
    }
    return diff == 0;
}

static void reject(Conn *conn, int status, const char *fmt, ...) PM_PRINTF(3, 4);

static void
reject(Conn *conn, int status, const char *fmt, ...)
{
    va_list ap;

    conn->route = NULL;
    conn->status = status;
    va_start(ap, fmt);
    vsnprintf(conn->message, sizeof(conn->message), fmt, ap);
    va_end(ap);
}

/* The bearer token check: true when the request may go on, else conn is rejected. */
static bool
check_token(HttpServer *srv, struct MHD_Connection *mc, Conn *conn)
{
    const char *auth;
    size_t len;

    if (srv->token == NULL)
    {
        reject(conn, MHD_HTTP_FORBIDDEN, "this endpoint needs token_file in the configuration");
        return false;
    }
    auth = mhd.MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    /* RFC 7235: the scheme is case-insensitive. */
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
    {
        reject(conn, MHD_HTTP_UNAUTHORIZED, "this endpoint requires a bearer token");
        conn->www_authenticate = "Bearer realm=\"pgmedic\"";
        return false;
    }
    auth += 7;
    while (*auth == ' ')
        auth++;
    len = strlen(auth);
    if (!token_equal(auth, len, srv->token, srv->token_len))
    {
        reject(conn, MHD_HTTP_UNAUTHORIZED, "invalid bearer token");
        conn->www_authenticate = "Bearer realm=\"pgmedic\", error=\"invalid_token\"";
        return false;
    }
    return true;
}

/* No route for this method and path: 404, or 405 with the methods the path has. */
static void
reject_unrouted(const HttpServer *srv, Conn *conn, const char *url, const char *method,
                bool path_known)
{
    char shown[96];
    char shown_method[24];
    size_t i;

    printable(shown, sizeof(shown), url);
    if (!path_known)
    {
        reject(conn, MHD_HTTP_NOT_FOUND, "unrecognized endpoint \"%s\"", shown);
        return;
    }
    for (i = 0; i < srv->n_routes; i++)
    {
        const char *m = srv->routes[i].method;
        size_t used = strlen(conn->allow);

        if (strcmp(srv->routes[i].path, url) != 0)
            continue;
        snprintf(conn->allow + used, sizeof(conn->allow) - used, "%s%s%s", used > 0 ? ", " : "", m,
                 strcmp(m, MHD_HTTP_METHOD_GET) == 0 ? ", HEAD" : "");
    }
    printable(shown_method, sizeof(shown_method), method);
    reject(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method \"%s\" is not allowed for \"%s\"",
           shown_method, shown);
}

/* Step 1: the route and the token (the declared size is the caller's). */
static void
decide(HttpServer *srv, struct MHD_Connection *mc, Conn *conn, const char *url, const char *method)
{
    /* HEAD is GET without the body, which MHD drops itself. */
    const char *want = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 ? MHD_HTTP_METHOD_GET : method;
    bool path_known = false;
    const HttpRoute *route = NULL;
    size_t i;

    /* With auth_all, nothing (not even which paths exist) without the token. */
    if (srv->auth_all && !check_token(srv, mc, conn))
        return;
    for (i = 0; i < srv->n_routes && route == NULL; i++)
    {
        if (strcmp(srv->routes[i].path, url) != 0)
            continue;
        path_known = true;
        if (strcmp(srv->routes[i].method, want) == 0)
            route = &srv->routes[i];
    }
    if (route == NULL)
    {
        reject_unrouted(srv, conn, url, method, path_known);
        return;
    }
    if (route->acts && !srv->auth_all && !check_token(srv, mc, conn))
        return;
    conn->route = route;
}

/* A response with our common headers; NULL when out of memory (body is freed). */
static struct MHD_Response *
make_response(char *body, size_t len, const char *content_type)
{
    struct MHD_Response *resp;

    if (body == NULL)
        resp =
            mhd.MHD_create_response_from_buffer(0, (void *) (uintptr_t) "", MHD_RESPMEM_PERSISTENT);
    else
    {
        /* MHD takes the buffer and free()s it once sent. */
        resp = mhd.MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL)
            free(body);
    }
    if (resp == NULL)
        return NULL;
    if ((content_type != NULL && mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                             content_type) != MHD_YES) ||
        mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        mhd.MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES)
    {
        mhd.MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

static enum MHD_Result
send_response(struct MHD_Connection *mc, int status, struct MHD_Response *resp)
{
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO; /* out of memory: MHD closes the connection */
    rc = mhd.MHD_queue_response(mc, (unsigned int) status, resp);
    mhd.MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result
send_rejection(struct MHD_Connection *mc, Conn *conn, const char *method, const char *url)
{
    HttpResponse out = {0};
    struct MHD_Response *resp;
    char shown[96];
    char shown_method[24];

    http_error(&out, conn->status, conn->message);
    resp = make_response(out.body, out.body_len, out.content_type);
    if (resp == NULL)
        return MHD_NO;
    if ((conn->allow[0] != '\0' &&
         mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, conn->allow) != MHD_YES) ||
        (conn->www_authenticate != NULL &&
         mhd.MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                     conn->www_authenticate) != MHD_YES))
    {
        mhd.MHD_destroy_response(resp);
        return MHD_NO;
    }
    printable(shown, sizeof(shown), url);
    printable(shown_method, sizeof(shown_method), method);
    pm_log_debug("http: %s %s: %d", shown_method, shown, conn->status);
    return send_response(mc, conn->status, resp);
}

/* Step 3: the handler's turn. */
static enum MHD_Result
run_handler(HttpServer *srv, struct MHD_Connection *mc, Conn *conn, const char *url)
{
    HttpRequest req;
    HttpResponse out = {0};
    struct MHD_Response *resp;
    char shown[96];

    req.method = conn->route->method;
    req.path = conn->route->path;
    req.target = mhd.MHD_lookup_connection_value(mc, MHD_GET_ARGUMENT_KIND, "target");
    req.body = conn->body != NULL ? conn->body : "";
    req.body_len = conn->body_len;
    req.content_type =
        mhd.MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    out.status = MHD_HTTP_OK;
    conn->route->handler(srv->arg, &req, &out);
    if (out.status < 100 || out.status > 599)
    {
        pm_log_warning("http: handler of %s %s answered status %d", req.method, req.path,
                       out.status);
        http_error(&out, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    }
    if (out.body != NULL && out.content_type == NULL)
        out.content_type = "text/plain; charset=utf-8";
    printable(shown, sizeof(shown), url);
    pm_log_debug("http: %s %s: %d", req.method, shown, out.status);
    resp = make_response(out.body, out.body_len, out.content_type);
    return send_response(mc, out.status, resp);
}

/* Appends a piece of the body (step 2); false when the connection must close. */
static bool
take_body(HttpServer *srv, Conn *conn, const char *data, size_t size)
{
    conn->received += size;
    if (conn->received > srv->max_body + HTTP_DRAIN_MAX)
        return false;
    if (conn->route == NULL)
        return true; /* rejected: drained, not kept */
    if (conn->body_len + size > srv->max_body)
    {
        reject(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
               srv->max_body);
        free(conn->body);
        conn->body = NULL;
        conn->body_len = conn->body_cap = 0;
        return true;
    }
    if (conn->body_len + size + 1 > conn->body_cap)
    {
        size_t cap = conn->body_cap ? conn->body_cap : 4096;
        char *grown;

        while (cap < conn->body_len + size + 1)
            cap *= 2;
        if (cap > srv->max_body + 1)
            cap = srv->max_body + 1;
        grown = realloc(conn->body, cap);
        if (grown == NULL)
            return false;
        conn->body = grown;
        conn->body_cap = cap;
    }
    memcpy(conn->body + conn->body_len, data, size);
    conn->body_len += size;
    conn->body[conn->body_len] = '\0';
    return true;
}

/* Content-Length as announced; -1 when absent or not a plain number. */
static long long
declared_length(struct MHD_Connection *mc)
{
    const char *text =
        mhd.MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long value = 0;

    if (text == NULL || *text == '\0')
        return -1;
    for (; *text != '\0'; text++)
    {
        if (*text < '0' || *text > '9' || value > (1LL << 50))
            return -1;
        value = value * 10 + (*text - '0');
    }
    return value;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **con_cls)
{
    HttpServer *srv = cls;
    Conn *conn = *con_cls;

    (void) version;
    if (conn == NULL)
    {
        /* Step 1: headers only. */
        long long length = declared_length(mc);
        const char *expect;
        bool early;

        conn = calloc(1, sizeof(*conn));
        if (conn == NULL)
            return MHD_NO;
        *con_cls = conn;
        decide(srv, mc, conn, url, method);
        if (conn->route != NULL && length > (long long) srv->max_body)
            reject(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
                   srv->max_body);
        expect = mhd.MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
        early = (expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
                length > (long long) (srv->max_body + HTTP_DRAIN_MAX);
        if (conn->route == NULL && early)
            return send_rejection(mc, conn, method, url);
        return MHD_YES;
    }
    if (*upload_data_size > 0)
    {
        /* Step 2. */
        if (!take_body(srv, conn, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* Step 3. */
    if (conn->route == NULL)
        return send_rejection(mc, conn, method, url);
    return run_handler(srv, mc, conn, url);
}

static void
request_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    Conn *conn = *con_cls;

    (void) cls;
    (void) mc;
    (void) toe;
    if (conn == NULL)
        return;
    free(conn->body);
    free(conn);
    *con_cls = NULL;
}

/* --- start and stop -------------------------------------------------------- */

/*
 * "host:port" with a numeric IPv4 host or "localhost", or "[v6]:port", into
 * *addr; -1 with *err.
 */
static int
parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *addr_len, PmError *err)
{
    char host[64];
    const char *port_text;
    const char *colon;
    size_t host_len;
    long port = 0;
    const char *p;

    memset(addr, 0, sizeof(*addr));
    if (text[0] == '[')
    {
        const char *close = strchr(text, ']');

        if (close == NULL || close[1] != ':')
            goto bad_shape;
        host_len = (size_t) (close - text - 1);
        if (host_len == 0 || host_len >= sizeof(host))
            goto bad_host;
        memcpy(host, text + 1, host_len);
        host[host_len] = '\0';
        port_text = close + 2;
    }
    else
    {
        colon = strrchr(text, ':');
        if (colon == NULL)
            goto bad_shape;
        if (strchr(text, ':') != colon)
        {
            pm_error_set(err, "invalid listen address \"%s\": an IPv6 address must be in brackets",
                         text);
            pm_error_hint(err, "Write it as [::1]:9188.");
            return -1;
        }
        host_len = (size_t) (colon - text);
        if (host_len == 0 || host_len >= sizeof(host))
            goto bad_host;
        memcpy(host, text, host_len);
        host[host_len] = '\0';
        port_text = colon + 1;
    }
    if (*port_text == '\0')
        goto bad_port;
    for (p = port_text; *p != '\0'; p++)
    {
        if (*p < '0' || *p > '9' || port > 65535)
            goto bad_port;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        goto bad_port;

    if (text[0] == '[')
    {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) addr;

        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            goto bad_host;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t) port);
        *addr_len = sizeof(*in6);
    }
    else
    {
        struct sockaddr_in *in4 = (struct sockaddr_in *) addr;

        if (strcmp(host, "localhost") == 0)
            in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
            goto bad_host;
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t) port);
        *addr_len = sizeof(*in4);
    }
    return 0;

bad_shape:
    pm_error_set(err, "invalid listen address \"%s\": expected HOST:PORT", text);
    pm_error_hint(err, "Use an address such as 127.0.0.1:9188, [::1]:9188 or 0.0.0.0:9188.");
    return -1;
bad_host:
    pm_error_set(err,
                 "invalid listen address \"%s\": the host must be an IPv4 address, "
                 "\"localhost\" or an IPv6 address in brackets",
                 text);
    pm_error_hint(err, "Use an address such as 127.0.0.1:9188, [::1]:9188 or 0.0.0.0:9188.");
    return -1;
bad_port:
    pm_error_set(err, "invalid listen address \"%s\": the port must be between 1 and 65535", text);
    return -1;
}

/* A bound, listening, non-blocking socket; -1 with *err. */
static int
open_listener(const char *text, PmError *err)
{
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    int fd;
    int one = 1;

    if (parse_listen(text, &addr, &addr_len, err) != 0)
        return -1;
    fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
    {
        pm_error_set(err, "could not listen on %s: %s", text, strerror(errno));
        return -1;
    }
    /* A restarted daemon must not wait for the old connections' TIME_WAIT. */
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *) &addr, addr_len) != 0 || listen(fd, HTTP_LISTEN_BACKLOG) != 0)
    {
        pm_error_set(err, "could not listen on %s: %s", text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void
free_server(HttpServer *srv)
{
    if (srv->token != NULL)
    {
        explicit_bzero(srv->token, srv->token_len);
        free(srv->token);
    }
    if (srv->tls_key.data != NULL)
        explicit_bzero(srv->tls_key.data, srv->tls_key.cap);
    strbuf_free(&srv->tls_key);
    strbuf_free(&srv->tls_cert);
    free(srv->routes);
    pthread_mutex_destroy(&srv->log_lock);
    free(srv);
}

/* Reads one TLS file into buf; -1 with *err naming which file it was. */
static int
read_tls_file(const char *what, const char *path, StrBuf *buf, PmError *err)
{
    PmError why;

    if (pm_read_file(path, HTTP_TLS_FILE_MAX, buf, &why) != 0)
    {
        pm_error_set(err, "could not read the TLS %s: %s", what, why.message);
        return -1;
    }
    return 0;
}

HttpServer *
http_start(const HttpOptions *opts, const HttpRoute *routes, size_t n_routes, void *arg,
           PmError *err)
{
    const char *listen_text =
        opts->listen != NULL && opts->listen[0] != '\0' ? opts->listen : HTTP_DEFAULT_LISTEN;
    bool has_cert = opts->tls_cert_file != NULL && opts->tls_cert_file[0] != '\0';
    bool has_key = opts->tls_key_file != NULL && opts->tls_key_file[0] != '\0';
    int64_t timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls_options[3] = {{MHD_OPTION_END, 0, NULL}};
    struct stat listener;
    HttpServer *srv;
    size_t i;
    int fd;

    pthread_once(&mhd_once, mhd_load);
    if (mhd_load_error[0] != '\0')
    {
        pm_error_set(err, "%s", mhd_load_error);
        pm_error_hint(err, "Install the libmicrohttpd12 package.");
        return NULL;
    }
    if (has_cert != has_key)
    {
        pm_error_set(err, "TLS needs both a certificate and a key file");
        pm_error_hint(err, "Set both tls_cert and tls_key in the [serve] section, or neither.");
        return NULL;
    }
    for (i = 0; i < n_routes; i++)
    {
        if (routes[i].method == NULL || routes[i].path == NULL || routes[i].handler == NULL)
        {
            pm_error_set(err, "HTTP route %zu is incomplete", i);
            return NULL;
        }
    }

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
    {
        pm_error_set(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&srv->log_lock, NULL);
    srv->arg = arg;
    srv->auth_all = opts->auth_all;
    srv->max_body = opts->max_body > 0 ? opts->max_body : HTTP_DEFAULT_MAX_BODY;
    srv->routes = calloc(n_routes > 0 ? n_routes : 1, sizeof(HttpRoute));
    if (srv->routes == NULL)
        goto oom;
    if (n_routes > 0)
        memcpy(srv->routes, routes, n_routes * sizeof(HttpRoute));
    srv->n_routes = n_routes;
    if (opts->token != NULL)
    {
        size_t len = strlen(opts->token);

        /*
         * MHD trims header values, so a token ending in whitespace (such as
         * the newline of a token file) could never match: drop it.
         */
        while (len > 0 && strchr(" \t\r\n", opts->token[len - 1]) != NULL)
            len--;
        if (len > 0)
        {
            srv->token = malloc(len + 1);
            if (srv->token == NULL)
                goto oom;
            memcpy(srv->token, opts->token, len);
            srv->token[len] = '\0';
            srv->token_len = len;
        }
    }
    if (srv->auth_all && srv->token == NULL)
    {
        pm_error_set(err, "cannot require the token on every endpoint: no token is configured");
        pm_error_hint(err, "Set token_file in the [serve] section of the configuration.");
        goto fail;
    }

    if (has_cert)
    {
        if (mhd.MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        {
            pm_error_set(err, "cannot serve HTTPS: %s was built without TLS support", MHD_LIBRARY);
            goto fail;
        }
        if (read_tls_file("certificate", opts->tls_cert_file, &srv->tls_cert, err) != 0 ||
            read_tls_file("key", opts->tls_key_file, &srv->tls_key, err) != 0)
            goto fail;
        flags |= MHD_USE_TLS;
        tls_options[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert.data};
        tls_options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key.data};
    }

    fd = open_listener(listen_text, err);
    if (fd < 0)
        goto fail;
    if (strchr(listen_text, '[') != NULL)
        flags |= MHD_USE_IPv6;

    if (fstat(fd, &listener) != 0)
    {
        pm_error_set(err, "could not listen on %s: %s", listen_text, strerror(errno));
        close(fd);
        goto fail;
    }
    /* The logger first: MHD reports the options that follow through it. */
    srv->daemon = mhd.MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        (void *) srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int) HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int) ((timeout_ms + 999) / 1000), MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        (void *) NULL, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
    pthread_mutex_lock(&srv->log_lock);
    srv->started = true;
    pthread_mutex_unlock(&srv->log_lock);
    if (srv->daemon == NULL)
    {
        struct stat now;

        /*
         * MHD closes the socket it was given when it fails after adopting it
         * (TLS set-up) but not when it fails before (options): close it
         * only if the descriptor still is our socket, not a number another
         * thread got in between.
         */
        if (fstat(fd, &now) == 0 && now.st_dev == listener.st_dev && now.st_ino == listener.st_ino)
            close(fd);
        pm_error_set(err, "could not start the HTTP server on %s: %s", listen_text,
                     srv->start_log[0] != '\0' ? srv->start_log : "unknown error");
        goto fail;
    }
    pm_log_debug("http: listening on %s%s", listen_text, has_cert ? " (TLS)" : "");
    return srv;

oom:
    pm_error_set(err, "out of memory");
fail:
    free_server(srv);
    return NULL;
}

void
http_stop(HttpServer *srv)
{
    if (srv == NULL)
        return;
    /* Closes the listening socket and joins every connection's thread. */
    mhd.MHD_stop_daemon(srv->daemon);
    free_server(srv);
}

void
http_error(HttpResponse *resp, int status, const char *message)
{
    StrBuf buf = STRBUF_INIT;

    strbuf_append(&buf, "{\"error\":\"");
    jsonw_escape(&buf, message != NULL ? message : "");
    strbuf_append(&buf, "\"}\n");
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/json";
    if (strbuf_ok(&buf))
    {
        resp->body = buf.data;
        resp->body_len = buf.len;
    }
    else
    {
        /* Out of memory: the status alone must do. */
        strbuf_free(&buf);
        resp->body = NULL;
        resp->body_len = 0;
    }
}
