/* pluto.h — the Pluto runtime API.
 *
 * A Pluto program is a set of handlers. A handler receives one answer from the
 * operating system, updates its private memory, and replies with commands
 * through the context it is given. The runtime performs every command; a
 * handler never calls the OS, reads the clock or draws random numbers.
 *
 *   task    = one command + the handler that receives its answers + a flat,
 *             pointer-free private memory that the runtime owns and copies in.
 *   stream  = a command with many answers (listen, recv, read-file, signal,
 *             repeating timer): the handler returns PL_KEEP to stay subscribed
 *             and PL_DONE to stop. One-shot commands free their task after
 *             their single answer whatever the handler returns.
 *
 * Computations: a task may end its computation with pl_ret(); pl_bind(),
 * pl_join() and pl_first() start computations and deliver their results to a
 * continuation task. Tasks started by a handler belong to that handler's
 * computation; when a computation returns or loses a First, every task still
 * pending in it (and in computations it started) is cancelled: its handler is
 * never called again. (The graceful side of pl_first_graceful() that loses is
 * interrupted instead: its streams are told, its one-shot commands finish.)
 *
 * Errors come back inside answers as 0 or a negative errno (pl_strerror()).
 * Buffers inside an answer belong to the runtime and are valid only during the
 * handler call; data given to a command is copied before the call returns.
 */
#ifndef PLUTO_PLUTO_H
#define PLUTO_PLUTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PL_VERSION "0.1.0"

typedef uint64_t pl_task_id;
typedef struct pl_ctx pl_ctx;       /* a handler's only door to effects */
typedef struct pl_rt pl_rt;         /* a runtime: tasks, refs, a backend */
typedef struct pl_run_opts pl_run_opts;

enum { PL_MEM_MAX = 1 << 20 };      /* largest private memory, bytes */
enum { PL_RESULT_MAX = 64 };        /* largest computation result, bytes */
enum { PL_LOG_MAX = 4096 };         /* longest log line, bytes */
enum { PL_PATH_MAX = 4096 };        /* longest path in a command, bytes */
enum { PL_DIR_PAGE = 64 * 1024 };   /* default READDIR page, bytes of packed entries */
enum { PL_INPUT_MAX = 1 << 20 };    /* unconsumed input kept per descriptor, bytes */
enum { PL_READ_MAX = 64 * 1024 };   /* largest READ, bytes */
#define PL_WORKERS_AUTO UINT32_MAX  /* pl_run_opts.workers: one per online CPU */

/* Special directory handles for path commands. */
enum { PL_DIR_CWD = -100 };

/* ---- commands ---------------------------------------------------------- */

/* Each command, what it does, and the answers it gets. */
typedef enum pl_cmd_kind {
    PL_CMD_NONE = 0,    /* no I/O: called once with START */
    PL_CMD_LOG,         /* a line to stdout (PL_LOG_ERR: stderr)     -> DONE */
    PL_CMD_TIME,        /* wall and monotonic clocks                 -> TIME */
    PL_CMD_TIMER,       /* after after_ms, then every every_ms       -> TICK (stream if every) */
    PL_CMD_SIGNAL,      /* deliveries of signal signo                -> SIGNAL each (stream) */
    PL_CMD_LISTEN,      /* TCP listener on host:port                 -> LISTENING, CLIENT each */
    PL_CMD_CONNECT,     /* TCP connection to host:port               -> CONNECTED */
    PL_CMD_RECV,        /* bytes from fd                             -> DATA each, len 0 at end */
    PL_CMD_SEND,        /* bytes to fd (socket or file), in order    -> SENT once all written */
    PL_CMD_SENDFILE,    /* file range to a socket                    -> SENT */
    PL_CMD_CLOSE,       /* close fd after the sends queued before it -> DONE
                         * (PL_CLOSE_LINGER: a lingering close) */
    PL_CMD_OPEN,        /* open path beneath dir (no escape), or for appending -> OPENED */
    PL_CMD_STAT,        /* stat path beneath dir                     -> STAT */
    PL_CMD_READ_FILE,   /* whole file beneath dir, in chunks         -> DATA each, eof on last */
    PL_CMD_READDIR,     /* a page of a directory's entries           -> DIR (next: go on) */
    PL_CMD_READ,        /* up to count bytes of an open file at offset -> DATA (short at end) */
    PL_CMD_MACHINE,     /* a durable machine's journal status        -> MACHINE each (stream) */
    PL_CMD_KIND_COUNT
} pl_cmd_kind;

