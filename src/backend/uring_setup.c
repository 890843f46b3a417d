/* uring_setup.c — setting up a ring, its buffer ring for receives, and the
 * check that tells the runtime whether io_uring can be used at all.
 *
 * The check is what `--backend auto` rests on: io_uring may be missing (an
 * old kernel), disabled (the io_uring_disabled sysctl) or blocked (seccomp
 * in many containers), and each gives a different error at setup; a kernel
 * may also lack an operation or a feature this backend relies on. Any of
 * these makes the runtime fall back to epoll, saying why in one line.
 *
 * A sandboxed run's ring is restricted (IORING_REGISTER_RESTRICTIONS): the
 * kernel performs a ring's operations without passing them through seccomp,
 * so the ring itself refuses (EACCES) every operation, submission flag and
 * registration but those the backend uses. It starts disabled
 * (IORING_SETUP_R_DISABLED); its descriptor and its buffer ring are
 * registered, then the restrictions, then it is enabled, and from then on
 * they hold. A kernel that refuses them leaves the ring unrestricted, and the
 * sandbox's line says so.
 */
#include "backend/uring.h"
#include "backend/ossandbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { UR_ENTRIES = 1024, UR_CQ_ENTRIES = 8192 };

/* What a restricted ring may do: the operations the backend submits
 * (io_uring_prep_* in uring_*.c: multishot receives, sends, multishot
 * accepts, polls for the signalfd and for room to send, cancels), less
 * CONNECT, which a sandboxed run may not make (seccomp refuses connect(2),
 * Landlock TCP connections); the one submission flag it sets; and the
 * registrations it makes once running (a synchronous cancel; at exit,
 * liburing lets go of the registered ring descriptor). The buffer ring is
 * registered once, before the restrictions, and never again. */
static const uint8_t RING_OPS[] = {
    IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ACCEPT, IORING_OP_POLL_ADD,
    IORING_OP_ASYNC_CANCEL,
};
static const uint8_t RING_REGISTER[] = {
    IORING_REGISTER_SYNC_CANCEL, IORING_UNREGISTER_RING_FDS,
};
enum { NRING_OPS = sizeof RING_OPS, NRING_REGISTER = sizeof RING_REGISTER };

/* io_uring_register(2) itself: Debian's liburing 2.3 declares
 * io_uring_register_restrictions and io_uring_enable_rings but does not
 * export them. 0 or a negative errno. */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned n)
{
    return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, n) < 0 ? -errno : 0;
}

static int ring_restrict(struct io_uring *ring)
{
    struct io_uring_restriction r[NRING_OPS + NRING_REGISTER + 1];
    unsigned n = 0;
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < NRING_OPS; i++, n++) {
        r[n].opcode = IORING_RESTRICTION_SQE_OP;
        r[n].sqe_op = RING_OPS[i];
    }
    for (size_t i = 0; i < NRING_REGISTER; i++, n++) {
        r[n].opcode = IORING_RESTRICTION_REGISTER_OP;
        r[n].register_op = RING_REGISTER[i];
    }
    r[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    r[n++].sqe_flags = IOSQE_BUFFER_SELECT;
    return ring_register(ring, IORING_REGISTER_RESTRICTIONS, r, n);
}

/* The fastest setup the kernel takes: completions processed only when the
 * loop asks (DEFER_TASKRUN, 6.1), else cooperatively (5.19), else plain;
 * flags: IORING_SETUP_R_DISABLED for a ring to restrict, or 0. */
static int ring_setup(struct io_uring *ring, unsigned flags)
{
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int err = -EINVAL;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct io_uring_params p = { .flags = tries[i] | flags | IORING_SETUP_CQSIZE |
                                              IORING_SETUP_SUBMIT_ALL,
                                     .cq_entries = UR_CQ_ENTRIES };
        err = io_uring_queue_init_params(UR_ENTRIES, ring, &p);
        if (err == 0)
            return 0;
        if (err != -EINVAL)
            break;                      /* refused, not a flag it lacks */
    }
    return err;
}

