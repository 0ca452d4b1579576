/*
 * libpq_lazy.c - GSSAPI, LDAP and OpenSSL for a statically linked libpq,
 * loaded on first use.
 *
 * When libpq is linked from Debian's libpq.a (the default when the archives
 * are installed, see the Makefile), its references to the Kerberos GSSAPI
 * library and to OpenLDAP land here instead of pulling 19 shared libraries
 * into every run: loading and relocating them is about a third of a
 * `pgmedic check` and 3.6 MB of its peak RSS, for code that runs only when a
 * TCP connection tries GSS encryption or authentication, or when
 * pg_service.conf names an ldap:// URL.
 *
 * Each function below has the exact prototype of the library's own; the
 * first call dlopen()s the library (once, thread-safe) and every call
 * forwards to the real function.  When the library is not installed the
 * calls fail the way the library itself reports "no credentials" or "cannot
 * connect", so libpq goes on as it does when GSSAPI finds no credentials.
 *
 * OpenSSL's hundred-odd functions are generated stubs instead (see the end of
 * this file and src/util/lazylib.h); only their library is declared here.
 *
 * With a shared libpq (PQ_LINK=shared) this file compiles to nothing: the
 * definitions would otherwise interpose on libgssapi_krb5's own.
 */
#ifdef PGMEDIC_STATIC_LIBPQ

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* --- GSSAPI (RFC 2744 C bindings, MIT krb5 1.20 ABI) --------------------- */

typedef uint32_t OM_uint32;
typedef OM_uint32 gss_qop_t;
typedef int gss_cred_usage_t;
typedef struct gss_name_struct *gss_name_t;
typedef struct gss_cred_id_struct *gss_cred_id_t;
typedef struct gss_ctx_id_struct *gss_ctx_id_t;
typedef struct gss_channel_bindings_struct *gss_channel_bindings_t;
typedef struct gss_OID_desc_struct {
    /* cppcheck-suppress unusedStructMember ; the library reads them */
    OM_uint32 length;
    /* cppcheck-suppress unusedStructMember */
    void *elements;
} gss_OID_desc, *gss_OID;
typedef struct gss_OID_set_desc_struct {
    /* cppcheck-suppress unusedStructMember ; the library reads them */
    size_t count;
    /* cppcheck-suppress unusedStructMember */
    gss_OID elements;
} gss_OID_set_desc, *gss_OID_set;
typedef struct gss_buffer_desc_struct {
    size_t length;
    void *value;
} gss_buffer_desc, *gss_buffer_t;

#define GSS_S_FAILURE (13u << 16)

/*
 * libpq reads this variable itself, before any GSSAPI call.  It is the
 * standard OID 1.2.840.113554.1.2.1.4 (RFC 2744 §4), which mechanisms compare
 * by value, so our own copy is as good as the library's.
 */
static unsigned char hostbased_service_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                0x12, 0x01, 0x02, 0x01, 0x04};
static gss_OID_desc hostbased_service = {sizeof(hostbased_service_oid), hostbased_service_oid};
gss_OID GSS_C_NT_HOSTBASED_SERVICE = &hostbased_service;

/* What gss_display_status says when the library could not be loaded. */
static char gss_missing[] = "GSSAPI library libgssapi_krb5.so.2 is not installed";

/* --- OpenLDAP (only the calls libpq's ldapServiceLookup makes) ----------- */

typedef struct ldap LDAP;
typedef struct ldapmsg LDAPMessage;
struct berval;

/* --- loading --------------------------------------------------------------- */

#define GSS_FUNCS(X)                                                                     \
    X(gss_acquire_cred, OM_uint32,                                                       \
      (OM_uint32 *, gss_name_t, OM_uint32, gss_OID_set, gss_cred_usage_t, gss_cred_id_t *, \
       gss_OID_set *, OM_uint32 *))                                                      \
    X(gss_delete_sec_context, OM_uint32, (OM_uint32 *, gss_ctx_id_t *, gss_buffer_t))    \
    X(gss_display_status, OM_uint32,                                                     \
      (OM_uint32 *, OM_uint32, int, gss_OID, OM_uint32 *, gss_buffer_t))                 \
    X(gss_import_name, OM_uint32, (OM_uint32 *, gss_buffer_t, gss_OID, gss_name_t *))    \
    X(gss_init_sec_context, OM_uint32,                                                   \
      (OM_uint32 *, gss_cred_id_t, gss_ctx_id_t *, gss_name_t, gss_OID, OM_uint32,        \
       OM_uint32, gss_channel_bindings_t, gss_buffer_t, gss_OID *, gss_buffer_t,          \
       OM_uint32 *, OM_uint32 *))                                                        \
    X(gss_release_buffer, OM_uint32, (OM_uint32 *, gss_buffer_t))                        \
    X(gss_release_cred, OM_uint32, (OM_uint32 *, gss_cred_id_t *))                       \
    X(gss_release_name, OM_uint32, (OM_uint32 *, gss_name_t *))                          \
    X(gss_unwrap, OM_uint32,                                                             \
      (OM_uint32 *, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, int *, gss_qop_t *))       \
    X(gss_wrap, OM_uint32,                                                               \
      (OM_uint32 *, gss_ctx_id_t, int, gss_qop_t, gss_buffer_t, int *, gss_buffer_t))    \
    X(gss_wrap_size_limit, OM_uint32,                                                    \
      (OM_uint32 *, gss_ctx_id_t, int, gss_qop_t, OM_uint32, OM_uint32 *))