/* Flags for PL_CMD_LOG: the error stream instead of the output stream. */
enum { PL_LOG_ERR = 1 };

/* Flags for PL_CMD_LISTEN: share the port with the other workers; the
 * client speaks first (as in HTTP), so a client is handed over only once its
 * first bytes have arrived, or after about a second of silence: accepting
 * it and reading its request then take one wake-up, not two. */
enum { PL_LISTEN_REUSEPORT = 1, PL_LISTEN_CLIENT_FIRST = 2 };

/* Flags for PL_CMD_CLOSE. PL_CLOSE_LINGER: a lingering close (RFC 9112
 * section 9.6), for a server that hangs up on a client that may still be
 * sending (an error answered before the request was read whole). Closing a
 * socket with unread bytes, or getting bytes after the close, makes the
 * kernel reset the connection, and the client may then lose the response or
 * fail its send before reading it. So, once the sends queued before it are
 * written, only the writing side is shut down (the end of the stream follows
 * the response); what the peer still sends is read and dropped until its end
 * of stream, an error, PL_CLOSE_LINGER_BYTES or PL_CLOSE_LINGER_MS, whichever
 * comes first; then the descriptor is closed and DONE answered. It holds its
 * descriptor slot until then. On a descriptor that is not a socket, in the
 * simulator and under the scenario harness, it is a plain CLOSE. A lingering
 * CLOSE that is cancelled stops reading and, like any cancelled CLOSE,
 * leaves the descriptor to the end of the run. */
enum { PL_CLOSE_LINGER = 1 };
enum { PL_CLOSE_LINGER_MS = 2000, PL_CLOSE_LINGER_BYTES = 1 << 20 };

/* Open flags for PL_CMD_OPEN. PL_OPEN_APPEND opens for writing at the end,
 * creating the file (mode 0644) when missing: a log. SEND writes to it (a
 * write to a regular file never waits) and several processes or workers may
 * append to one file, each SEND landing whole. */
enum { PL_OPEN_READ = 0, PL_OPEN_DIR = 1, PL_OPEN_APPEND = 2 };

typedef struct pl_iov { const void *base; size_t len; } pl_iov;

/* A command. Build it with the pl_cmd_* helpers below; pointers inside are
 * read (and copied) by pl_send() before it returns. */
typedef struct pl_cmd {
    pl_cmd_kind kind;
    int fd;                 /* RECV, SEND, SENDFILE (socket), CLOSE, READ (file) */
    int dir;                /* OPEN, STAT, READ_FILE, READDIR: handle or PL_DIR_CWD */
    int flags;              /* OPEN: PL_OPEN_*; LOG: PL_LOG_*; LISTEN: PL_LISTEN_*;
                             * CLOSE: PL_CLOSE_LINGER */
    int signo;              /* SIGNAL */
    uint16_t port;          /* LISTEN, CONNECT */
    const char *host;       /* LISTEN, CONNECT: "127.0.0.1", "::1", "::" ... */
    const char *text;       /* LOG, and the path of path commands */
    size_t len;             /* LOG/path length (0: use strlen) */
    const pl_iov *iov;      /* SEND: segments, copied */
    int iovcnt;
    int file_fd;            /* SENDFILE: the file */
    uint64_t offset;        /* SENDFILE, READ; READDIR: cookie to continue from (0: start) */
    uint64_t count;         /* SENDFILE; READ (at most PL_READ_MAX); READDIR: page bytes */
    uint64_t after_ms;      /* TIMER; RECV: a first deadline, as pl_timeout (0: none);
                             * SEND, SENDFILE: the stall limit (0: none) — when no
                             * byte can be written for after_ms, SENT comes with
                             * -ETIMEDOUT and the socket is shut down (later sends on
                             * it fail, its receiver sees the end of the stream) */
    uint64_t every_ms;      /* TIMER: 0 for a one-shot timer */
} pl_cmd;