/* The ring holds only as many buffers as receives need at once (bwant): it
 * hands them out in order, and each one it hands out is a page at least of
 * resident memory, so a ring kept full would soon have touched every
 * buffer (1 MiB for small requests alone) for a load that needs a few
 * dozen at a time. Buffers that come back go on a stack and the ring is
 * refilled from its top, so the same few buffers keep turning. A receive
 * that finds the ring dry (ENOBUFS) is re-armed, its bytes waiting in the
 * socket meanwhile, and raises bwant by one, by at most UR_BUFS_STEP per
 * loop turn: a steady load (a hundred busy keep-alive clients) brings the
 * ring to its size within a few turns, while the odd burst (hundreds of
 * new clients whose requests all wait at once) is served over a few turns
 * instead of leaving the whole ring touched. */
static void bufs_fill(ur *e)
{
    int n = 0;
    while (e->bring < e->bwant && e->nbstack > 0) {
        unsigned bid = e->bstack[--e->nbstack];
        io_uring_buf_ring_add(e->br, e->bufs + (size_t)bid * UR_BUFSZ, UR_BUFSZ,
                              (unsigned short)bid, io_uring_buf_ring_mask(UR_NBUFS), n++);
        e->bring++;
    }
    if (n > 0)
        io_uring_buf_ring_advance(e->br, n);
}

static int bufs_init(ur *e)
{
    e->br_bytes = UR_NBUFS * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, e->br_bytes + (size_t)UR_NBUFS * UR_BUFSZ, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -errno;
    e->br = mem;
    e->bufs = (uint8_t *)mem + e->br_bytes;
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)e->br,
                                    .ring_entries = UR_NBUFS, .bgid = UR_BGID };
    int err = io_uring_register_buf_ring(&e->ring, &reg, 0);
    if (err != 0) {
        munmap(mem, e->br_bytes + (size_t)UR_NBUFS * UR_BUFSZ);
        e->br = NULL;
        return err;
    }
    io_uring_buf_ring_init(e->br);
    e->nbstack = 0;
    for (int i = UR_NBUFS - 1; i >= 0; i--)
        e->bstack[e->nbstack++] = (uint16_t)i;
    e->bring = 0;
    e->bwant = UR_BUFS_MIN;
    bufs_fill(e);
    return 0;
}

/* A receive is done with buffer bid: it goes back on the stack, and the ring
 * is refilled from the stack's top (bid itself, unless the ring is full). */
void ur_buf_recycle(ur *e, unsigned bid)
{
    PL_ASSERT(bid < UR_NBUFS && e->bring > 0 && e->nbstack < UR_NBUFS);
    e->bring--;
    e->bstack[e->nbstack++] = (uint16_t)bid;
    bufs_fill(e);
}

/* A receive found no buffer in the ring: it holds one more from now on, if
 * this turn may still grow it. */
void ur_buf_dry(ur *e)
{
    if (e->bgrow == 0 || e->bwant >= UR_NBUFS)
        return;
    e->bgrow--;
    e->bwant++;
    bufs_fill(e);
}

/* A loop turn starts reaping. */
void ur_buf_turn(ur *e)
{
    e->bgrow = UR_BUFS_STEP;
}

/* Does the kernel end a multishot receive after a byte cap (sqe->optlen,
 * where liburing 2.3 has file_index)? Older kernels refuse the field with
 * EINVAL. One byte through a socket pair with a cap of one byte tells. */
static bool probe_recv_cap(ur *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return false;
    bool ok = false;
    if (write(sv[1], "x", 1) == 1) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
        io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = UR_BGID;
        sqe->file_index = 1;
        io_uring_sqe_set_data64(sqe, 0);   /* if it outlived us: ignored by reap */
        struct io_uring_cqe *cqe;
        if (io_uring_submit_and_wait(&e->ring, 1) >= 0 && io_uring_peek_cqe(&e->ring, &cqe) == 0) {
            ok = cqe->res == 1 && !(cqe->flags & IORING_CQE_F_MORE);
            if (cqe->flags & IORING_CQE_F_BUFFER)
                ur_buf_recycle(e, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
            io_uring_cqe_seen(&e->ring, cqe);
        }
    }
    close(sv[0]);                       /* a receive still armed ends with its socket */
    close(sv[1]);
    return ok;
}