#define LDAP_FUNCS(X)                                                                    \
    X(ldap_init, LDAP *, (const char *, int))                                            \
    X(ldap_set_option, int, (LDAP *, int, const void *))                                 \
    X(ldap_simple_bind, int, (LDAP *, const char *, const char *))                       \
    X(ldap_result, int, (LDAP *, int, int, struct timeval *, LDAPMessage **))            \
    X(ldap_search_st, int,                                                               \
      (LDAP *, const char *, int, const char *, char **, int, struct timeval *,           \
       LDAPMessage **))                                                                  \
    X(ldap_count_entries, int, (LDAP *, LDAPMessage *))                                  \
    X(ldap_first_entry, LDAPMessage *, (LDAP *, LDAPMessage *))                          \
    X(ldap_get_values_len, struct berval **, (LDAP *, LDAPMessage *, const char *))      \
    X(ldap_value_free_len, void, (struct berval **))                                     \
    X(ldap_msgfree, int, (LDAPMessage *))                                                \
    X(ldap_unbind, int, (LDAP *))                                                        \
    X(ldap_err2string, char *, (int))

/* One pointer per function, filled by the loader (NULL when missing). */
#define DECLARE_PTR(name, ret, args) static ret(*real_##name) args;
GSS_FUNCS(DECLARE_PTR)
LDAP_FUNCS(DECLARE_PTR)

/*
 * Function pointers cannot be assigned from dlsym()'s void * in ISO C; the
 * copy through memcpy is POSIX's sanctioned way.
 */
#define LOAD_PTR(name, ret, args)                                                        \
    {                                                                                    \
        void *sym = dlsym(handle, #name);                                                \
        if (sym != NULL)                                                                 \
            __builtin_memcpy(&real_##name, &sym, sizeof(sym));                          \
    }

static pthread_once_t gss_once = PTHREAD_ONCE_INIT;
static pthread_once_t ldap_once = PTHREAD_ONCE_INIT;

static void
gss_load(void)
{
    void *handle = dlopen("libgssapi_krb5.so.2", RTLD_NOW | RTLD_LOCAL);

    if (handle == NULL)
        return;
    GSS_FUNCS(LOAD_PTR)
}

static void
ldap_load(void)
{
    void *handle = dlopen("libldap-2.5.so.0", RTLD_NOW | RTLD_LOCAL);

    if (handle == NULL)
        return;
    LDAP_FUNCS(LOAD_PTR)
}

/* --- the forwarders ---------------------------------------------------------- */

/* A GSSAPI call whose library is missing fails with GSS_S_FAILURE. */
#define GSS_CALL(name, ...)                                                              \
    do {                                                                                 \
        pthread_once(&gss_once, gss_load);                                               \
        if (real_##name == NULL) {                                                       \
            *minor = 0;                                                                  \
            return GSS_S_FAILURE;                                                        \
        }                                                                                \
        return real_##name(__VA_ARGS__);                                                 \
    } while (0)

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_name_t name, OM_uint32 time_req,
                           gss_OID_set mechs, gss_cred_usage_t usage, gss_cred_id_t *cred,
                           gss_OID_set *actual, OM_uint32 *time_rec);
OM_uint32
gss_acquire_cred(OM_uint32 *minor, gss_name_t name, OM_uint32 time_req, gss_OID_set mechs,
                 gss_cred_usage_t usage, gss_cred_id_t *cred, gss_OID_set *actual,
                 OM_uint32 *time_rec)
{
    GSS_CALL(gss_acquire_cred, minor, name, time_req, mechs, usage, cred, actual, time_rec);
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, gss_ctx_id_t *ctx, gss_buffer_t out);
OM_uint32
gss_delete_sec_context(OM_uint32 *minor, gss_ctx_id_t *ctx, gss_buffer_t out)
{
    GSS_CALL(gss_delete_sec_context, minor, ctx, out);
}

OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int type, gss_OID mech,
                             OM_uint32 *msg_ctx, gss_buffer_t text);
