/*
 * spawn.c - fork, exec, read under a deadline, reap.
 */
#define _GNU_SOURCE /* pipe2, mkostemp: no descriptor leaks into other children */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"

/* The child's stdin: a pipe would need a writer thread; an unlinked temp file does not. */
static int
input_fd(const SpawnOptions *opts, SpawnResult *res)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    size_t done = 0;
    int fd;

    if (opts->input == NULL)
    {
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            snprintf(res->error, sizeof(res->error), "could not open /dev/null: %s",
                     strerror(errno));
        return fd;
    }
    snprintf(path, sizeof(path), "%s/pgmedic-spawn-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
    {
        snprintf(res->error, sizeof(res->error), "could not create a file: %s", strerror(errno));
        return -1;
    }
    unlink(path);
    while (done < opts->input_len)
    {
        ssize_t n = write(fd, opts->input + done, opts->input_len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
        {
            snprintf(res->error, sizeof(res->error), "could not write the child's input: %s",
                     strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t) n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Reads what is there; false at end of file or on error. */
static bool
drain(int fd, StrBuf *out, size_t max, size_t *kept, SpawnResult *res)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    if (out != NULL && *kept < max)
    {
        size_t take = (size_t) n;

        if (take > max - *kept)
        {
            take = max - *kept;
            res->truncated = true;
        }
        strbuf_append_len(out, buf, take);
        *kept += take;
    }
    else if (out != NULL)
        res->truncated = true;
    return true;
}

int
spawn_run(const char *const *argv, const char *command, const SpawnOptions *opts, StrBuf *out,
          SpawnResult *res)
{
    size_t max = opts->max_output ? opts->max_output : 64 * 1024, kept = 0;
    int64_t deadline = pm_clock_ms() + opts->timeout_ms;
    int in, pipefd[2], status = 0;
    bool open_pipe = true;
    pid_t pid;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    in = input_fd(opts, res);
    if (in < 0)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) != 0)
    {
        snprintf(res->error, sizeof(res->error), "could not create a pipe: %s", strerror(errno));
        close(in);
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0)
    {
        snprintf(res->error, sizeof(res->error), "could not fork: %s", strerror(errno));
        close(in);
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0)
    {
        sigset_t none;

        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(in, STDIN_FILENO);
        if (!opts->inherit_output)
            dup2(pipefd[1], STDOUT_FILENO);
        if (opts->merge_stderr && !opts->inherit_output)
            dup2(pipefd[1], STDERR_FILENO);
        if (argv != NULL)
            execv(argv[0], (char *const *) (uintptr_t) argv);
        else
            execl("/bin/sh", "sh", "-c", command, (char *) NULL);
        _exit(127);
    }
    close(in);
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    for (;;)
    {
        int64_t left = deadline - pm_clock_ms();
        pid_t done;

        if (left <= 0)
        {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            res->timed_out = true;
            break;
        }
        if (open_pipe)
        {
            struct pollfd p = {pipefd[0], POLLIN, 0};

            if (poll(&p, 1, left < 50 ? (int) left : 50) > 0)
                open_pipe = drain(pipefd[0], out, max, &kept, res);
        }
        else
        {
            struct timespec ts = {0, 10 * 1000000L};

            nanosleep(&ts, NULL);
        }
        done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
        {
            /* What is left, without waiting for grandchildren holding the pipe open. */
            while (open_pipe && drain(pipefd[0], out, max, &kept, res))
            {
                struct pollfd p = {pipefd[0], POLLIN, 0};

                if (poll(&p, 1, 0) <= 0)
                    break;
            }
            break;
        }
        if (done < 0 && errno != EINTR)
        {
            snprintf(res->error, sizeof(res->error), "could not wait for the child: %s",
                     strerror(errno));
            break;
        }
    }
    close(pipefd[0]);
    if (!res->timed_out && res->error[0] == '\0')
        res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}
