/*
 * lazylib.c - loading a library on the first call into it (lazylib.h).
 */
#include "util/lazylib.h"

#include <dlfcn.h>
#include <stddef.h>

#include "util/log.h"

/*
 * What every stub jumps to when its library is missing.  The stubs forward
 * arguments in registers, so a function that takes none and returns 0 can
 * stand in for any of them: the caller sees 0 in rax (NULL, failure).
 */
static long
lazylib_missing(void)
{
    return 0;
}

static void
lazylib_load(LazyLib *lib)
{
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    long (*missing)(void) = lazylib_missing;
    void *fallback;

    /* A function pointer to void * goes through memcpy (POSIX's way). */
    __builtin_memcpy(&fallback, &missing, sizeof(fallback));
    if (handle == NULL)
    {
        const char *why = dlerror();

        pm_log_warning("could not load %s: %s", lib->soname, why != NULL ? why : "unknown reason");
        pm_log_detail("%s will fail.", lib->needed_by);
    }
    if (handle != NULL && lib->on_load != NULL)
        lib->on_load(handle);
    /*
     * The stubs read a slot without the lock: a slot is published whole
     * (release), after the library and on_load are done, so a stub that
     * sees it non-NULL may jump.
     */
    for (size_t i = 0; lib->names[i] != NULL; i++)
    {
        void *sym = handle != NULL ? dlsym(handle, lib->names[i]) : NULL;

        if (handle != NULL && sym == NULL)
            pm_log_warning("%s has no function %s; %s will fail", lib->soname, lib->names[i],
                           lib->needed_by);
        __atomic_store_n(&lib->slots[i], sym != NULL ? sym : fallback, __ATOMIC_RELEASE);
    }
    lib->handle = handle;
}

void *
lazylib_resolve(LazyLib *lib, unsigned index)
{
    void *fn;

    pthread_mutex_lock(&lib->lock);
    if (!lib->loaded)
    {
        lazylib_load(lib);
        lib->loaded = true;
    }
    fn = lib->slots[index];
    pthread_mutex_unlock(&lib->lock);
    return fn;
}

bool
lazylib_is_loaded(LazyLib *lib)
{
    bool loaded;

    pthread_mutex_lock(&lib->lock);
    loaded = lib->loaded && lib->handle != NULL;
    pthread_mutex_unlock(&lib->lock);
    return loaded;
}
