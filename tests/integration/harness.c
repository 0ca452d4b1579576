/*
 * harness.c - see harness.h.
 *
 * Processes are run with fork/execve, never through a shell, so no argument
 * needs quoting.  Admin work (terminating backends, polling pg_stat_activity)
 * uses short-lived superuser connections whose backends are waited for before
 * returning: tests that count client backends never see a harness backend.
 */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

extern char **environ;

struct HSession
{
    PGconn *conn;
    int pid;
    HSession *next;
};

/* ----------------------------------------------------------------- misc */

static void hlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
hlog(const char *fmt, ...)
{
    va_list ap;

    fputs("harness: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double
h_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
h_slowdown(void)
{
    static double factor;

    if (factor == 0)
    {
        const char *s = getenv("PGMEDIC_SLOW");
        char *end = NULL;
        double f = s != NULL ? strtod(s, &end) : 1.0;

        factor = s != NULL && end != s && *end == '\0' && f >= 1.0 && f <= 1000.0 ? f : 1.0;
    }
    return factor;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
    {
    }
}

static char *
xstrdup(const char *s)
{
    char *d = strdup(s);

    if (d == NULL)
    {
        hlog("out of memory");
        abort();
    }
    return d;
}

static void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL)
    {
        hlog("out of memory");
        abort();
    }
    return q;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t
h_count_lines(const char *text)
{
    size_t n = 0;
    const char *p;

    if (text == NULL || *text == '\0')
        return 0;
    for (p = text; *p; p++)
        if (*p == '\n')
            n++;
    if (p[-1] != '\n')
        n++;
    return n;
}

size_t
h_count_substr(const char *text, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    const char *p = text;

    if (text == NULL || len == 0)
        return 0;
    while ((p = strstr(p, needle)) != NULL)
    {
        n++;
        p += len;
    }
    return n;
}

/* ---------------------------------------------------------------- paths */

const char *
h_srcdir(void)
{
    static char cwd[H_PATH_MAX];
    const char *s = getenv("PGMEDIC_SRCDIR");

    if (s != NULL && *s != '\0')
        return s;
    if (cwd[0] == '\0' && getcwd(cwd, sizeof(cwd)) == NULL)
        copy_str(cwd, sizeof(cwd), ".");
    return cwd;
}

const char *
h_bin(void)
{
    static char bin[H_PATH_MAX];
    const char *s = getenv("PGMEDIC_BIN");

    if (s != NULL && *s != '\0')
        return s;
    if (bin[0] == '\0')
        snprintf(bin, sizeof(bin), "%s/build/pgmedic", h_srcdir());
    return bin;
}

static char tmproot[H_PATH_MAX];
static bool tmproot_owned;

static int run_tool(HRun *r, const char *const *argv, double timeout_s);

static void
tmproot_cleanup(void)
{
    HRun r;

    if (!tmproot_owned)
        return;
    {
        char tool[H_PATH_MAX];
        snprintf(tool, sizeof(tool), "%s/scripts/tmp-pg", h_srcdir());
        const char *const stop[] = {tool, "stop-all", tmproot, NULL};
        if (run_tool(&r, stop, 60.0) == 0)
            h_run_free(&r);
    }
    {
        const char *const rm[] = {"/bin/rm", "-rf", tmproot, NULL};
        if (run_tool(&r, rm, 60.0) == 0)
            h_run_free(&r);
    }
}

const char *
h_tmproot(void)
{
    const char *s;

    if (tmproot[0] != '\0')
        return tmproot;
    s = getenv("PGMEDIC_TEST_TMP");
    if (s != NULL && *s != '\0')
    {
        copy_str(tmproot, sizeof(tmproot), s);
        if (mkdir(tmproot, 0755) == -1 && errno != EEXIST)
            hlog("could not create \"%s\": %s", tmproot, strerror(errno));
        return tmproot;
    }
    copy_str(tmproot, sizeof(tmproot), "/tmp/pgmedic-itest.XXXXXX");
    if (mkdtemp(tmproot) == NULL)
    {
        hlog("could not create a temporary directory: %s", strerror(errno));
        copy_str(tmproot, sizeof(tmproot), "/tmp");
        return tmproot;
    }
    /* As root the server runs as "postgres", which must traverse this. */
    chmod(tmproot, 0755);
    tmproot_owned = true;
    atexit(tmproot_cleanup);
    return tmproot;
}

char *
h_write_tmpfile(const char *tag, const char *text)
{
    char path[H_PATH_MAX];
    size_t len = strlen(text), done = 0;
    int fd, n_path;

    n_path = snprintf(path, sizeof(path), "%s/%s.XXXXXX", h_tmproot(), tag);
    if (n_path < 0 || (size_t)n_path >= sizeof(path))
    {
        hlog("path too long under \"%s\"", h_tmproot());
        return NULL;
    }
    fd = mkstemp(path);
    if (fd == -1)
    {
        hlog("could not create \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    while (done < len)
    {
        ssize_t n = write(fd, text + done, len - done);

        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            hlog("could not write \"%s\": %s", path, strerror(errno));
            close(fd);
            return NULL;
        }
        done += (size_t)n;
    }
    fchmod(fd, 0644);
    close(fd);
    return xstrdup(path);
}

char *
h_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;)
    {
        size_t got;

        if (cap - n < 4096)
        {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf == NULL)
        buf = xrealloc(NULL, 1);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* ------------------------------------------------------------ processes */

typedef struct
{
    char *data;
    size_t len, cap;
} Buf;

static void
buf_add(Buf *b, const char *p, size_t n)
{
    if (b->cap - b->len < n + 1)
    {
        size_t cap = b->cap ? b->cap : 4096;

        while (cap - b->len < n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
buf_finish(Buf *b)
{
    if (b->data == NULL)
        buf_add(b, "", 0);
}

/* A mutable NULL-terminated string vector. */
typedef struct
{
    char **v;
    size_t n;
} Vec;

static void
vec_push(Vec *vec, const char *s)
{
    vec->v = xrealloc(vec->v, (vec->n + 2) * sizeof(char *));
    vec->v[vec->n++] = xstrdup(s);
    vec->v[vec->n] = NULL;
}

static void
vec_free(Vec *vec)
{
    for (size_t i = 0; i < vec->n; i++)
        free(vec->v[i]);
    free(vec->v);
    vec->v = NULL;
    vec->n = 0;
}

/* Sets ("NAME=VALUE") or removes ("NAME") an entry of an environment. */
static void
env_put(Vec *env, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t nlen = eq ? (size_t)(eq - entry) : strlen(entry);

    for (size_t i = 0; i < env->n; i++)
    {
        if (strncmp(env->v[i], entry, nlen) == 0 && env->v[i][nlen] == '=')
        {
            free(env->v[i]);
            env->n--;
            env->v[i] = env->v[env->n];
            env->v[env->n] = NULL;
            break;
        }
    }
    if (eq != NULL)
        vec_push(env, entry);
}

static void
env_setf(Vec *env, const char *name, const char *value)
{
    char buf[H_PATH_MAX + 64];

    snprintf(buf, sizeof(buf), "%s=%s", name, value);
    env_put(env, buf);
}

static void
set_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags != -1)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/*
 * The process runner: argv and env are copied; stdout and stderr are read
 * through poll() until both close, with a deadline after which the child's
 * process group is killed.
 */
static int
spawn(HRun *r, const char *const *argv, Vec *env, double timeout_s)
{
    Vec args = {0};
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    Buf bo = {0}, be = {0};
    double start, deadline, drain_deadline = 0;
    bool killed = false;
    pid_t pid;
    int status = 0;

    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
    for (size_t i = 0; argv[i] != NULL; i++)
        vec_push(&args, argv[i]);
    if (args.n == 0)
        return -1;
    if (pipe(out) == -1 || pipe(err) == -1)
    {
        hlog("pipe: %s", strerror(errno));
        goto fail;
    }
    set_cloexec(out[0]);
    set_cloexec(err[0]);
    fflush(NULL);
    start = h_now();
    deadline = start + timeout_s;
    pid = fork();
    if (pid == -1)
    {
        hlog("fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
    {
        int devnull = open("/dev/null", O_RDONLY);

        setpgid(0, 0);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        signal(SIGPIPE, SIG_DFL);
        execve(args.v[0], args.v, env->v);
        dprintf(2, "harness: could not execute \"%s\": %s\n", args.v[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with the child's own call */
    close(out[1]);
    close(err[1]);
    out[1] = err[1] = -1;

    while (out[0] != -1 || err[0] != -1)
    {
        struct pollfd fds[2];
        nfds_t nfds = 0;
        double now = h_now(), left;
        int rc;

        if (!killed && now >= deadline)
        {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
            r->timed_out = true;
            drain_deadline = now + 2.0;
        }
        if (killed && now >= drain_deadline)
            break; /* a grandchild outside the group holds the pipe */
        left = (killed ? drain_deadline : deadline) - now;
        if (out[0] != -1)
            fds[nfds++] = (struct pollfd){.fd = out[0], .events = POLLIN};
        if (err[0] != -1)
            fds[nfds++] = (struct pollfd){.fd = err[0], .events = POLLIN};
        rc = poll(fds, nfds, (int)(left * 1000.0) + 1);
        if (rc < 0)
        {
            if (errno == EINTR)
                continue;
            hlog("poll: %s", strerror(errno));
            break;
        }
        for (nfds_t i = 0; i < nfds; i++)
        {
            char chunk[8192];
            ssize_t n;
            bool is_out = fds[i].fd == out[0];

            if (fds[i].revents == 0)
                continue;
            n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n > 0)
            {
                buf_add(is_out ? &bo : &be, chunk, (size_t)n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            close(fds[i].fd);
            if (is_out)
                out[0] = -1;
            else
                err[0] = -1;
        }
    }
    if (out[0] != -1)
        close(out[0]);
    if (err[0] != -1)
        close(err[0]);
    out[0] = err[0] = -1;

    /* Pipes closed: the child has exited or closed them; wait with the deadline. */
    for (;;)
    {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        if (w == -1 && errno != EINTR)
        {
            hlog("waitpid: %s", strerror(errno));
            break;
        }
        if (!killed && h_now() >= deadline)
        {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
            r->timed_out = true;
        }
        sleep_ms(2);
    }
    r->wall_s = h_now() - start;
    if (WIFEXITED(status))
        r->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r->term_signal = WTERMSIG(status);
    buf_finish(&bo);
    buf_finish(&be);
    r->out = bo.data;
    r->out_len = bo.len;
    r->err = be.data;
    r->err_len = be.len;
    vec_free(&args);
    return 0;

fail:
    for (int i = 0; i < 2; i++)
    {
        if (out[i] != -1)
            close(out[i]);
        if (err[i] != -1)
            close(err[i]);
    }
    free(bo.data);
    free(be.data);
    vec_free(&args);
    return -1;
}

static void
env_inherit(Vec *env, bool strip_pg)
{
    for (char **e = environ; *e != NULL; e++)
    {
        if (strip_pg && strncmp(*e, "PG", 2) == 0)
            continue;
        if (strip_pg && (strncmp(*e, "LC_", 3) == 0 || strncmp(*e, "LANG=", 5) == 0 ||
                         strncmp(*e, "LANGUAGE=", 9) == 0))
            continue;
        vec_push(env, *e);
    }
}

/* A helper tool (tmp-pg, rm) with our environment as it is. */
static int
run_tool(HRun *r, const char *const *argv, double timeout_s)
{
    Vec env = {0};
    int rc;

    env_inherit(&env, false);
    rc = spawn(r, argv, &env, timeout_s);
    vec_free(&env);
    return rc;
}

int
h_exec(HRun *r, const HCluster *c, const char *const *argv, const char *const *env,
       double timeout_s)
{
    Vec e = {0};
    int rc;

    env_inherit(&e, true);
    env_put(&e, "LC_ALL=C");
    if (c != NULL)
    {
        env_setf(&e, "PGHOST", c->host);
        env_setf(&e, "PGPORT", c->port);
        env_setf(&e, "PGUSER", c->user);
        env_setf(&e, "PGDATABASE", "postgres");
    }
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        env_put(&e, env[i]);
    rc = spawn(r, argv, &e, timeout_s);
    vec_free(&e);
    return rc;
}

int
h_run(HRun *r, const HCluster *c, const char *const *args, const char *const *env, double timeout_s)
{
    const char **argv;
    size_t n = 0;
    int rc;

    while (args[n] != NULL)
        n++;
    argv = xrealloc(NULL, (n + 2) * sizeof(*argv));
    argv[0] = h_bin();
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    argv[n + 1] = NULL;
    rc = h_exec(r, c, argv, env, timeout_s * h_slowdown());
    free(argv);
    if (rc == -1)
        hlog("could not run \"%s\"", h_bin());
    return rc;
}

void
h_run_free(HRun *r)
{
    free(r->out);
    free(r->err);
    if (r->json != NULL)
        json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

void
h_run_dump(const HRun *r, const char *what)
{
    fprintf(stderr,
            "harness: %s: exit %d, signal %d%s, %.3f s\n"
            "---- stdout (%zu bytes) ----\n%s%s"
            "---- stderr (%zu bytes) ----\n%s%s"
            "---- end ----\n",
            what, r->exit_code, r->term_signal, r->timed_out ? " (timed out)" : "", r->wall_s,
            r->out_len, r->out ? r->out : "",
            r->out_len && r->out[r->out_len - 1] != '\n' ? "\n" : "", r->err_len,
            r->err ? r->err : "", r->err_len && r->err[r->err_len - 1] != '\n' ? "\n" : "");
}

json_t *
h_run_json(HRun *r)
{
    json_error_t jerr;

    if (r->json != NULL)
        return r->json;
    if (r->out == NULL)
        return NULL;
    r->json = json_loadb(r->out, r->out_len, 0, &jerr);
    if (r->json == NULL)
        hlog("stdout is not JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    return r->json;
}

json_t *
h_assert_json(HRun *r)
{
    json_t *j = h_run_json(r);

    if (j == NULL)
        h_run_dump(r, "stdout is not JSON");
    assert_non_null(j);
    return j;
}

/* ------------------------------------------------------------- clusters */

static const char *
tmp_pg(void)
{
    static char path[H_PATH_MAX];

    if (path[0] == '\0')
        snprintf(path, sizeof(path), "%s/scripts/tmp-pg", h_srcdir());
    return path;
}

static bool
take_line(const char *text, const char *key, char *dst, size_t size)
{
    size_t klen = strlen(key);
    const char *p = text;

    while (p != NULL && *p)
    {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
        {
            const char *v = p + klen + 1, *end = strchr(v, '\n');
            size_t n = end ? (size_t)(end - v) : strlen(v);

            if (n >= size)
                return false;
            memcpy(dst, v, n);
            dst[n] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return false;
}

int
h_cluster_start(HCluster *c, const char *const *sets)
{
    const char *argv[64];
    size_t n = 0;
    HRun r;
    bool ok;

    memset(c, 0, sizeof(*c));
    argv[n++] = tmp_pg();
    argv[n++] = "start";
    argv[n++] = "--root";
    argv[n++] = h_tmproot();
    argv[n++] = "--port-range";
    argv[n++] = H_PORT_RANGE;
    for (size_t i = 0; sets != NULL && sets[i] != NULL && n < 60; i++)
    {
        argv[n++] = "--set";
        argv[n++] = sets[i];
    }
    argv[n] = NULL;
    if (run_tool(&r, argv, 120.0) == -1)
        return -1;
    if (r.exit_code != 0)
    {
        h_run_dump(&r, "tmp-pg start failed");
        h_run_free(&r);
        return -1;
    }
    ok = take_line(r.out, "PGT_DIR", c->dir, sizeof(c->dir)) &&
         take_line(r.out, "PGT_DATA", c->data, sizeof(c->data)) &&
         take_line(r.out, "PGT_LOG", c->log, sizeof(c->log)) &&
         take_line(r.out, "PGHOST", c->host, sizeof(c->host)) &&
         take_line(r.out, "PGPORT", c->port, sizeof(c->port)) &&
         take_line(r.out, "PGUSER", c->user, sizeof(c->user));
    if (!ok)
    {
        h_run_dump(&r, "tmp-pg start printed no complete assignment list");
        h_run_free(&r);
        return -1;
    }
    h_run_free(&r);
    c->running = true;
    return 0;
}

pid_t
h_cluster_pid(const HCluster *c)
{
    char path[H_PATH_MAX + 32];
    char *text;
    long pid;
    char *end;

    if (c->data[0] == '\0')
        return -1;
    snprintf(path, sizeof(path), "%s/postmaster.pid", c->data);
    text = h_read_file(path, NULL);
    if (text == NULL)
        return -1;
    errno = 0;
    pid = strtol(text, &end, 10);
    free(text);
    if (errno != 0 || end == text || pid <= 0)
        return -1;
    return (pid_t)pid;
}

size_t
h_cluster_pids(const HCluster *c, pid_t *out, size_t max)
{
    pid_t pm = h_cluster_pid(c);
    DIR *dir;
    struct dirent *e;
    size_t n = 0;

    if (pm <= 0)
        return 0;
    out[n++] = pm;
    dir = opendir("/proc");
    while (dir != NULL && (e = readdir(dir)) != NULL && n < max)
    {
        char path[300], buf[512], *p;
        FILE *f;
        long ppid;

        if (!isdigit((unsigned char) e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL)
            continue;
        /* The command name may hold ')': after its last one come state, then ppid. */
        if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
            sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == pm)
            out[n++] = (pid_t) atol(e->d_name);
        fclose(f);
    }
    if (dir != NULL)
        closedir(dir);
    return n;
}

void
h_cluster_stop(HCluster *c)
{
    pid_t pid;
    HRun r;

    if (c->dir[0] == '\0')
        return;
    pid = h_cluster_pid(c);
    if (pid > 0)
        kill(pid, SIGCONT);
    h_sessions_close(c);
    /* A fast shutdown takes 0.1 s here, tmp-pg's immediate one 1.4 s; tmp-pg
     * stop then only removes the directory (or kills what is left). */
    if (h_cluster_pid(c) > 0)
    {
        const char *const argv[] = {tmp_pg(), "ctl", c->dir, "stop", "-m", "fast",
                                    "-w",     "-t",  "10",   "-s",   NULL};
        if (run_tool(&r, argv, 30.0) == 0)
            h_run_free(&r);
    }
    {
        const char *const argv[] = {tmp_pg(), "stop", c->dir, NULL};
        if (run_tool(&r, argv, 60.0) == 0)
        {
            if (r.exit_code != 0)
                h_run_dump(&r, "tmp-pg stop failed");
            h_run_free(&r);
        }
    }
    c->running = false;
    c->dir[0] = '\0';
}

int
h_cluster_ctl(HCluster *c, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    HRun r;
    int code;

    argv[n++] = tmp_pg();
    argv[n++] = "ctl";
    argv[n++] = c->dir;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (run_tool(&r, argv, 60.0) == -1)
        return -1;
    if (r.exit_code != 0)
        h_run_dump(&r, "tmp-pg ctl failed");
    code = r.exit_code;
    h_run_free(&r);
    return code;
}

size_t
h_log_size(const HCluster *c)
{
    struct stat st;

    if (stat(c->log, &st) == -1)
        return 0;
    return (size_t)st.st_size;
}

char *
h_log_since(const HCluster *c, size_t offset)
{
    size_t len = 0;
    char *all = h_read_file(c->log, &len);
    char *part;

    if (all == NULL)
        return xstrdup("");
    if (offset > len)
        offset = len;
    part = xstrdup(all + offset);
    free(all);
    return part;
}

/* ------------------------------------------------------------- sessions */

bool
h_wait_pid_gone(pid_t pid, double timeout_s)
{
    double deadline = h_now() + timeout_s;
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (;;)
    {
        char *stat_text = h_read_file(path, NULL);
        bool gone = stat_text == NULL;

        if (!gone)
        {
            /* A zombie has left pg_stat_activity already: count it as gone. */
            const char *paren = strrchr(stat_text, ')');

            gone = paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
            free(stat_text);
        }
        if (gone)
            return true;
        if (h_now() >= deadline)
            return false;
        sleep_ms(5);
    }
}

static PGconn *
connect_opts(const HCluster *c, const HConnOpts *o)
{
    const char *keys[12], *vals[12];
    int n = 0;
    PGconn *conn;

    keys[n] = "host";
    vals[n++] = (o && o->tcp) ? "127.0.0.1" : c->host;
    keys[n] = "port";
    vals[n++] = c->port;
    keys[n] = "user";
    vals[n++] = (o && o->user) ? o->user : c->user;
    keys[n] = "dbname";
    vals[n++] = (o && o->dbname) ? o->dbname : "postgres";
    keys[n] = "application_name";
    vals[n++] = (o && o->application_name) ? o->application_name : "harness";
    keys[n] = "connect_timeout";
    vals[n++] = "10";
    if (o && o->password)
    {
        keys[n] = "password";
        vals[n++] = o->password;
    }
    keys[n] = NULL;
    vals[n] = NULL;
    conn = PQconnectdbParams(keys, vals, 0);
    return conn;
}

static void
trim_nl(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static void admin_close(PGconn *conn);

/* A superuser connection for harness work; retried while slots are full. */
static PGconn *
admin_connect_q(const HCluster *c, bool quiet)
{
    HConnOpts o = {.application_name = "harness-admin"};
    double deadline = h_now() + 10.0;

    for (;;)
    {
        PGconn *conn = connect_opts(c, &o);
        char msg[512];

        if (PQstatus(conn) == CONNECTION_OK)
            return conn;
        copy_str(msg, sizeof(msg), PQerrorMessage(conn));
        trim_nl(msg);
        PQfinish(conn);
        if (h_now() >= deadline ||
            (strstr(msg, "too many clients") == NULL && strstr(msg, "reserved") == NULL &&
             strstr(msg, "starting up") == NULL))
        {
            if (!quiet)
                hlog("admin connection failed: %s", msg);
            return NULL;
        }
        sleep_ms(20);
    }
}

static PGconn *
admin_connect(const HCluster *c)
{
    return admin_connect_q(c, false);
}

bool
h_wait_conn_error(const HCluster *c, const HConnOpts *opts, const char *needle, double timeout_s)
{
    double deadline = h_now() + timeout_s;
    char last[512] = "";

    for (;;)
    {
        PGconn *conn = connect_opts(c, opts);
        bool failed = PQstatus(conn) != CONNECTION_OK;

        copy_str(last, sizeof(last), PQerrorMessage(conn));
        trim_nl(last);
        if (!failed)
            admin_close(conn);
        else
            PQfinish(conn);
        if (failed && strstr(last, needle) != NULL)
            return true;
        if (h_now() >= deadline)
        {
            hlog("no connection error with \"%s\" in %.1f s; last: %s", needle, timeout_s,
                 failed ? last : "(connected)");
            return false;
        }
        sleep_ms(20);
    }
}

static void
admin_close(PGconn *conn)
{
    int pid;

    if (conn == NULL)
        return;
    pid = PQbackendPID(conn);
    PQfinish(conn);
    if (pid > 0 && !h_wait_pid_gone(pid, 10.0))
        hlog("admin backend %d did not exit", pid);
}

static void
track(HCluster *c, PGconn *conn)
{
    HSession *s = xrealloc(NULL, sizeof(*s));

    s->conn = conn;
    s->pid = PQbackendPID(conn);
    s->next = c->sessions;
    c->sessions = s;
}

PGconn *
h_session_open(HCluster *c, const HConnOpts *opts)
{
    double deadline = h_now() + 5.0;

    for (;;)
    {
        PGconn *conn = connect_opts(c, opts);
        char msg[512];

        if (PQstatus(conn) == CONNECTION_OK)
        {
            track(c, conn);
            return conn;
        }
        copy_str(msg, sizeof(msg), PQerrorMessage(conn));
        trim_nl(msg);
        PQfinish(conn);
        /* A backend that was just refused (by pgmedic's test) holds its slot
         * until it has exited: a full server is retried for a while. */
        if (h_now() >= deadline ||
            (strstr(msg, "too many clients") == NULL && strstr(msg, "reserved") == NULL))
        {
            hlog("could not open a session: %s", msg);
            return NULL;
        }
        sleep_ms(20);
    }
}

int
h_sessions_open_idle(HCluster *c, int n, const char *application_name, bool tcp, const char *user)
{
    HConnOpts o = {.application_name = application_name, .tcp = tcp, .user = user};
    int opened = 0;

    for (int i = 0; i < n; i++)
    {
        if (h_session_open(c, &o) == NULL)
            break;
        opened++;
    }
    return opened;
}

PGconn *
h_session_idle_in_transaction(HCluster *c, const char *application_name, bool aborted)
{
    HConnOpts o = {.application_name = application_name};
    PGconn *conn = h_session_open(c, &o);
    PGresult *res;
    ExecStatusType want = aborted ? PGRES_FATAL_ERROR : PGRES_TUPLES_OK;

    if (conn == NULL)
        return NULL;
    res = PQexec(conn, aborted ? "BEGIN; SELECT 1 / 0" : "BEGIN; SELECT txid_current()");
    if (PQresultStatus(res) != want)
    {
        hlog("could not leave a session idle in transaction: %s", PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    PQclear(res);
    return conn;
}

PGconn *
h_session_send(HCluster *c, const char *application_name, const char *sql)
{
    HConnOpts o = {.application_name = application_name};
    PGconn *conn = h_session_open(c, &o);

    if (conn == NULL)
        return NULL;
    if (!PQsendQuery(conn, sql))
    {
        hlog("could not send \"%s\": %s", sql, PQerrorMessage(conn));
        return NULL;
    }
    return conn;
}

static bool
wait_lock(HCluster *c, int pid)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
             "WHERE pid = %d AND wait_event_type = 'Lock'",
             pid);
    return h_wait_sql(c, sql, 10.0);
}

int
h_lock_chain(HCluster *c, const char *application_name, int pids[3])
{
    HConnOpts o = {.application_name = application_name};
    PGconn *a, *b, *cc;
    PGresult *res;

    if (h_sql(c, "CREATE TABLE IF NOT EXISTS pgmedic_chain_a (id int PRIMARY KEY, v int);"
                 "CREATE TABLE IF NOT EXISTS pgmedic_chain_b (id int);"
                 "INSERT INTO pgmedic_chain_a VALUES (1, 0) ON CONFLICT DO NOTHING") != 0)
        return -1;
    a = h_session_open(c, &o);
    if (a == NULL)
        return -1;
    res = PQexec(a, "BEGIN; UPDATE pgmedic_chain_a SET v = v + 1 WHERE id = 1");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        hlog("lock chain: blocker failed: %s", PQerrorMessage(a));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    b = h_session_send(c, application_name,
                       "BEGIN; LOCK TABLE pgmedic_chain_b IN ACCESS EXCLUSIVE MODE; "
                       "UPDATE pgmedic_chain_a SET v = v + 1 WHERE id = 1");
    if (b == NULL || !wait_lock(c, PQbackendPID(b)))
    {
        hlog("lock chain: the second session does not wait on a lock");
        return -1;
    }
    cc = h_session_send(c, application_name, "SELECT count(*) FROM pgmedic_chain_b");
    if (cc == NULL || !wait_lock(c, PQbackendPID(cc)))
    {
        hlog("lock chain: the third session does not wait on a lock");
        return -1;
    }
    pids[0] = PQbackendPID(a);
    pids[1] = PQbackendPID(b);
    pids[2] = PQbackendPID(cc);
    return 0;
}

int
h_sessions_close(HCluster *c)
{
    PGconn *admin;
    PGresult *res;
    bool ok;
    pid_t pm;

    while (c->sessions != NULL)
    {
        HSession *s = c->sessions;

        c->sessions = s->next;
        PQfinish(s->conn);
        free(s);
    }
    pm = h_cluster_pid(c);
    if (pm <= 0)
        return 0;      /* stopped: nothing lingers */
    kill(pm, SIGCONT); /* a test may have stopped it */
    admin = admin_connect_q(c, true);
    if (admin == NULL)
    {
        /* Shutting down or gone meanwhile: no session can linger either. */
        if (h_cluster_pid(c) <= 0 || h_wait_pid_gone(pm, 2.0))
            return 0;
        admin = admin_connect(c);
        if (admin == NULL)
            return -1;
    }
    /* Every other client: closed sessions still busy in a query (pg_sleep,
     * lock waits) would otherwise stay until the query ends. */
    res = PQexec(admin,
                 "SELECT pg_catalog.pg_terminate_backend(pid) "
                 "FROM pg_catalog.pg_stat_activity "
                 "WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        hlog("could not terminate sessions: %s", PQerrorMessage(admin));
    PQclear(res);
    admin_close(admin);
    ok = h_wait_clients(c, 0, 10.0);
    if (!ok)
        hlog("client backends remain after closing the sessions");
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------ admin SQL */

int
h_sql(HCluster *c, const char *sql)
{
    PGconn *admin = admin_connect(c);
    PGresult *res;
    int rc = 0;

    if (admin == NULL)
        return -1;
    res = PQexec(admin, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        hlog("\"%s\" failed: %s", sql, PQerrorMessage(admin));
        rc = -1;
    }
    PQclear(res);
    admin_close(admin);
    return rc;
}

char *
h_sql_value(HCluster *c, const char *sql)
{
    PGconn *admin = admin_connect(c);
    PGresult *res;
    char *v = NULL;

    if (admin == NULL)
        return NULL;
    res = PQexec(admin, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0)
        v = xstrdup(PQgetvalue(res, 0, 0));
    else
        hlog("\"%s\" failed: %s", sql, PQerrorMessage(admin));
    PQclear(res);
    admin_close(admin);
    return v;
}

bool
h_wait_sql(HCluster *c, const char *sql, double timeout_s)
{
    double deadline = h_now() + timeout_s * h_slowdown();
    PGconn *admin = admin_connect(c);
    bool held = false;

    if (admin == NULL)
        return false;
    for (;;)
    {
        PGresult *res = PQexec(admin, sql);

        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 1)
        {
            hlog("\"%s\" failed: %s", sql, PQerrorMessage(admin));
            PQclear(res);
            break;
        }
        held = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (held || h_now() >= deadline)
            break;
        sleep_ms(20);
    }
    admin_close(admin);
    if (!held)
        hlog("condition not reached in %.1f s: %s", timeout_s, sql);
    return held;
}

bool
h_wait_clients(HCluster *c, long n, double timeout_s)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = %ld FROM pg_catalog.pg_stat_activity "
             "WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()",
             n);
    return h_wait_sql(c, sql, timeout_s);
}

/* ---------------------------------------------------------------- JSON */

json_t *
h_json_get(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;

    if (path == NULL || *path == '\0')
        return root;
    while (cur != NULL && *p)
    {
        char seg[256];
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);

        if (n >= sizeof(seg))
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (json_is_object(cur))
            cur = json_object_get(cur, seg);
        else if (json_is_array(cur))
        {
            char *end;
            unsigned long idx = strtoul(seg, &end, 10);

            if (*end != '\0' || end == seg)
                return NULL;
            cur = json_array_get(cur, idx);
        }
        else
            return NULL;
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *
h_json_str(json_t *root, const char *path)
{
    json_t *v = h_json_get(root, path);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

double
h_json_num(json_t *root, const char *path)
{
    json_t *v = h_json_get(root, path);

    return json_is_number(v) ? json_number_value(v) : NAN;
}

long long
h_json_int(json_t *root, const char *path)
{
    json_t *v = h_json_get(root, path);

    return json_is_integer(v) ? json_integer_value(v) : LLONG_MIN;
}

int
h_json_bool(json_t *root, const char *path)
{
    json_t *v = h_json_get(root, path);

    if (!json_is_boolean(v))
        return -1;
    return json_is_true(v) ? 1 : 0;
}

bool
h_json_is_null(json_t *root, const char *path)
{
    return json_is_null(h_json_get(root, path));
}

long
h_json_len(json_t *root, const char *path)
{
    json_t *v = h_json_get(root, path);

    return json_is_array(v) ? (long)json_array_size(v) : -1;
}

json_t *
h_json_find_str(json_t *root, const char *path, const char *key, const char *value)
{
    json_t *arr = h_json_get(root, path);
    size_t i;
    json_t *el;

    if (!json_is_array(arr))
        return NULL;
    json_array_foreach(arr, i, el)
    {
        json_t *v = json_object_get(el, key);

        if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
            return el;
    }
    return NULL;
}

json_t *
h_json_find_int(json_t *root, const char *path, const char *key, long long value)
{
    json_t *arr = h_json_get(root, path);
    size_t i;
    json_t *el;

    if (!json_is_array(arr))
        return NULL;
    json_array_foreach(arr, i, el)
    {
        json_t *v = json_object_get(el, key);

        if (json_is_integer(v) && json_integer_value(v) == value)
            return el;
    }
    return NULL;
}

json_t *
h_alert(json_t *root, const char *name)
{
    return h_json_find_str(root, "alerts", "name", name);
}

long
h_json_ints(json_t *root, const char *path, long long *out, size_t max)
{
    json_t *arr = h_json_get(root, path);
    size_t i;
    json_t *el;

    if (!json_is_array(arr))
        return -1;
    json_array_foreach(arr, i, el)
    {
        if (!json_is_integer(el))
            return -1;
        if (i < max)
            out[i] = json_integer_value(el);
    }
    return (long)json_array_size(arr);
}

/* ------------------------------------------------- pgmedic-specific checks */

void
h_assert_usage_error(HRun *r, const char *needle)
{
    static const char prefix[] = "pgmedic: error: ";
    const char *nl;
    size_t first_len;
    bool ok;

    ok = !r->timed_out && r->term_signal == 0 && r->exit_code == 3 && r->out_len == 0 &&
         strncmp(r->err, prefix, sizeof(prefix) - 1) == 0 &&
         h_count_substr(r->err, "pgmedic: error:") == 1 &&
         (needle == NULL || strstr(r->err, needle) != NULL);
    if (!ok)
        h_run_dump(r, needle ? needle : "usage error expected");
    assert_false(r->timed_out);
    assert_int_equal(r->term_signal, 0);
    assert_int_equal(r->exit_code, 3);
    assert_int_equal(r->out_len, 0);
    assert_memory_equal(r->err, prefix, sizeof(prefix) - 1);
    assert_int_equal(h_count_substr(r->err, "pgmedic: error:"), 1);
    if (needle != NULL)
        H_ASSERT_CONTAINS(r->err, needle);
    /* The primary message: lower-case start, one line, no final period. */
    nl = strchr(r->err, '\n');
    first_len = nl ? (size_t)(nl - r->err) : strlen(r->err);
    assert_true(first_len > sizeof(prefix) - 1);
    if (r->err[sizeof(prefix) - 1] >= 'A' && r->err[sizeof(prefix) - 1] <= 'Z')
        h_run_dump(r, "the primary message starts with a capital");
    assert_false(r->err[sizeof(prefix) - 1] >= 'A' && r->err[sizeof(prefix) - 1] <= 'Z');
    if (r->err[first_len - 1] == '.')
        h_run_dump(r, "the primary message ends with a period");
    assert_true(r->err[first_len - 1] != '.');
}

void
h_assert_usage_hint(HRun *r)
{
    H_ASSERT_CONTAINS(r->err, "\npgmedic: hint: Try \"pgmedic --help\" for more information.\n");
}

json_t *
h_assert_unreachable(HRun *r, const char *failure)
{
    json_t *j;
    const char *got, *msg;

    H_ASSERT_EXIT(r, 2);
    j = H_JSON(r);
    got = h_json_str(j, "status.failure");
    msg = h_json_str(j, "status.message");
    if (h_json_bool(j, "status.reachable") != 0 || got == NULL || strcmp(got, failure) != 0 ||
        msg == NULL || h_json_len(j, "alerts") != 1)
        h_run_dump(r, failure);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_non_null(got);
    assert_string_equal(got, failure);
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_int_equal(h_json_len(j, "alerts"), 1);
    assert_string_equal(h_json_str(j, "alerts.0.name"), "DatabaseConnectionFailure");
    assert_string_equal(h_json_str(j, "alerts.0.severity"), "critical");
    /* A result, not an error of pgmedic's. */
    H_ASSERT_NOT_CONTAINS(r->err, "pgmedic: error:");
    return j;
}

json_t *
h_assert_alert(HRun *r, const char *name, const char *severity)
{
    json_t *j = H_JSON(r);
    json_t *a = h_alert(j, name);
    json_t *sev = json_object_get(a, "severity");

    if (a == NULL || !json_is_string(sev) || strcmp(json_string_value(sev), severity) != 0)
    {
        fprintf(stderr, "harness: expected alert %s (%s)\n", name, severity);
        h_run_dump(r, "alert missing");
    }
    assert_non_null(a);
    assert_true(json_is_string(sev));
    assert_string_equal(json_string_value(sev), severity);
    return a;
}

void
h_assert_header(HRun *r, const char *dbname, const char *host, const char *port)
{
    json_t *j = H_JSON(r);
    char target[2 * H_PATH_MAX];
    const char *taken_at = h_json_str(j, "taken_at");
    regex_t re;

    snprintf(target, sizeof(target), "%s@%s:%s", dbname, host, port);
    assert_true(json_is_integer(json_object_get(j, "pgmedic")));
    assert_int_equal(json_integer_value(json_object_get(j, "pgmedic")), 1);
    assert_non_null(h_json_str(j, "target"));
    assert_string_equal(h_json_str(j, "target"), target);
    assert_non_null(taken_at);
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                             "(\\.[0-9]{1,9})?Z$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    if (regexec(&re, taken_at, 0, NULL, 0) != 0)
        fprintf(stderr, "harness: taken_at \"%s\" is not ISO-8601 UTC\n", taken_at);
    assert_int_equal(regexec(&re, taken_at, 0, NULL, 0), 0);
    regfree(&re);
}

void
h_assert_first_line(HRun *r, const char *prefix)
{
    if (strncmp(r->out, prefix, strlen(prefix)) != 0)
        h_run_dump(r, prefix);
    assert_memory_equal(r->out, prefix, strlen(prefix));
}

/* --------------------------------------------------------------- daemons */

#define H_MAX_DAEMONS 16
static pid_t daemons[H_MAX_DAEMONS];

static void
daemons_cleanup(void)
{
    for (int i = 0; i < H_MAX_DAEMONS; i++)
        if (daemons[i] > 0)
        {
            kill(-daemons[i], SIGKILL);
            kill(daemons[i], SIGKILL);
            waitpid(daemons[i], NULL, 0);
            daemons[i] = 0;
        }
}

static void
daemon_forget(pid_t pid)
{
    for (int i = 0; i < H_MAX_DAEMONS; i++)
        if (daemons[i] == pid)
            daemons[i] = 0;
}

int
h_daemon_start(HDaemon *d, const HCluster *c, const char *const *argv, const char *const *env)
{
    static bool registered;
    static int seq;
    Vec e = {0};
    int fd, slot = -1;
    pid_t pid;

    memset(d, 0, sizeof(*d));
    for (int i = 0; i < H_MAX_DAEMONS; i++)
        if (daemons[i] == 0)
            slot = i;
    if (slot < 0)
    {
        hlog("too many daemons");
        return -1;
    }
    if (snprintf(d->log, sizeof(d->log), "%s/daemon-%d-%d.log", h_tmproot(), (int) getpid(),
                 ++seq) >= (int) sizeof(d->log))
    {
        hlog("temp dir path too long");
        return -1;
    }
    fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        hlog("could not create %s: %s", d->log, strerror(errno));
        return -1;
    }
    env_inherit(&e, true);
    env_put(&e, "LC_ALL=C");
    if (c != NULL)
    {
        env_setf(&e, "PGHOST", c->host);
        env_setf(&e, "PGPORT", c->port);
        env_setf(&e, "PGUSER", c->user);
        env_setf(&e, "PGDATABASE", "postgres");
    }
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        env_put(&e, env[i]);
    if (!registered)
    {
        atexit(daemons_cleanup);
        registered = true;
    }
    pid = fork();
    if (pid < 0)
    {
        hlog("could not fork: %s", strerror(errno));
        close(fd);
        vec_free(&e);
        return -1;
    }
    if (pid == 0)
    {
        int null = open("/dev/null", O_RDONLY);

        setpgid(0, 0);
        dup2(null, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execve(argv[0], (char *const *) (uintptr_t) argv, e.v);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fd);
    vec_free(&e);
    d->pid = pid;
    daemons[slot] = pid;
    return 0;
}

bool
h_daemon_wait(HDaemon *d, double timeout_s)
{
    double until = h_now() + timeout_s * h_slowdown();

    if (d->pid <= 0)
        return true;
    for (;;)
    {
        int status;
        pid_t done = waitpid(d->pid, &status, WNOHANG);

        if (done == d->pid)
        {
            d->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            daemon_forget(d->pid);
            kill(-d->pid, SIGKILL); /* whatever it left behind in its group */
            d->pid = 0;
            return true;
        }
        if (h_now() >= until)
            return false;
        sleep_ms(20);
    }
}

void
h_daemon_stop(HDaemon *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGCONT);
    kill(d->pid, SIGTERM);
    if (!h_daemon_wait(d, 10.0))
    {
        kill(-d->pid, SIGKILL);
        kill(d->pid, SIGKILL);
        h_daemon_wait(d, 10.0);
    }
}

char *
h_daemon_log(const HDaemon *d)
{
    char *text = h_read_file(d->log, NULL);

    return text != NULL ? text : xstrdup("");
}

long
h_pgmedic_backends(HCluster *c)
{
    /* The harness's own admin session is "harness-admin": not counted. */
    char *v = h_sql_value(c, "SELECT count(*) FROM pg_catalog.pg_stat_activity "
                             "WHERE application_name = 'pgmedic'");
    long n = v ? strtol(v, NULL, 10) : -1;

    free(v);
    return n;
}

char *
h_replace_all(const char *text, const char *from, const char *to)
{
    size_t n = h_count_substr(text, from), flen = strlen(from), tlen = strlen(to);
    char *out = xrealloc(NULL, strlen(text) + n * (tlen > flen ? tlen - flen : 0) + 1), *o = out;
    const char *p = text, *hit;

    while ((hit = strstr(p, from)) != NULL)
    {
        memcpy(o, p, (size_t) (hit - p));
        o += hit - p;
        memcpy(o, to, tlen);
        o += tlen;
        p = hit + flen;
    }
    memcpy(o, p, strlen(p) + 1);
    return out;
}

bool
h_maps_contain(pid_t pid, const char *needle)
{
    char path[64], *maps;
    bool found;

    if (pid == 0)
        snprintf(path, sizeof(path), "/proc/self/maps");
    else
        snprintf(path, sizeof(path), "/proc/%d/maps", (int) pid);
    maps = h_read_file(path, NULL);
    assert_non_null(maps);
    found = strstr(maps, needle) != NULL;
    free(maps);
    return found;
}

int
h_free_port(void)
{
    static int next;

    if (next == 0)
        next = 57500 + (int) (getpid() % 250) * 2;
    for (int tries = 0; tries < 500; tries++)
    {
        struct sockaddr_in a;
        int port = next, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        next = next >= 57999 ? 57500 : next + 1;
        if (fd < 0)
            return -1;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t) port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0)
        {
            close(fd);
            return port;
        }
        close(fd);
    }
    return -1;
}

long
h_http(const char *method, const char *url, const char *const *headers, const char *body,
       char **out)
{
    const char *argv[64];
    char max_time[32];
    char *bodyfile = NULL;
    size_t n = 0;
    long status = 0;
    HRun r;

    argv[n++] = "/usr/bin/curl";
    argv[n++] = "-s";
    argv[n++] = "-k";
    snprintf(max_time, sizeof(max_time), "%g", 10.0 * h_slowdown());
    argv[n++] = "--max-time";
    argv[n++] = max_time;
    argv[n++] = "-X";
    argv[n++] = method;
    argv[n++] = "-w";
    argv[n++] = "\n%{http_code}";
    for (size_t i = 0; headers != NULL && headers[i] != NULL && n < 50; i++)
    {
        argv[n++] = "-H";
        argv[n++] = headers[i];
    }
    if (body != NULL)
    {
        static char arg[H_PATH_MAX + 2];

        bodyfile = h_write_tmpfile("http-body", body);
        if (bodyfile == NULL)
            return 0;
        snprintf(arg, sizeof(arg), "@%s", bodyfile);
        argv[n++] = "--data-binary";
        argv[n++] = arg;
    }
    argv[n++] = url;
    argv[n] = NULL;
    if (h_exec(&r, NULL, argv, NULL, 20.0 * h_slowdown()) == 0 && r.out != NULL)
    {
        char *nl = strrchr(r.out, '\n');

        if (nl != NULL)
        {
            status = strtol(nl + 1, NULL, 10);
            *nl = '\0';
        }
        if (out != NULL)
            *out = xstrdup(r.out);
    }
    else if (out != NULL)
        *out = xstrdup("");
    h_run_free(&r);
    if (bodyfile != NULL)
    {
        unlink(bodyfile);
        free(bodyfile);
    }
    return status;
}

bool
h_wait_http(const char *url, const char *needle, double timeout_s)
{
    double until = h_now() + timeout_s * h_slowdown();

    for (;;)
    {
        char *body = NULL;
        long status = h_http("GET", url, NULL, NULL, &body);
        bool found = status == 200 && body != NULL && strstr(body, needle) != NULL;

        free(body);
        if (found)
            return true;
        if (h_now() >= until)
            return false;
        sleep_ms(50);
    }
}