static inline pl_cmd pl_cmd_none(void) { return (pl_cmd){ .kind = PL_CMD_NONE }; }
static inline pl_cmd pl_cmd_log(const char *text)
{ return (pl_cmd){ .kind = PL_CMD_LOG, .text = text }; }
static inline pl_cmd pl_cmd_time(void) { return (pl_cmd){ .kind = PL_CMD_TIME }; }
static inline pl_cmd pl_cmd_timer(uint64_t after_ms, uint64_t every_ms)
{ return (pl_cmd){ .kind = PL_CMD_TIMER, .after_ms = after_ms, .every_ms = every_ms }; }
static inline pl_cmd pl_cmd_signal(int signo)
{ return (pl_cmd){ .kind = PL_CMD_SIGNAL, .signo = signo }; }
static inline pl_cmd pl_cmd_listen(const char *host, uint16_t port)
{ return (pl_cmd){ .kind = PL_CMD_LISTEN, .host = host, .port = port }; }
static inline pl_cmd pl_cmd_connect(const char *host, uint16_t port)
{ return (pl_cmd){ .kind = PL_CMD_CONNECT, .host = host, .port = port }; }
static inline pl_cmd pl_cmd_recv(int fd) { return (pl_cmd){ .kind = PL_CMD_RECV, .fd = fd }; }
static inline pl_cmd pl_cmd_writev(int fd, const pl_iov *iov, int iovcnt)
{ return (pl_cmd){ .kind = PL_CMD_SEND, .fd = fd, .iov = iov, .iovcnt = iovcnt }; }
static inline pl_cmd pl_cmd_sendfile(int sock, int file_fd, uint64_t offset, uint64_t count)
{
    return (pl_cmd){ .kind = PL_CMD_SENDFILE, .fd = sock, .file_fd = file_fd,
                     .offset = offset, .count = count };
}
static inline pl_cmd pl_cmd_close(int fd) { return (pl_cmd){ .kind = PL_CMD_CLOSE, .fd = fd }; }
/* A lingering close of a socket (PL_CLOSE_LINGER, above). */
static inline pl_cmd pl_cmd_close_linger(int fd)
{ return (pl_cmd){ .kind = PL_CMD_CLOSE, .fd = fd, .flags = PL_CLOSE_LINGER }; }
static inline pl_cmd pl_cmd_open(int dir, const char *path, int flags)
{ return (pl_cmd){ .kind = PL_CMD_OPEN, .dir = dir, .text = path, .flags = flags }; }
static inline pl_cmd pl_cmd_stat(int dir, const char *path)
{ return (pl_cmd){ .kind = PL_CMD_STAT, .dir = dir, .text = path }; }
static inline pl_cmd pl_cmd_read_file(int dir, const char *path)
{ return (pl_cmd){ .kind = PL_CMD_READ_FILE, .dir = dir, .text = path }; }
static inline pl_cmd pl_cmd_readdir(int dir, const char *path)
{ return (pl_cmd){ .kind = PL_CMD_READDIR, .dir = dir, .text = path }; }
static inline pl_cmd pl_cmd_read(int fd, uint64_t offset, uint64_t count)
{ return (pl_cmd){ .kind = PL_CMD_READ, .fd = fd, .offset = offset, .count = count }; }
/* PL_CMD_MACHINE: run as a durable machine, the program hears when its
 * journal cannot be written (err -ENOSPC: the disk is full; output caused by
 * new answers may wait, and a program should stop acknowledging writes) and
 * when it can again (err 0). The first answer comes only on a change. Outside
 * a machine the command gets one answer with -ENOTSUP. */
