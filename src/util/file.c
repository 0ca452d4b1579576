/*
 * file.c - reading inputs, writing results.
 */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
pm_read_file(const char *path, size_t max_bytes, StrBuf *buf, PmError *err)
{
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (file == NULL)
    {
        pm_error_set(err, "could not open file \"%s\": %s", path, strerror(errno));
        return -1;
    }
    buf->max = max_bytes;
    while ((n = fread(chunk, 1, sizeof(chunk), file)) > 0)
    {
        strbuf_append_len(buf, chunk, n);
        if (!strbuf_ok(buf))
        {
            pm_error_set(err, "file \"%s\" is too large (more than %zu bytes) or memory ran out",
                         path, max_bytes);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(file))
    {
        pm_error_set(err, "could not read file \"%s\": %s", path, strerror(errno));
        rc = -1;
    }
    if (file != stdin)
        fclose(file);
    return rc;
}

int
pm_write_stdout(const StrBuf *buf, PmError *err)
{
    if (!strbuf_ok(buf))
    {
        pm_error_set(err, "out of memory while formatting the output");
        return -1;
    }
    if ((buf->len > 0 && fwrite(buf->data, 1, buf->len, stdout) != buf->len) || fflush(stdout) != 0)
    {
        pm_error_set(err, "could not write to standard output: %s", strerror(errno));
        return -1;
    }
    return 0;
}