OM_uint32
gss_display_status(OM_uint32 *minor, OM_uint32 status, int type, gss_OID mech,
                   OM_uint32 *msg_ctx, gss_buffer_t text)
{
    pthread_once(&gss_once, gss_load);
    if (real_gss_display_status == NULL) {
        /* libpq prints whatever we return and then releases it. */
        *minor = 0;
        *msg_ctx = 0;
        text->value = gss_missing;
        text->length = sizeof(gss_missing) - 1;
        return 0;
    }
    return real_gss_display_status(minor, status, type, mech, msg_ctx, text);
}

OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_t in, gss_OID type, gss_name_t *out);
OM_uint32
gss_import_name(OM_uint32 *minor, gss_buffer_t in, gss_OID type, gss_name_t *out)
{
    GSS_CALL(gss_import_name, minor, in, type, out);
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_cred_id_t cred, gss_ctx_id_t *ctx,
                               gss_name_t target, gss_OID mech, OM_uint32 flags,
                               OM_uint32 time_req, gss_channel_bindings_t cb, gss_buffer_t in,
                               gss_OID *actual, gss_buffer_t out, OM_uint32 *ret_flags,
                               OM_uint32 *time_rec);
OM_uint32
gss_init_sec_context(OM_uint32 *minor, gss_cred_id_t cred, gss_ctx_id_t *ctx,
                     gss_name_t target, gss_OID mech, OM_uint32 flags, OM_uint32 time_req,
                     gss_channel_bindings_t cb, gss_buffer_t in, gss_OID *actual,
                     gss_buffer_t out, OM_uint32 *ret_flags, OM_uint32 *time_rec)
{
    GSS_CALL(gss_init_sec_context, minor, cred, ctx, target, mech, flags, time_req, cb, in,
             actual, out, ret_flags, time_rec);
}

OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_t buf);
OM_uint32
gss_release_buffer(OM_uint32 *minor, gss_buffer_t buf)
{
    if (buf != NULL && buf->value == gss_missing) {
        buf->value = NULL;
        buf->length = 0;
        *minor = 0;
        return 0;
    }
    GSS_CALL(gss_release_buffer, minor, buf);
}

OM_uint32 gss_release_cred(OM_uint32 *minor, gss_cred_id_t *cred);
OM_uint32
gss_release_cred(OM_uint32 *minor, gss_cred_id_t *cred)
{
    GSS_CALL(gss_release_cred, minor, cred);
}

OM_uint32 gss_release_name(OM_uint32 *minor, gss_name_t *name);
OM_uint32
gss_release_name(OM_uint32 *minor, gss_name_t *name)
{
    GSS_CALL(gss_release_name, minor, name);
}

OM_uint32 gss_unwrap(OM_uint32 *minor, gss_ctx_id_t ctx, gss_buffer_t in, gss_buffer_t out,
                     int *conf, gss_qop_t *qop);
OM_uint32
gss_unwrap(OM_uint32 *minor, gss_ctx_id_t ctx, gss_buffer_t in, gss_buffer_t out, int *conf,
           gss_qop_t *qop)
{
    GSS_CALL(gss_unwrap, minor, ctx, in, out, conf, qop);
}

OM_uint32 gss_wrap(OM_uint32 *minor, gss_ctx_id_t ctx, int conf_req, gss_qop_t qop,
                   gss_buffer_t in, int *conf, gss_buffer_t out);
OM_uint32
gss_wrap(OM_uint32 *minor, gss_ctx_id_t ctx, int conf_req, gss_qop_t qop, gss_buffer_t in,
         int *conf, gss_buffer_t out)
{
    GSS_CALL(gss_wrap, minor, ctx, conf_req, qop, in, conf, out);
}

OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, gss_ctx_id_t ctx, int conf_req, gss_qop_t qop,
                              OM_uint32 req_out, OM_uint32 *max_in);
OM_uint32
gss_wrap_size_limit(OM_uint32 *minor, gss_ctx_id_t ctx, int conf_req, gss_qop_t qop,
                    OM_uint32 req_out, OM_uint32 *max_in)
{
    GSS_CALL(gss_wrap_size_limit, minor, ctx, conf_req, qop, req_out, max_in);
}