static inline pl_cmd pl_cmd_machine(void) { return (pl_cmd){ .kind = PL_CMD_MACHINE }; }
/* The page after the one whose answer gave `next`. */
static inline pl_cmd pl_cmd_readdir_from(int dir, const char *path, uint64_t next)
{ pl_cmd c = pl_cmd_readdir(dir, path); c.offset = next; return c; }

/* ---- answers ----------------------------------------------------------- */

typedef enum pl_ans_kind {
    PL_ANS_START = 0,   /* first call of a PL_CMD_NONE task */
    PL_ANS_DONE,        /* LOG, CLOSE completed (or err) */
    PL_ANS_TIME,
    PL_ANS_TICK,
    PL_ANS_SIGNAL,
    PL_ANS_LISTENING,   /* listener bound: port holds the bound port (or err) */
    PL_ANS_CLIENT,      /* a new connection: fd, peer */
    PL_ANS_CONNECTED,   /* fd (or err) */
    PL_ANS_DATA,        /* data/len; RECV: len 0 = peer closed; READ_FILE: eof set on last */
    PL_ANS_SENT,        /* n bytes written (or err) */
    PL_ANS_OPENED,      /* fd (or err) */
    PL_ANS_STAT,
    PL_ANS_DIR,         /* count entries packed in data (see pl_dirent_next) */
    PL_ANS_RESULT,      /* pl_bind: the computation's result */
    PL_ANS_JOIN,        /* pl_join: both results */
    PL_ANS_FIRST,       /* pl_first: which side won and its result */
    PL_ANS_MACHINE,     /* PL_CMD_MACHINE: err -ENOSPC (journal full) or 0 (room again) */
    PL_ANS_KIND_COUNT
} pl_ans_kind;

typedef enum pl_ftype { PL_FT_OTHER = 0, PL_FT_FILE, PL_FT_DIR, PL_FT_LINK } pl_ftype;

typedef struct pl_stat {
    uint64_t size, ino, dev;
    int64_t mtime_s, mtime_ns;
    uint32_t mode;
    pl_ftype type;
} pl_stat;

typedef struct pl_result { uint32_t len; uint8_t data[PL_RESULT_MAX]; } pl_result;

typedef struct pl_answer {
    pl_ans_kind kind;
    int err;                    /* 0 or a negative errno */
    int fd;                     /* CLIENT, CONNECTED, OPENED */
    int signo;                  /* SIGNAL */
    uint16_t port;              /* LISTENING: bound port; CLIENT: peer port */
    char peer[48];              /* CLIENT: peer address text */
    const uint8_t *data;        /* DATA, DIR: runtime-owned, valid during the call */
    size_t len;                 /* DATA: bytes; DIR: bytes of packed entries */
    uint64_t n;                 /* SENT: bytes; DIR: entry count; TICK: tick number */
    uint64_t next;              /* DIR: cookie of the next page, 0 after the last page */
    int eof;                    /* DATA of READ_FILE: last chunk */
    int64_t wall_ns, mono_ns;   /* TIME */
    pl_stat st;                 /* STAT, and OPENED */
    int index;                  /* FIRST: 0 or 1, the side that returned first */
    pl_result res[2];           /* RESULT: res[0]; JOIN: both; FIRST: res[0] */
} pl_answer;

/* Directory entries are packed as: 1 byte pl_ftype, name, NUL. Iterate with
 * pl_dirent_next(&pos, ans, &type), which returns NULL after the last. A
 * READDIR answer holds one page (at most the page size, but always at least
 * one entry); ans->next, when not 0, continues with pl_cmd_readdir_from().
 * "." and ".." are never listed. */
const char *pl_dirent_next(size_t *pos, const pl_answer *ans, pl_ftype *type);

/* ---- handlers ---------------------------------------------------------- */

typedef enum pl_verdict { PL_KEEP = 0, PL_DONE = 1 } pl_verdict;

typedef pl_verdict (*pl_handler_fn)(pl_ctx *cx, void *mem, const pl_answer *ans);

/* A handler is registered by a stable name so that saved state survives
 * recompiles. Define one with PL_HANDLER(var, fn). */