/* The disabled ring is restricted, then enabled; the sandbox hears which. */
static int ring_enable(ur *e, char *why, size_t why_len)
{
    int err = ring_restrict(&e->ring);
    char no[160] = "";
    if (err != 0)
        snprintf(no, sizeof no, "IORING_REGISTER_RESTRICTIONS: %s", strerror(-err));
    e->restricted = err == 0;
    int en = ring_register(&e->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    if (en != 0) {
        snprintf(why, why_len, "IORING_REGISTER_ENABLE_RINGS: %s", strerror(-en));
        return en;
    }
    pl__sandbox_ring(err == 0 ? NRING_OPS : err, no);
    return 0;
}

int ur_ring_init(ur *e, bool restricted, char *why, size_t why_len)
{
    int err = ring_setup(&e->ring, restricted ? IORING_SETUP_R_DISABLED : 0);
    bool disabled = restricted && err == 0;
    if (restricted && err != 0) {       /* a kernel without R_DISABLED: unrestricted */
        char no[160];
        snprintf(no, sizeof no, "IORING_SETUP_R_DISABLED: %s", strerror(-err));
        int first = err;
        err = ring_setup(&e->ring, 0);
        if (err == 0)
            pl__sandbox_ring(first, no);
    }
    if (err != 0) {
        snprintf(why, why_len, "io_uring_setup: %s", strerror(-err));
        return err;
    }
    io_uring_register_ring_fd(&e->ring);    /* optional: saves a lookup per enter */
    err = bufs_init(e);
    if (err != 0)
        snprintf(why, why_len, "no provided buffer rings: %s", strerror(-err));
    if (err == 0 && disabled)
        err = ring_enable(e, why, why_len);
    if (err != 0) {
        io_uring_queue_exit(&e->ring);
        if (e->br != NULL)
            munmap(e->br, e->br_bytes + (size_t)UR_NBUFS * UR_BUFSZ);
        e->br = NULL;
        return err;
    }
    e->recv_cap = probe_recv_cap(e);
    return 0;
}

void ur_ring_deinit(ur *e)
{
    io_uring_queue_exit(&e->ring);
    if (e->br != NULL)
        munmap(e->br, e->br_bytes + (size_t)UR_NBUFS * UR_BUFSZ);
}

/* ---- can io_uring be used here? ---------------------------------------- */

static const struct { int op; const char *name; } NEEDED[] = {
    { IORING_OP_RECV, "recv" }, { IORING_OP_SEND, "send" },
    { IORING_OP_ACCEPT, "accept" }, { IORING_OP_CONNECT, "connect" },
    { IORING_OP_POLL_ADD, "poll" }, { IORING_OP_ASYNC_CANCEL, "cancel" },
};

/* Multishot receive, buffer rings and synchronous cancel came together
 * (Linux 6.0): a ring that takes a sync cancel has them all. */
static int probe(char *why, size_t n)
{
    ur e = { 0 };
    int err = ur_ring_init(&e, false, why, n);
    if (err != 0)
        return err;
    struct io_uring_probe *p = io_uring_get_probe_ring(&e.ring);
    for (size_t i = 0; err == 0 && i < sizeof NEEDED / sizeof NEEDED[0]; i++) {
        if (p == NULL || !io_uring_opcode_supported(p, NEEDED[i].op)) {
            snprintf(why, n, "the kernel has no io_uring %s", NEEDED[i].name);
            err = -ENOSYS;
        }
    }
    io_uring_free_probe(p);
    struct io_uring_sync_cancel_reg reg = { .addr = 1, .fd = -1,
                                            .timeout = { .tv_sec = -1, .tv_nsec = -1 } };
    int r = err ? -ENOENT : io_uring_register_sync_cancel(&e.ring, &reg);
    if (r != -ENOENT) {
        snprintf(why, n, "the kernel has no synchronous io_uring cancel (Linux 6.0)");
        err = -ENOSYS;
    }
    ur_ring_deinit(&e);
    return err;
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static char probe_why[160];
static bool probe_ok;

static void probe_run(void)
{
    probe_ok = probe(probe_why, sizeof probe_why) == 0;
}

bool pl__uring_usable(char *why, size_t why_len)
{
    pthread_once(&probe_once, probe_run);
    if (!probe_ok && why != NULL)
        snprintf(why, why_len, "%s", probe_why);
    return probe_ok;
}
