/* test_uring_restrict.c — a sandboxed run's io_uring ring refuses what the
 * backend never submits (uring_setup.c, IORING_REGISTER_RESTRICTIONS).
 *
 * A ring's operations are performed by the kernel without passing through
 * seccomp, so a sandboxed run restricts its rings to the operations the
 * backend submits. The ring is set up here as the backend sets it up
 * (ur_ring_init), and asked to open a file, connect, do nothing, link
 * requests and register a probe: each is refused with EACCES, while
 * receives and sends on a socket pair, and a synchronous cancel, go on. An
 * unrestricted ring opens the same file, so the refusal is the
 * restriction's. Skipped where io_uring cannot run.
 */
#include "backend/uring.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Submit the prepared sqe and return its completion's result. */
static int complete(ur *e, struct io_uring_sqe *sqe)
{
    io_uring_sqe_set_data64(sqe, 42);
    cr_assert_geq(io_uring_submit_and_wait(&e->ring, 1), 0);
    struct io_uring_cqe *cqe;
    cr_assert_eq(io_uring_peek_cqe(&e->ring, &cqe), 0);
    cr_assert_eq(cqe->user_data, 42);
    int res = cqe->res;
    if (cqe->flags & IORING_CQE_F_BUFFER)
        ur_buf_recycle(e, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    io_uring_cqe_seen(&e->ring, cqe);
    return res;
}

static void ring(ur *e, bool restricted)
{
    char why[160] = "";
    memset(e, 0, sizeof *e);
    if (!pl__uring_usable(why, sizeof why))
        cr_skip_test("io_uring cannot run here: %s", why);
    cr_assert_eq(ur_ring_init(e, restricted, why, sizeof why), 0, "%s", why);
    if (restricted && !e->restricted) {
        ur_ring_deinit(e);
        cr_skip_test("this kernel does not restrict io_uring rings");
    }
}

static int open_file(ur *e)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    io_uring_prep_openat(sqe, AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC, 0);
    return complete(e, sqe);
}

Test(uring_restrict, refuses_what_the_backend_never_submits)
{
    ur e;
    ring(&e, true);
    cr_expect_eq(open_file(&e), -EACCES, "OPENAT on a restricted ring");

    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e.ring);
    io_uring_prep_connect(sqe, s, (struct sockaddr *)&sa, sizeof sa);
    cr_expect_eq(complete(&e, sqe), -EACCES, "CONNECT on a restricted ring");
    close(s);

    sqe = io_uring_get_sqe(&e.ring);
    io_uring_prep_nop(sqe);
    cr_expect_eq(complete(&e, sqe), -EACCES, "NOP on a restricted ring");

    struct io_uring_probe *p = io_uring_get_probe_ring(&e.ring);
    cr_expect_null(p, "IORING_REGISTER_PROBE on a restricted ring");
    io_uring_free_probe(p);
    ur_ring_deinit(&e);
}

Test(uring_restrict, lets_the_backend_work)
{
    ur e;
    ring(&e, true);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e.ring);
    io_uring_prep_send(sqe, sv[0], "hello", 5, 0);
    cr_expect_eq(complete(&e, sqe), 5, "SEND");

    sqe = io_uring_get_sqe(&e.ring);
    io_uring_prep_recv(sqe, sv[1], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;          /* from the buffer ring, as the backend does */
    sqe->buf_group = UR_BGID;
    cr_expect_eq(complete(&e, sqe), 5, "RECV with a provided buffer");

    sqe = io_uring_get_sqe(&e.ring);
    io_uring_prep_send(sqe, sv[0], "x", 1, 0);
    sqe->flags |= IOSQE_IO_LINK;                /* a flag the backend never sets */
    cr_expect_eq(complete(&e, sqe), -EACCES, "a linked SEND");

    struct io_uring_sync_cancel_reg reg = { .addr = 7, .fd = -1,
                                            .timeout = { .tv_sec = -1, .tv_nsec = -1 } };
    cr_expect_eq(io_uring_register_sync_cancel(&e.ring, &reg), -ENOENT,
                 "a synchronous cancel is allowed (nothing to cancel)");
    close(sv[0]);
    close(sv[1]);
    ur_ring_deinit(&e);
}

Test(uring_restrict, an_unrestricted_ring_opens_the_file)
{
    ur e;
    ring(&e, false);
    int fd = open_file(&e);
    cr_expect_geq(fd, 0, "OPENAT on an unrestricted ring: %s", strerror(-fd));
    if (fd >= 0)
        close(fd);
    ur_ring_deinit(&e);
}