typedef struct pl_handler {
    const char *name;
    pl_handler_fn fn;
} pl_handler;

#define PL_HANDLER(var, fn) const pl_handler var = { #fn, fn }

/* ---- effects: callable only inside a handler (or a program's start) ---- */

/* Send: start a task performing cmd; h (may be NULL: answers are dropped) is
 * called with a copy of mem[0..len) for each answer. Returns the task id. */
pl_task_id pl_send(pl_ctx *cx, const pl_cmd *cmd, const pl_handler *h,
                   const void *mem, size_t len);

/* Inside a RECV handler: only the first n bytes of this answer's data were
 * used. The rest stays in the runtime's input buffer for the descriptor and
 * comes first in the next DATA answer of a RECV on it — a later chunk of
 * this stream, or the first answer of a new RECV task if this one ends.
 * Without a call, every byte counts as used. The buffer is freed when empty;
 * it holds at most PL_INPUT_MAX bytes (then the receiver gets -ENOBUFS). */
void pl_consume(pl_ctx *cx, size_t n);

/* A deadline for the running task: if it gets no answer within ms, it gets
 * one of its command's kind with err -ETIMEDOUT (ending a stream). Calling
 * again replaces the deadline; 0 removes it. The deadline is not reset by
 * answers: a handler re-arms it when it wants (an idle timeout re-arms on
 * each chunk, a header timeout only when a request starts). A RECV's
 * deadline measures the peer's silence only: when it passes while sends are
 * still in flight on the descriptor (the runtime may then have paused
 * receiving for them), it starts again for its full length instead; a peer
 * that stops reading is cut by the sends' own limit (after_ms on SEND). */
void pl_timeout(pl_ctx *cx, uint64_t ms);

/* Convenience: send a whole buffer to fd (copied), ignoring the answer. */
void pl_write(pl_ctx *cx, int fd, const void *buf, size_t len);

/* Log a formatted line (at most PL_LOG_MAX bytes; longer is cut): pl_logf to
 * the output stream (stdout live), pl_errf to the error stream (stderr). */