/*
 * An LDAP call whose library is missing fails as if the server could not be
 * reached: libpq then reports that the service lookup failed.
 */
#define LDAP_CALL(name, fail, ...)                                                       \
    do {                                                                                 \
        pthread_once(&ldap_once, ldap_load);                                             \
        if (real_##name == NULL)                                                         \
            return fail;                                                                 \
        return real_##name(__VA_ARGS__);                                                 \
    } while (0)

#define LDAP_SERVER_DOWN (-1)

LDAP *ldap_init(const char *host, int port);
LDAP *
ldap_init(const char *host, int port)
{
    LDAP_CALL(ldap_init, NULL, host, port);
}

int ldap_set_option(LDAP *ld, int option, const void *value);
int
ldap_set_option(LDAP *ld, int option, const void *value)
{
    LDAP_CALL(ldap_set_option, LDAP_SERVER_DOWN, ld, option, value);
}

int ldap_simple_bind(LDAP *ld, const char *who, const char *passwd);
int
ldap_simple_bind(LDAP *ld, const char *who, const char *passwd)
{
    LDAP_CALL(ldap_simple_bind, -1, ld, who, passwd);
}

int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **res);
int
ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **res)
{
    LDAP_CALL(ldap_result, -1, ld, msgid, all, timeout, res);
}

int ldap_search_st(LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
                   int attrsonly, struct timeval *timeout, LDAPMessage **res);
int
ldap_search_st(LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
               int attrsonly, struct timeval *timeout, LDAPMessage **res)
{
    LDAP_CALL(ldap_search_st, LDAP_SERVER_DOWN, ld, base, scope, filter, attrs, attrsonly,
              timeout, res);
}

int ldap_count_entries(LDAP *ld, LDAPMessage *chain);
int
ldap_count_entries(LDAP *ld, LDAPMessage *chain)
{
    LDAP_CALL(ldap_count_entries, -1, ld, chain);
}

LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain);
LDAPMessage *
ldap_first_entry(LDAP *ld, LDAPMessage *chain)
{
    LDAP_CALL(ldap_first_entry, NULL, ld, chain);
}

struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, const char *attr);
struct berval **
ldap_get_values_len(LDAP *ld, LDAPMessage *entry, const char *attr)
{
    LDAP_CALL(ldap_get_values_len, NULL, ld, entry, attr);
}

void ldap_value_free_len(struct berval **vals);
void
ldap_value_free_len(struct berval **vals)
{
    pthread_once(&ldap_once, ldap_load);
    if (real_ldap_value_free_len != NULL)
        real_ldap_value_free_len(vals);
}

int ldap_msgfree(LDAPMessage *lm);
int
ldap_msgfree(LDAPMessage *lm)
{
    LDAP_CALL(ldap_msgfree, -1, lm);
}

int ldap_unbind(LDAP *ld);
int
ldap_unbind(LDAP *ld)
{
    LDAP_CALL(ldap_unbind, -1, ld);
}

char *ldap_err2string(int err);
char *
ldap_err2string(int err)
{
    /* cppcheck-suppress variableScope ; used inside the macro */
    static char missing[] = "LDAP library libldap-2.5.so.0 is not installed";

    LDAP_CALL(ldap_err2string, missing, err);
}

/* --- OpenSSL ------------------------------------------------------------------ */

#ifdef PGMEDIC_LAZY_OPENSSL

#include "util/lazylib.h"

/*
 * libpq's and libpgcommon's calls into libssl and libcrypto are the stubs
 * that scripts/lazystubs.sh generated into gen/lazy_openssl.S (the Makefile
 * runs it on the archives): OpenSSL is loaded on the first TLS handshake,
 * SCRAM or MD5 exchange, or strong random number libpq asks for.  Over a
 * unix socket with peer or trust authentication it is never loaded.
 */
extern const char pgm_lazy_openssl_soname[];
extern const char *const pgm_lazy_openssl_names[];
extern void *pgm_lazy_openssl_slots[];
extern LazyLib pgm_lazy_openssl;

LazyLib pgm_lazy_openssl =
    LAZYLIB_INIT(pgm_lazy_openssl_soname,
                 "TLS connections and password authentication (SCRAM, MD5) to PostgreSQL",
                 pgm_lazy_openssl_names, pgm_lazy_openssl_slots, NULL);

#endif /* PGMEDIC_LAZY_OPENSSL */

#else

/* ISO C forbids an empty translation unit. */
typedef int libpq_lazy_unused;

#endif /* PGMEDIC_STATIC_LIBPQ */
