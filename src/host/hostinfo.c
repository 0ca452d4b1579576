/*
 * hostinfo.c - statvfs, /proc and the server log.
 */
#include "host/hostinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* How much of the end of the log is read: recent lines are what matter. */
#define LOG_TAIL_BYTES (256 * 1024)

static void
fs_space(const char *path, int64_t *total, int64_t *free_bytes)
{
    struct statvfs st;

    *total = *free_bytes = -1;
    if (path == NULL || statvfs(path, &st) != 0)
        return;
    *total = (int64_t) st.f_blocks * (int64_t) st.f_frsize;
    *free_bytes = (int64_t) st.f_bavail * (int64_t) st.f_frsize;
}

static int64_t
dir_bytes(const char *path)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    int64_t sum = 0;

    if (dir == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL)
    {
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            sum += (int64_t) st.st_size;
    }
    closedir(dir);
    return sum;
}

static void
meminfo(int64_t *total, int64_t *available)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];

    *total = *available = -1;
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
    {
        long long kb;

        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            *total = (int64_t) kb * 1024;
        else if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            *available = (int64_t) kb * 1024;
    }
    fclose(f);
}

/*
 * The postmaster's stderr, when it is a regular file: where `pg_ctl -l` and
 * many service managers send the log when logging_collector is off.
 */
static char *
postmaster_stderr(Arena *arena, const char *data_directory)
{
    char path[4096], target[4096];
    FILE *f;
    long pid = 0;
    ssize_t n;
    struct stat st;

    snprintf(path, sizeof(path), "%s/postmaster.pid", data_directory);
    f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0)
        return NULL;
    snprintf(path, sizeof(path), "/proc/%ld/fd/2", pid);
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    if (target[0] != '/' || stat(target, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    return arena_strdup(arena, target);
}

static bool
interesting(const char *line)
{
    return strstr(line, "FATAL:") != NULL || strstr(line, "PANIC:") != NULL ||
           strstr(line, "No space left on device") != NULL ||
           strstr(line, "invalid page") != NULL || strstr(line, "could not read block") != NULL ||
           strstr(line, "checksum verification failed") != NULL ||
           strstr(line, "could not write") != NULL || strstr(line, "out of memory") != NULL;
}

/* The last max lines of the log that say something went wrong. */
static int
log_tail(Arena *arena, const char *path, int max, HostInfo *host)
{
    char *buf, *line, *next;
    const char **ring;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t size;
    ssize_t got;
    size_t count = 0, i, first;

    if (fd < 0)
        return 0;
    size = lseek(fd, 0, SEEK_END);
    if (size < 0)
    {
        close(fd);
        return 0;
    }
    if (size > LOG_TAIL_BYTES)
        lseek(fd, size - LOG_TAIL_BYTES, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    buf = malloc(LOG_TAIL_BYTES + 1);
    ring = arena_array(arena, (size_t) max, sizeof(char *));
    if (buf == NULL || ring == NULL)
    {
        free(buf);
        close(fd);
        return -1;
    }
    got = read(fd, buf, LOG_TAIL_BYTES);
    close(fd);
    if (got <= 0)
    {
        free(buf);
        return 0;
    }
    buf[got] = '\0';
    /* The first line may be cut by the seek: skip it unless we read it all. */
    line = size > LOG_TAIL_BYTES ? strchr(buf, '\n') : buf;
    for (; line != NULL && *line; line = next)
    {
        size_t len;

        if (*line == '\n')
            line++;
        next = strchr(line, '\n');
        len = next ? (size_t) (next - line) : strlen(line);
        if (len == 0)
            continue;
        if (next)
            *next = '\0';
        if (interesting(line))
        {
            ring[count % (size_t) max] = arena_strndup(arena, line, len > 400 ? 400 : len);
            if (ring[count % (size_t) max] == NULL)
            {
                free(buf);
                return -1;
            }
            count++;
        }
        if (next)
            *next = '\n';
    }
    free(buf);
    /* Unroll the ring, oldest first. */
    host->n_log_lines = count < (size_t) max ? count : (size_t) max;
    host->log_lines = arena_array(arena, host->n_log_lines ? host->n_log_lines : 1, sizeof(char *));
    if (host->log_lines == NULL)
        return -1;
    first = count < (size_t) max ? 0 : count % (size_t) max;
    for (i = 0; i < host->n_log_lines; i++)
        host->log_lines[i] = ring[(first + i) % (size_t) max];
    return 0;
}

int
hostinfo_collect(const HostInfoOptions *opts, Arena *arena, HostInfo *host)
{
    char path[4096];
    const char *log = NULL;
    struct stat st;

    memset(host, 0, sizeof(*host));
    host->data_fs_total_bytes = host->data_fs_free_bytes = -1;
    host->wal_fs_total_bytes = host->wal_fs_free_bytes = -1;
    host->wal_dir_bytes = host->mem_total_bytes = host->mem_available_bytes = -1;
    if (opts->data_directory == NULL || opts->data_directory[0] != '/' ||
        stat(opts->data_directory, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0; /* not on this host, or not visible to us */

    host->available = true;
    host->data_directory = arena_strdup(arena, opts->data_directory);
    fs_space(opts->data_directory, &host->data_fs_total_bytes, &host->data_fs_free_bytes);
    snprintf(path, sizeof(path), "%s/pg_wal", opts->data_directory);
    fs_space(path, &host->wal_fs_total_bytes, &host->wal_fs_free_bytes);
    host->wal_dir_bytes = dir_bytes(path);
    meminfo(&host->mem_total_bytes, &host->mem_available_bytes);

    if (opts->log_file != NULL && opts->log_file[0] != '\0')
    {
        if (opts->log_file[0] == '/')
            log = opts->log_file;
        else
        {
            snprintf(path, sizeof(path), "%s/%s", opts->data_directory, opts->log_file);
            log = path;
        }
        log = arena_strdup(arena, log);
    }
    else
        log = postmaster_stderr(arena, opts->data_directory);
    if (log != NULL && access(log, R_OK) == 0)
    {
        host->log_file = log;
        if (log_tail(arena, log, opts->max_log_lines > 0 ? opts->max_log_lines : 5, host) != 0)
            return -1;
    }
    return host->data_directory == NULL ? -1 : 0;
}
