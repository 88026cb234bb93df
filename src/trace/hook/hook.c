/*
 * pybench's allocator hook: loaded into a CPython 3.8+ process by the sitecustomize that
 * `pybench record` generates. It wraps the RAW, MEM and OBJ domains the way tracemalloc
 * does (PyMem_GetAllocator, then PyMem_SetAllocator with wrappers forwarding every call to
 * the saved allocator) and streams one fixed-size record per call down a pipe. The pybench
 * process turns pointers into recycled slots and compresses, so this file stays small and
 * the program's own thread does little more than append 16 bytes under a lock.
 *
 * No Python headers: the public API it needs is declared here (PyMemAllocatorEx and the
 * domain numbers are part of the stable C API since 3.4) and resolved with dlsym at install
 * time, so one build serves every CPython version.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} PyMemAllocatorEx;

typedef void (*allocator_fn)(int domain, PyMemAllocatorEx *allocator);
typedef int (*stats_fn)(FILE *out);

enum {
    KIND_MALLOC = 0,
    KIND_CALLOC = 1,  /* followed by an EXTRA record: the element count */
    KIND_REALLOC = 2, /* followed by an EXTRA record: the new address */
    KIND_FREE = 3,
    KIND_EXTRA = 4,
    KIND_GC = 5, /* a collection of generation `size` starts */
    /* The interpreter's own obmalloc accounting (issue 14.3): `size` bytes of the text
     * _PyObject_DebugMallocStats prints follow, padded to whole records; domain 0 = at
     * installation, 1 = at the end of the program. */
    KIND_STATS = 6,
    KIND_END = 0x7f
};
/* Set on a record whose size does not fit 32 bits (the event model's limit). */
#define KIND_OVERSIZE 0x80

/* Must match convert.rs: 16 bytes, little-endian, no padding. The common calls (malloc,
 * free) take one record; calloc and realloc take two, written under one lock hold. */
struct rec {
    uint8_t kind;
    uint8_t domain;
    uint16_t thread;
    uint32_t size; /* malloc/realloc: size; calloc: element size */
    uint64_t ptr;  /* malloc/calloc: result; realloc/free: the block passed in; extra: value */
};

#define BUF_RECS 8192
/* With pace (bit 3 of the install mask) every record is followed by 8 bytes: the cycles
 * this thread ran outside the allocator since its previous hooked call (0 on an EXTRA
 * record and on a thread's first call). Must match convert.rs's PACED_RECORD. */
#define MASK_PACE 8

static PyMemAllocatorEx orig[3];
static int hooked_mask;
/* Longest accounting text sent (a real report is 3 – 5 KB). */
#define MAX_STATS_TEXT (1u << 20)
static int pace_on;
static size_t rec_size = sizeof(struct rec);
static int out_fd = -1;
static int recording;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char buf[BUF_RECS * (sizeof(struct rec) + 8)];
static size_t nbuf;
static uint32_t next_thread;

/* Per thread: a small id for the trace, and a flag set while a hooked call is in progress
 * so nested calls (pymalloc sends large requests to PyMem_RawMalloc) are forwarded without
 * being recorded twice, as tracemalloc's reentrancy guard does. */
struct tstate {
    uint32_t id_plus1;
    int busy;
    uint64_t last_out; /* time stamp when this thread's previous hooked call returned */
};
/* initial-exec: one %fs-relative access instead of a __tls_get_addr call per allocation;
 * glibc keeps static TLS spare for libraries loaded later, and 8 bytes fit easily. */
static __thread struct tstate ts __attribute__((tls_model("initial-exec")));
#define busy (ts.busy)

/* The time stamp counter (cycles; constant-rate on every x86 of the last 15 years), or
 * nanoseconds where there is none. Read only when recording pace. */
static inline uint64_t stamp(void) {
    if (!pace_on)
        return 0;
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#else
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
#endif
}

/* The program's work since this thread's previous hooked call returned. */
static inline uint64_t pace_since(uint64_t t_in) {
    return (ts.last_out && t_in > ts.last_out) ? t_in - ts.last_out : 0;
}

