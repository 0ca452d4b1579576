/*
 * amclient.c - the Alertmanager v2 client on libcurl, loaded on first use.
 *
 * libcurl is not linked, for the same reason as libmicrohttpd (see
 * http.c): the short CLI commands must not load it and its TLS chain.  The
 * first amclient_post() dlopen()s libcurl.so.4 and runs curl_global_init()
 * once (pthread_once: it is not thread-safe); <curl/curl.h> only provides
 * types and constants.  The table's members are not named after curl's
 * functions because curl.h defines curl_easy_setopt() as a macro.
 */
#include "serve/amclient.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "version.h"

#define CURL_LIBRARY "libcurl.so.4"

enum
{
    AMCLIENT_DEFAULT_TIMEOUT_MS = 10 * 1000,
    /* How much of Alertmanager's answer is kept for an error's detail. */
    AMCLIENT_ANSWER_MAX = 512
};

/* --- loading libcurl ----------------------------------------------------------- */

#define CURL_FUNCS(X)                                                                              \
    X(global_init, curl_global_init, CURLcode, (long) )                                            \
    X(easy_init, curl_easy_init, CURL *, (void) )                                                  \
    X(easy_setopt, curl_easy_setopt, CURLcode, (CURL *, CURLoption, ...))                          \
    X(easy_perform, curl_easy_perform, CURLcode, (CURL *) )                                        \
    X(easy_getinfo, curl_easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                          \
    X(easy_cleanup, curl_easy_cleanup, void, (CURL *) )                                            \
    X(easy_strerror, curl_easy_strerror, const char *, (CURLcode))                                 \
    X(slist_append, curl_slist_append, struct curl_slist *, (struct curl_slist *, const char *) )  \
    X(slist_free_all, curl_slist_free_all, void, (struct curl_slist *) )

#define DECLARE_PTR(member, symbol, ret, args) ret(*member) args;

static struct
{
    CURL_FUNCS(DECLARE_PTR)
} lc;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[256]; /* "" once loaded and initialised */

/* memcpy from dlsym()'s void *: see src/pg/libpq_lazy.c. */
#define LOAD_PTR(member, symbol, ret, args)                                                        \
    if (curl_load_error[0] == '\0')                                                                \
    {                                                                                              \
        void *sym = dlsym(handle, #symbol);                                                        \
        if (sym == NULL)                                                                           \
            snprintf(curl_load_error, sizeof(curl_load_error), "could not load %s: %s",            \
                     CURL_LIBRARY, "symbol " #symbol " not found");                                \
        else                                                                                       \
            memcpy(&lc.member, &sym, sizeof(sym));                                                 \
    }

static void
curl_load(void)
{
    /* Never closed: curl's global state lives until exit. */
    void *handle = dlopen(CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    CURLcode rc;

    if (handle == NULL)
    {
        const char *why = dlerror();

        snprintf(curl_load_error, sizeof(curl_load_error), "could not load %s: %s", CURL_LIBRARY,
                 why != NULL ? why : "unknown reason");
        return;
    }
    CURL_FUNCS(LOAD_PTR)
    if (curl_load_error[0] != '\0')
        return;
    rc = lc.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        snprintf(curl_load_error, sizeof(curl_load_error), "could not initialise %s: %s",
                 CURL_LIBRARY, lc.easy_strerror(rc));
}

/* --- the body ------------------------------------------------------------------ */

static void
kv_time(JsonW *w, const char *key, double unix_time)
{
    char text[32];

    pm_format_iso8601(unix_time, text, sizeof(text));
    jsonw_kv_string(w, key, text);
}

bool
amclient_body(const AmOutAlert *alerts, size_t n, StrBuf *buf)
{
    JsonW w;
    size_t i;

    jsonw_init(&w, buf, false);
    jsonw_array_begin(&w);
    for (i = 0; i < n; i++)
    {
        const AmOutAlert *a = &alerts[i];

        if (a->alertname == NULL || a->alertname[0] == '\0')
            return false;
        jsonw_object_begin(&w);
        jsonw_key(&w, "labels");
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "alertname", a->alertname);
        if (a->target != NULL)
            jsonw_kv_string(&w, "target", a->target);
        if (a->severity != NULL)
            jsonw_kv_string(&w, "severity", a->severity);
        jsonw_object_end(&w);
        jsonw_key(&w, "annotations");
        jsonw_object_begin(&w);
        if (a->summary != NULL)
            jsonw_kv_string(&w, "summary", a->summary);
        if (a->runbook != NULL)
            jsonw_kv_string(&w, "runbook", a->runbook);
        jsonw_object_end(&w);
        if (a->starts_at > 0)
            kv_time(&w, "startsAt", a->starts_at);
        if (a->ends_at > 0)
            kv_time(&w, "endsAt", a->ends_at);
        if (a->generator_url != NULL)
            jsonw_kv_string(&w, "generatorURL", a->generator_url);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    return strbuf_ok(buf);
}

/* --- the request --------------------------------------------------------------- */

/* The URL for messages: without "user:password@", printable, clipped. */
static void
url_for_messages(const char *url, char *dst, size_t size)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end != NULL ? scheme_end + 3 : url;
    const char *authority_end = host + strcspn(host, "/?#");
    const char *at = NULL;
    const char *p;
    size_t i = 0;

    for (p = host; p < authority_end; p++)
    {
        if (*p == '@')
            at = p;
    }
    for (p = url; *p != '\0' && i + 1 < size; p++)
    {
        unsigned char c;

        if (at != NULL && p == host)
            p = at + 1; /* skip the credentials */
        c = (unsigned char) *p;
        if (c == '\0')
            break;
        dst[i++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    dst[i] = '\0';
}

typedef struct
{
    char text[AMCLIENT_ANSWER_MAX];
    size_t len;
} Answer;

/* Keeps the start of Alertmanager's answer (for errors) and drops the rest. */
static size_t
keep_answer(char *data, size_t size, size_t nmemb, void *userdata)
{
    Answer *answer = userdata;
    size_t len = size * nmemb;
    size_t room = sizeof(answer->text) - 1 - answer->len;
    size_t take = len < room ? len : room;

    memcpy(answer->text + answer->len, data, take);
    answer->len += take;
    answer->text[answer->len] = '\0';
    return len;
}

/* The first line of the answer, printable, for an error's detail. */
static void
answer_line(const Answer *answer, char *dst, size_t size)
{
    size_t i = 0;
    const char *p;

    for (p = answer->text; *p != '\0' && *p != '\n' && *p != '\r' && i + 1 < size; p++)
    {
        unsigned char c = (unsigned char) *p;

        dst[i++] = (c >= 0x20 && c != 0x7f) ? (char) c : '?';
    }
    dst[i] = '\0';
}

int
amclient_post(const char *base_url, const AmOutAlert *alerts, size_t n, int64_t timeout_ms,
              PmError *err)
{
    StrBuf body = STRBUF_INIT;
    StrBuf url = STRBUF_INIT;
    char shown[256];
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers = NULL;
    struct curl_slist *more = NULL;
    Answer answer = {{0}, 0};
    CURL *curl = NULL;
    CURLcode rc;
    long status = 0;
    size_t base_len;
    int result = -1;

    if (n == 0)
        return 0;
    if (base_url == NULL ||
        (strncasecmp(base_url, "http://", 7) != 0 && strncasecmp(base_url, "https://", 8) != 0))
    {
        url_for_messages(base_url != NULL ? base_url : "", shown, sizeof(shown));
        pm_error_set(err, "invalid Alertmanager URL \"%s\": it must start with http:// or https://",
                     shown);
        return -1;
    }
    url_for_messages(base_url, shown, sizeof(shown));
    pthread_once(&curl_once, curl_load);
    if (curl_load_error[0] != '\0')
    {
        pm_error_set(err, "%s", curl_load_error);
        pm_error_hint(err, "Install the libcurl4 package.");
        return -1;
    }
    if (timeout_ms <= 0)
        timeout_ms = AMCLIENT_DEFAULT_TIMEOUT_MS;

    base_len = strlen(base_url);
    while (base_len > 0 && base_url[base_len - 1] == '/')
        base_len--;
    strbuf_append_len(&url, base_url, base_len);
    strbuf_append(&url, "/api/v2/alerts");
    if (!amclient_body(alerts, n, &body) || !strbuf_ok(&url))
    {
        pm_error_set(err, strbuf_ok(&body) && strbuf_ok(&url)
                              ? "cannot send an alert without an alertname"
                              : "out of memory");
        goto done;
    }

    curl = lc.easy_init();
    headers = lc.slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue" round trip, whatever the body's size. */
    more = headers != NULL ? lc.slist_append(headers, "Expect:") : NULL;
    if (curl == NULL || more == NULL)
    {
        pm_error_set(err, "out of memory");
        goto done;
    }
    errbuf[0] = '\0';
    if (lc.easy_setopt(curl, CURLOPT_URL, url.data) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        /* Signals are the daemon's; curl must not use SIGALRM for timeouts. */
        lc.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) timeout_ms) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout_ms) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_USERAGENT, "pgmedic/" PGMEDIC_VERSION) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body.len) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_WRITEDATA, &answer) != CURLE_OK ||
        lc.easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
    {
        pm_error_set(err, "could not send alerts to Alertmanager at %s: %s", shown,
                     "libcurl refused an option (it may be older than 7.85)");
        goto done;
    }
    rc = lc.easy_perform(curl);
    if (rc != CURLE_OK)
    {
        char why[CURL_ERROR_SIZE];

        /* curl's messages may name the URL: keep to the code's text when they do. */
        pm_strlcpy_trim(why, errbuf[0] != '\0' ? errbuf : lc.easy_strerror(rc), sizeof(why));
        if (strchr(why, '@') != NULL)
            pm_strlcpy_trim(why, lc.easy_strerror(rc), sizeof(why));
        pm_error_set(err, "could not send alerts to Alertmanager at %s: %s", shown, why);
        goto done;
    }
    if (lc.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (status < 200 || status > 299)
    {
        char line[200];

        pm_error_set(err, "Alertmanager at %s answered HTTP %ld", shown, status);
        answer_line(&answer, line, sizeof(line));
        if (line[0] != '\0')
            pm_error_detail(err, "Alertmanager said: %s", line);
        goto done;
    }
    result = 0;

done:
    if (curl != NULL)
        lc.easy_cleanup(curl);
    if (headers != NULL)
        lc.slist_free_all(headers);
    strbuf_free(&body);
    strbuf_free(&url);
    return result;
}