void pl_logf(pl_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl_errf(pl_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A computation to start: its first task. */
typedef struct pl_start {
    pl_cmd cmd;
    const pl_handler *h;
    const void *mem;
    size_t len;
} pl_start;

/* Bind: run computation a; when it returns, `then` is called with
 * PL_ANS_RESULT holding its result. `then` belongs to the current
 * computation. */
pl_task_id pl_bind(pl_ctx *cx, const pl_start *a, const pl_handler *then,
                   const void *mem, size_t len);

/* Join: run a and b concurrently; `then` is called once, with PL_ANS_JOIN,
 * after both returned (res[0] from a, res[1] from b). */
pl_task_id pl_join(pl_ctx *cx, const pl_start *a, const pl_start *b,
                   const pl_handler *then, const void *mem, size_t len);

/* First: run a and b concurrently; `then` is called once, with PL_ANS_FIRST,
 * when one returns; every pending command of the other is cancelled and its
 * handlers are never called again. */
pl_task_id pl_first(pl_ctx *cx, const pl_start *a, const pl_start *b,
                    const pl_handler *then, const void *mem, size_t len);

/* First with a graceful side a: if b returns first, a is interrupted instead
 * of cancelled, so that it finishes what it began:
 *   - each of a's streams (LISTEN, RECV, READ_FILE, SIGNAL, repeating TIMER),
 *     and those of the computations it started, gets one last answer of its
 *     kind with err -ECANCELED (a listener's socket is closed then);
 *   - its one-shot commands (SEND, SENDFILE, OPEN, READ, CLOSE, ...) complete
 *     and their handlers run as usual;
 *   - a stream it starts from then on gets -ECANCELED at once.
 * `then` runs first, then the streams get their answers. a no longer returns
 * anywhere (pl_ret in it does nothing): it is over when its last task is. If
 * a returns first, b is cancelled as with pl_first. A server runs
 * pl_first_graceful(serve, stop) to drain: on a signal the listener closes,
 * idle connections are told, and responses under way are written. */
pl_task_id pl_first_graceful(pl_ctx *cx, const pl_start *a, const pl_start *b,
                             const pl_handler *then, const void *mem, size_t len);

/* Ret: end the current computation with a result (len <= PL_RESULT_MAX).
 * Every other task of the computation is cancelled. Returning from the
 * program's root computation does nothing. */
void pl_ret(pl_ctx *cx, const void *res, size_t len);

/* Exit: after this handler returns, no handler is called again; queued log
 * lines are flushed and the run ends with `code`. */
void pl_exit(pl_ctx *cx, int code);

/* Shared references: runtime-owned cells, read and written atomically
 * between handler calls. Create them in the program's start; init NULL
 * makes a zero-filled cell of len bytes. */
typedef uint32_t pl_ref;
pl_ref pl_ref_new(pl_ctx *cx, const void *init, size_t len);
const void *pl_ref_get(pl_ctx *cx, pl_ref ref, size_t *len);
/* The cell itself, to change in place during this call (large shared
 * tables, such as a cache, without copying them). */
void *pl_ref_mut(pl_ctx *cx, pl_ref ref, size_t *len);
void pl_ref_set(pl_ctx *cx, pl_ref ref, const void *val, size_t len);
/* Grow or shrink a cell to len bytes, keeping what fits; new bytes are zero.
 * Returns the cell, to change in place as with pl_ref_mut (a table by
 * descriptor, grown as descriptors are). */
void *pl_ref_resize(pl_ctx *cx, pl_ref ref, size_t len);

/* The id of the task whose handler is running. */
pl_task_id pl_self(const pl_ctx *cx);

/* ---- programs ---------------------------------------------------------- */

typedef struct pl_program {
    const char *name;               /* "echo" */
    const char *version;
    const char *summary;            /* one line for --help */
    const char *usage;              /* "[PORT]" */
    const char *options;            /* its options for --help, one per line (or NULL) */
    /* Registry, NULL-terminated: names must be unique, and when a registry is
     * given every handler the program uses must be in it (checked). */
    const pl_handler *const *handlers;
    size_t cfg_size;
    /* Parse arguments (pure) into cfg; on error write a message to err and
     * return non-zero. */
    int (*parse)(void *cfg, int argc, char **argv, char *err, size_t err_len);
    /* Issue the first commands, in the root computation. */
    void (*start)(pl_ctx *cx, const void *cfg);
    /* Optional: adjust run options from the configuration (e.g. a bound on
     * open descriptors, the number of workers). */
    void (*tune)(const void *cfg, pl_run_opts *o);
    /* Optional: with several workers, each runs on its own copy of cfg; this
     * marks the copy with the worker's index (0 .. count-1). */
    void (*for_worker)(void *cfg, uint32_t index, uint32_t count);
    /* Optional, NULL-terminated: names of other programs whose durable
     * machines this one may start (it then replays their journal through its
     * own handlers, so it must accept their answers and handler names). A
     * machine refuses every other program. A new version of the same program
     * always may. */
    const char *const *migrates_from;
} pl_program;

/* The handler registered under name in p's registry, or NULL. */
const pl_handler *pl_program_handler(const pl_program *p, const char *name);

/* ---- running ----------------------------------------------------------- */

/* Where a run performs its commands. AUTO (the zero value) picks a live
 * backend: the environment variable PLUTO_BACKEND=epoll|uring|auto when set,
 * else io_uring where the kernel allows it, else epoll (saying why in one
 * line on stderr). URING asked for explicitly and unavailable is an error. */
typedef enum pl_backend_kind {
    PL_BACKEND_AUTO = 0,
    PL_BACKEND_EPOLL,       /* readiness, then non-blocking calls */
    PL_BACKEND_URING,       /* io_uring: submissions and completions */
    PL_BACKEND_SIM,         /* the deterministic simulated world */
} pl_backend_kind;

typedef struct pl_sim_opts {
    uint64_t seed;
    uint32_t clients;       /* simulated TCP clients */
    uint64_t bytes;         /* bytes each client sends at most */
    int faults;             /* inject faults (default on) */
    int verbose;            /* print the trace, one line per event */
    uint32_t files;         /* simulated files (walk) */
    const char *scenario;   /* the program's name: "echo" gets simulated clients and
                             * the echo check, "walk" the tree check, "serve" (or
                             * "http") HTTP clients and their checks, others none;
                             * NULL: echo and walk, where they apply */
    int break_check;        /* test only: the HTTP checker expects wrong bytes */
} pl_sim_opts;

/* Least privilege for a live run of pl_run_workers, or a durable machine (the
 * simulator ignores it). PL_SANDBOX_ON: before the workers start (a machine:
 * once it is live), no_new_privs and Landlock (reads beneath the `read`
 * paths only, writes to `log` and new files in its directory, files read,
 * written, created, renamed and removed beneath `dir`, no TCP connect), and
 * on io_uring a ring restricted to the operations the backend submits; once
 * every worker's set-up is over (`when`, below), `user` and a seccomp
 * allowlist of the system calls the live backends make after start-up
 * (others fail with EPERM). One line on stdout (a machine's: on stderr)
 * says what was applied. PL_SANDBOX_OFF: only `user`, and the line says the
 * sandbox is off. `user`, when started as root: become that user (its groups
 * too) once the set-up is over; NULL: stay root, with a warning. Not root:
 * refused unless it names the current user.
 *
 * The runtime decides when a worker's set-up is over: at the end of the first
 * loop turn after which no command that may lead to a listener or a file is
 * under way (TIME, LISTEN before its first answer, CONNECT, OPEN, STAT,
 * READ_FILE, READDIR, READ), only subscriptions that wait for the world and
 * log lines; the commands of that turn are performed first, so the lines it
 * logged come before the sandbox's. `when`:
 *   PL_SANDBOX_SETTLED    that alone (a program that listens after a chain
 *                         of such commands, or never listens)
 *   PL_SANDBOX_LISTENING  and at least one LISTEN answered (a program that
 *                         waits for a timer, say, before it listens)
 *   PL_SANDBOX_STARTED    the end of the first turn, whatever is under way (a
 *                         program that only reads files, which the allowlist
 *                         lets it go on doing: walk)
 * A durable machine's set-up is its start: the commands it re-issues as it
 * goes live count as under way. */
typedef enum pl_sandbox_mode { PL_SANDBOX_NONE = 0, PL_SANDBOX_OFF, PL_SANDBOX_ON } pl_sandbox_mode;
typedef enum pl_sandbox_when {
    PL_SANDBOX_SETTLED = 0, PL_SANDBOX_LISTENING, PL_SANDBOX_STARTED,
} pl_sandbox_when;
typedef struct pl_sandbox {
    pl_sandbox_mode mode;
    pl_sandbox_when when;
    const char *read[4];    /* directories or files read beneath; NULL ends */
    const char *log;        /* a file appended to, or NULL */
    const char *dir;        /* a durable machine's directory (set by the machine), or NULL */
    const char *user;
} pl_sandbox;

struct pl_run_opts {
    pl_backend_kind backend;
    uint32_t max_open;      /* descriptors the runtime may hold (0: from RLIMIT_NOFILE) */
    uint32_t workers;       /* live: independent runtimes on threads (0, 1: one;
                             * PL_WORKERS_AUTO: one per online CPU); they
                             * share nothing, listeners use SO_REUSEPORT, and when one
                             * ends the others get SIGTERM */
    pl_sim_opts sim;
    pl_sandbox sandbox;     /* live: least privilege (README "Sandbox"); zero: none */
};

/* Run program p with cfg until it exits or nothing is pending. Returns the
 * exit code (0 when it simply ran out of work). With the sim backend the
 * final line printed is `trace <16 hex digits>`. */
int pl_run(const pl_program *p, const void *cfg, const pl_run_opts *opts);
/* cfg_size: bytes of cfg, copied for each worker when there are several. */
int pl_run_workers(const pl_program *p, const void *cfg, size_t cfg_size,
                   const pl_run_opts *opts);

/* The command line every Pluto program gets:
 *   prog [ARGS]           run live on epoll
 *   prog sim [--seed N] [--clients N] [--bytes N] [--no-faults] [ARGS]
 *   prog boot DIR [ARGS]  a durable machine (pl_machine_boot); prog start DIR
 *                         resumes it; both take --fsync always|interval|never,
 *                         --snapshot-every N, --user NAME, --no-sandbox and
 *                         --sandbox anywhere after the subcommand
 * Returns the exit code (2 on usage errors). */
int pl_main(const pl_program *p, int argc, char **argv);

/* The same, for a command line that already chose the program: argv holds
 * only the program's arguments (and, when sim is non-zero, the simulator's
 * options mixed in). argv0 names the command in messages. */
int pl_cli_run(const pl_program *p, const char *argv0, int argc, char **argv, int sim);

/* ---- durable machines ---------------------------------------------------- */

/* A machine is a program run with every answer it receives journaled in a
 * directory, and its state snapshotted, so that it resumes after a stop, a
 * crash or a copy of the directory elsewhere (docs/JOURNAL.md):
 *   boot    create the machine in dir (refused when dir holds one) and run it;
 *           its arguments are recorded, to be parsed again at each start
 *   start   load the newest valid snapshot, replay the later events through
 *           the same handlers with effects suppressed, re-issue what was
 *           pending (timers re-armed, listeners re-bound; commands on
 *           descriptors that died with the old process answer -ECONNRESET for
 *           a receive, -EPIPE for a send, 0 for a close), and run on.
 * Output commit: no byte leaves for a socket (SEND, SENDFILE, CLOSE) and no
 * line is logged before the answer that caused it is in the journal (durable
 * under PL_FSYNC_ALWAYS, written under the others). SIGINT and SIGTERM stop
 * the machine (exit code 0) without the program hearing them; pl_exit ends
 * the run without journaling the turn that called it. Machines run one worker,
 * sandboxed by default (pl_sandbox, with `dir` the machine's directory and
 * the program's own read paths from its tune; README "Sandbox").
 * Returns the exit code: 1 with a message on stderr when the directory cannot
 * be used (an existing machine on boot, not a machine, corruption, another
 * program), 2 when the recorded arguments no longer parse. */
typedef enum pl_fsync {
    PL_FSYNC_DEFAULT = 0,   /* boot: ALWAYS; start: the machine's */
    PL_FSYNC_ALWAYS,        /* fdatasync once per loop turn (group commit) */
    PL_FSYNC_INTERVAL,      /* write each turn, fdatasync at most once a second */
    PL_FSYNC_NEVER,         /* write each turn; the OS syncs when it likes */
} pl_fsync;

enum { PL_SNAPSHOT_EVERY_DEFAULT = 10000 };

typedef struct pl_machine_opts {
    pl_fsync fsync;
    bool snapshot_given;        /* else boot: PL_SNAPSHOT_EVERY_DEFAULT; start: the machine's */
    uint64_t snapshot_every;    /* events between snapshots; 0: none */
    pl_backend_kind backend;    /* a live backend (AUTO, EPOLL, URING) */
    pl_sandbox_mode sandbox;    /* NONE: as recorded at boot (on unless boot said OFF);
                                 * OFF (--no-sandbox), ON (--sandbox) */
    const char *user;           /* --user NAME; NULL: as recorded at boot */
} pl_machine_opts;

/* o may be NULL (defaults). Options given to boot are recorded in the
 * machine; those given to start apply to that run only. */
int pl_machine_boot(const pl_program *p, const char *dir, int argc, char **argv,
                    const pl_machine_opts *o);
int pl_machine_start(const pl_program *p, const char *dir, const pl_machine_opts *o);
/* The name of the program a machine belongs to (into name, at most len
 * bytes): 0, or -1 with a message on stderr. */
int pl_machine_program(const char *dir, char *name, size_t len);

/* The error text for 0 or a negative errno. */
const char *pl_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