/* The channel's identity (its socket's inode), taken at installation. */
static dev_t out_dev;
static ino_t out_ino;

/* Whether `out_fd` still names pybench's channel. A program may close every descriptor it
 * did not open (daemon code does: os.closerange) and then open a file that gets the same
 * number: writing records there would corrupt the program's own file. Checked before each
 * buffer is sent (one fstat per 8192 records) and before the descriptor is closed; when it
 * names something else, the hook lets go of the number without touching it. */
static int channel_ours(void) {
    struct stat st;
    if (out_fd < 0)
        return 0;
    if (fstat(out_fd, &st) == 0 && st.st_dev == out_dev && st.st_ino == out_ino)
        return 1;
    recording = 0;
    out_fd = -1;
    return 0;
}

static void write_all(const void *data, size_t len) {
    const char *p = data;
    if (!channel_ours())
        return;
    while (len > 0 && out_fd >= 0) {
        /* send, not write: a descriptor that became anything but a socket between the
         * check above and here fails (ENOTSOCK) instead of being written; and no SIGPIPE
         * if pybench went away. */
        ssize_t n = send(out_fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* pybench went away, or the number is no longer ours: stop recording, keep
             * the program running. */
            recording = 0;
            if (errno != ENOTSOCK && errno != EBADF)
                close(out_fd);
            out_fd = -1;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void flush_locked(void) {
    write_all(buf, nbuf * rec_size);
    nbuf = 0;
}

static uint16_t thread_id(void) {
    if (ts.id_plus1 == 0) {
        uint32_t id = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
        ts.id_plus1 = (id > 65534 ? 65534 : id) + 1;
    }
    return (uint16_t)(ts.id_plus1 - 1);
}

static void put_locked(uint8_t kind, int domain, uint16_t thread, size_t size, uint64_t ptr,
                       uint64_t pace) {
    struct rec r;
    r.kind = kind | (size > UINT32_MAX ? KIND_OVERSIZE : 0);
    r.domain = (uint8_t)domain;
    r.thread = thread;
    r.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    r.ptr = ptr;
    unsigned char *at = buf + nbuf++ * rec_size;
    memcpy(at, &r, sizeof r);
    if (pace_on)
        memcpy(at + sizeof r, &pace, 8);
    if (nbuf == BUF_RECS)
        flush_locked();
}

static void emit_locked(uint8_t kind, int domain, size_t size, const void *ptr, uint64_t extra,
                        uint64_t t_in) {
    if (!recording)
        return;
    uint16_t t = thread_id();
    put_locked(kind, domain, t, size, (uint64_t)(uintptr_t)ptr, pace_since(t_in));
    if (kind == KIND_CALLOC || kind == KIND_REALLOC)
        put_locked(KIND_EXTRA, domain, t, 0, extra, 0);
}

static void emit(uint8_t kind, int domain, size_t size, const void *ptr, uint64_t extra,
                 uint64_t t_in) {
    pthread_mutex_lock(&lock);
    emit_locked(kind, domain, size, ptr, extra, t_in);
    pthread_mutex_unlock(&lock);
}

#define DOMAIN(ctx) ((int)(intptr_t)(ctx))

static void *hook_malloc(void *ctx, size_t size) {
    int d = DOMAIN(ctx);
    if (busy)
        return orig[d].malloc(orig[d].ctx, size);
    busy = 1;
    uint64_t t_in = stamp();
    void *p = orig[d].malloc(orig[d].ctx, size);
    if (p)
        emit(KIND_MALLOC, d, size, p, 0, t_in);
    ts.last_out = stamp();
    busy = 0;
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize) {
    int d = DOMAIN(ctx);
    if (busy)
        return orig[d].calloc(orig[d].ctx, nelem, elsize);
    busy = 1;
    uint64_t t_in = stamp();
    void *p = orig[d].calloc(orig[d].ctx, nelem, elsize);
    if (p)
        emit(KIND_CALLOC, d, nelem > UINT32_MAX ? (size_t)UINT64_MAX : elsize, p, nelem, t_in);
    ts.last_out = stamp();
    busy = 0;
    return p;
}

/* The lock is held across the forwarded call: once the old block is released inside it,
 * another thread may be handed the same address, and its record must come after ours. */
static void *hook_realloc(void *ctx, void *ptr, size_t size) {
    int d = DOMAIN(ctx);
    if (busy)
        return orig[d].realloc(orig[d].ctx, ptr, size);
    busy = 1;
    uint64_t t_in = stamp();
    pthread_mutex_lock(&lock);
    void *p = orig[d].realloc(orig[d].ctx, ptr, size);
    if (p) {
        if (ptr)
            emit_locked(KIND_REALLOC, d, size, ptr, (uint64_t)(uintptr_t)p, t_in);
        else
            emit_locked(KIND_MALLOC, d, size, p, 0, t_in);
    }
    pthread_mutex_unlock(&lock);
    ts.last_out = stamp();
    busy = 0;
    return p;
}

/* Recorded before forwarding, so the address cannot be reused by another thread first. */
static void hook_free(void *ctx, void *ptr) {
    int d = DOMAIN(ctx);
    if (busy || !ptr) {
        orig[d].free(orig[d].ctx, ptr);
        return;
    }
    busy = 1;
    uint64_t t_in = stamp();
    emit(KIND_FREE, d, 0, ptr, 0, t_in);
    orig[d].free(orig[d].ctx, ptr);
    ts.last_out = stamp();
    busy = 0;
}

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }

/* The child keeps the wrappers (they forward) but records nothing and lets go of the pipe:
 * its events are not the parent's, and the pipe must reach EOF when the parent exits. */
static void after_fork_child(void) {
    recording = 0;
    nbuf = 0;
    if (channel_ours())
        close(out_fd);
    out_fd = -1;
    pthread_mutex_unlock(&lock);
}

/* Runs in exit(), after Py_FinalizeEx: the last buffered records and an end marker. */
static void at_exit(void) {
    pthread_mutex_lock(&lock);
    if (recording) {
        unsigned char end[sizeof(struct rec) + 8] = {KIND_END};
        flush_locked();
        write_all(end, rec_size);
        recording = 0;
    }
    if (channel_ours())
        close(out_fd);
    out_fd = -1;
    pthread_mutex_unlock(&lock);
}

/*
 * Sends the interpreter's own obmalloc accounting down the pipe at this point of the event
 * stream: a KIND_STATS record and the text of _PyObject_DebugMallocStats (stable since 3.3,
 * exported by every libpython 3.8 – 3.13), captured with open_memstream, so neither fd 2
 * nor the program's sys.stderr is touched. The report walks obmalloc's arenas with stack
 * buffers and fprintf only: it allocates nothing through PyMem, so it adds no event.
 * Callers hold `lock` and the GIL (3.12+ find obmalloc's state through the thread state).
 */
static void snapshot_locked(int which) {
    stats_fn stats = (stats_fn)dlsym(RTLD_DEFAULT, "_PyObject_DebugMallocStats");
    if (!stats || out_fd < 0)
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    int printed = stats(f);
    fclose(f);
    if (printed && text && len > 0 && len < MAX_STATS_TEXT) {
        unsigned char head[sizeof(struct rec) + 8] = {0};
        struct rec r = {KIND_STATS, (uint8_t)which, 0, (uint32_t)len, 0};
        memcpy(head, &r, sizeof r);
        flush_locked();
        write_all(head, rec_size);
        write_all(text, len);
        size_t pad = (rec_size - len % rec_size) % rec_size;
        unsigned char zeros[sizeof(struct rec) + 8] = {0};
        write_all(zeros, pad);
    }
    free(text);
}

/*
 * The accounting at the end of the program (called from an `atexit` function registered by
 * the sitecustomize, through ctypes.PyDLL so the GIL is held). While the hook is installed
 * _PyMem_PymallocEnabled() is false (it compares the OBJ allocator with pymalloc's) and the
 * report would be empty, so the saved OBJ allocator is put back for the duration of the
 * report: no other thread can allocate through OBJ meanwhile, as that needs the GIL.
 */
void pybench_hook_snapshot(void) {
    allocator_fn get = (allocator_fn)dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
    allocator_fn set = (allocator_fn)dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
    pthread_mutex_lock(&lock);
    if (recording && get && set) {
        if (hooked_mask & 4) {
            PyMemAllocatorEx ours;
            get(2, &ours);
            set(2, &orig[2]);
            snapshot_locked(1);
            set(2, &ours);
        } else {
            snapshot_locked(1);
        }
    }
    pthread_mutex_unlock(&lock);
}

/* Sends what is buffered (called by sitecustomize's wrapper of os.execv and os.execve,
 * which replace the process without Python's shutdown); recording goes on, in case the
 * exec fails and the program continues. */
void pybench_hook_flush(void) {
    pthread_mutex_lock(&lock);
    if (recording)
        flush_locked();
    pthread_mutex_unlock(&lock);
}

/* Called from a gc.callbacks hook when a collection starts: a marker in the trace. */
void pybench_hook_gc(int generation) {
    pthread_mutex_lock(&lock);
    if (recording)
        put_locked(KIND_GC, 0, thread_id(), (size_t)generation, 0, 0);
    pthread_mutex_unlock(&lock);
}

/* The channel moved to a descriptor number far above the ones a program's new files and
 * sockets get (the kernel hands out the lowest free number): 1000, or 24 below the limit
 * when that is lower. `channel_ours` catches a number that names something else by the next
 * buffer, but between its check and the send another thread could close the channel and
 * open a socket under the same number, which `send` would then write to; up there that
 * takes a program holding about a thousand descriptors. Returns the new number, or `fd`
 * (closed on exec, as before) when no higher one can be had. */
static int channel_moved_high(int fd) {
    struct rlimit lim;
    long floor = 1000;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        (long)lim.rlim_cur - 24 < floor)
        floor = (long)lim.rlim_cur - 24;
    if (floor <= fd)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)floor);
    if (high < 0)
        return fd;
    close(fd);
    return high;
}

