/*
 * http.h - serve's HTTP server: libmicrohttpd, loaded with dlopen() when
 * serve starts (so the other commands never load it or its GnuTLS), driven
 * by its own threads.
 *
 * This layer owns everything about HTTP: routing by method and path (404,
 * 405 with Allow), the bearer token (401 with WWW-Authenticate), body size
 * (413), reading the body, timeouts, TLS.  Handlers only see a complete,
 * authorised request.  Errors are one-line JSON: {"error": "..."}.
 */
#ifndef PGMEDIC_SERVE_HTTP_H
#define PGMEDIC_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    const char *method; /* "GET", "POST" */
    const char *path;   /* "/metrics", without the query string */
    const char *target; /* the ?target= argument (URL-decoded), NULL when absent */
    const char *body;   /* the request body, NUL-terminated ("" when none) */
    size_t body_len;
    const char *content_type; /* NULL when absent */
} HttpRequest;

typedef struct
{
    int status;               /* 200 unless set */
    const char *content_type; /* a static string */
    char *body;               /* malloc()ed by the handler; the server frees it */
    size_t body_len;
} HttpResponse;

/* Called on an HTTP thread, possibly several at once: must be thread-safe. */
typedef void (*HttpHandler)(void *arg, const HttpRequest *req, HttpResponse *resp);

typedef struct
{
    const char *method;
    const char *path;
    bool acts; /* changes something: always requires the token */
    HttpHandler handler;
} HttpRoute;

typedef struct
{
    const char *listen;        /* "127.0.0.1:9188", "[::1]:9188", "0.0.0.0:9188" */
    const char *token;         /* the bearer token; NULL or "": routes that act answer 403 */
    bool auth_all;             /* every route requires the token, not only those that act */
    const char *tls_cert_file; /* both or neither: HTTPS */
    const char *tls_key_file;  /* (PEM files, read once at start) */
    size_t max_body;           /* larger bodies get 413 (default 1 MiB when 0) */
    unsigned threads;          /* unused: a thread per connection, at most 64 (see http.c) */
    int64_t timeout_ms;        /* idle timeout, whole seconds (default 10 s when 0) */
} HttpOptions;

typedef struct HttpServer HttpServer;

/*
 * Starts listening; NULL with *err ("could not listen on ...: ...",
 * "invalid listen address ...", "could not load libmicrohttpd.so.12: ...")
 * on failure.  The route table and the token are copied (the routes'
 * strings must outlive the server, as must arg).  listen NULL or "" means 127.0.0.1:9188; auth_all
 * without a token is an error.  HEAD is served by the GET route of the same path.
 */
HttpServer *http_start(const HttpOptions *opts, const HttpRoute *routes, size_t n_routes, void *arg,
                       PmError *err);

/* Stops accepting, waits for the requests in flight, releases everything. */
void http_stop(HttpServer *srv); /* NULL is a no-op */

/*
 * Fills resp with a JSON error body {"error": message} and its status,
 * freeing any body resp already had (resp must be initialised, as the one
 * a handler gets is).
 */
void http_error(HttpResponse *resp, int status, const char *message);

#endif