/*
 * Installs the wrappers on the domains in `mask` (bit 0 RAW, 1 MEM, 2 OBJ) after writing
 * `hello` and the start-up accounting to `fd` (called through ctypes.PyDLL: with the GIL). Returns 0, or -1 if this process has no PyMem_GetAllocator (not
 * CPython), -2 if called twice, -3 if the pipe cannot be written.
 */
int pybench_hook_install(int fd, int mask, const char *hello, size_t hello_len) {
    static int installed;
    allocator_fn get = (allocator_fn)dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
    allocator_fn set = (allocator_fn)dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
    if (!get || !set)
        return -1;
    if (installed)
        return -2;
    fcntl(fd, F_SETFD, FD_CLOEXEC); /* exec'd children must not hold the pipe open */
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -3;
    out_dev = st.st_dev;
    out_ino = st.st_ino;
    out_fd = fd;
    write_all(hello, hello_len);
    if (out_fd < 0)
        return -3;
    /* After the hello: until install returns 0, the caller may still write to `fd`. */
    out_fd = channel_moved_high(out_fd);
    installed = 1;
    pace_on = (mask & MASK_PACE) != 0;
    rec_size = sizeof(struct rec) + (pace_on ? 8 : 0);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    atexit(at_exit);
    recording = 1;
    /* The start-up state, before the first hooked call (the caller holds the GIL). */
    pthread_mutex_lock(&lock);
    snapshot_locked(0);
    pthread_mutex_unlock(&lock);
    hooked_mask = mask & 7;
    for (int d = 0; d < 3; d++) {
        if (!(mask & (1 << d)))
            continue;
        get(d, &orig[d]);
        PyMemAllocatorEx hook = {(void *)(intptr_t)d, hook_malloc, hook_calloc, hook_realloc,
                                 hook_free};
        set(d, &hook);
    }
    return 0;
}
