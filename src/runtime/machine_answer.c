/* machine_answer.c — an answer as the payload of a journal record, and the
 * byte buffers the machine writes and reads (little-endian, as every file of
 * a machine).
 *
 *    0  u8 kind   1  u8 eof   2  u16 port   4  i32 err   8  i32 fd   12  i32 signo
 *   16  u64 n    24  u64 next
 *   32  by kind:  TIME    i64 wall_ns, i64 mono_ns
 *                 STAT, OPENED   u64 size, ino, dev, i64 mtime_s, mtime_ns,
 *                                u32 mode, u32 type
 *                 CLIENT  u8 length, the peer's address text
 *                 DATA, DIR      the bytes, to the end of the payload
 *
 * Only what a backend fills in is kept: the core's own answers (results of
 * Bind, Join, First) are never journaled.
 */
#include "runtime/machine.h"

#include <stdlib.h>
#include <string.h>

void pl__w_bytes(pl__wbuf *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *q = realloc(w->p, cap);
        PL_ASSERT(q != NULL);
        w->p = q;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

void pl__w_u8(pl__wbuf *w, uint8_t v) { pl__w_bytes(w, &v, 1); }

void pl__w_u32(pl__wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    pl__w_bytes(w, b, 4);
}

void pl__w_u64(pl__wbuf *w, uint64_t v)
{
    pl__w_u32(w, (uint32_t)v);
    pl__w_u32(w, (uint32_t)(v >> 32));
}

const uint8_t *pl__r_bytes(pl__rbuf *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t pl__r_u8(pl__rbuf *r)
{
    const uint8_t *p = pl__r_bytes(r, 1);
    return p ? p[0] : 0;
}

uint32_t pl__r_u32(pl__rbuf *r)
{
    const uint8_t *p = pl__r_bytes(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24
             : 0;
}

uint64_t pl__r_u64(pl__rbuf *r)
{
    uint64_t lo = pl__r_u32(r);
    return lo | (uint64_t)pl__r_u32(r) << 32;
}

void pl__answer_encode(pl__wbuf *w, const pl_answer *a)
{
    w->len = 0;
    pl__w_u8(w, (uint8_t)a->kind);
    pl__w_u8(w, (uint8_t)(a->eof != 0));
    uint8_t port[2] = { (uint8_t)a->port, (uint8_t)(a->port >> 8) };
    pl__w_bytes(w, port, 2);
    pl__w_u32(w, (uint32_t)a->err);
    pl__w_u32(w, (uint32_t)a->fd);
    pl__w_u32(w, (uint32_t)a->signo);
    pl__w_u64(w, a->n);
    pl__w_u64(w, a->next);
    switch (a->kind) {
    case PL_ANS_TIME:
        pl__w_u64(w, (uint64_t)a->wall_ns);
        pl__w_u64(w, (uint64_t)a->mono_ns);
        break;
    case PL_ANS_STAT:
    case PL_ANS_OPENED:
        pl__w_u64(w, a->st.size);
        pl__w_u64(w, a->st.ino);
        pl__w_u64(w, a->st.dev);
        pl__w_u64(w, (uint64_t)a->st.mtime_s);
        pl__w_u64(w, (uint64_t)a->st.mtime_ns);
        pl__w_u32(w, a->st.mode);
        pl__w_u32(w, (uint32_t)a->st.type);
        break;
    case PL_ANS_CLIENT: {
        size_t n = strnlen(a->peer, sizeof a->peer - 1);
        pl__w_u8(w, (uint8_t)n);
        pl__w_bytes(w, a->peer, n);
        break;
    }
    case PL_ANS_DATA:
    case PL_ANS_DIR:
        pl__w_bytes(w, a->data, a->len);
        break;
    default:
        break;
    }
}

int pl__answer_decode(const uint8_t *p, size_t n, pl_answer *a)
{
    pl__rbuf r = { .p = p, .len = n };
    *a = (pl_answer){ 0 };
    a->kind = (pl_ans_kind)pl__r_u8(&r);
    a->eof = pl__r_u8(&r);
    const uint8_t *port = pl__r_bytes(&r, 2);
    a->port = port ? (uint16_t)(port[0] | port[1] << 8) : 0;
    a->err = (int)pl__r_u32(&r);
    a->fd = (int)pl__r_u32(&r);
    a->signo = (int)pl__r_u32(&r);
    a->n = pl__r_u64(&r);
    a->next = pl__r_u64(&r);
    if (r.bad || a->kind < 0 || a->kind >= PL_ANS_KIND_COUNT)
        return -1;
    switch (a->kind) {
    case PL_ANS_TIME:
        a->wall_ns = (int64_t)pl__r_u64(&r);
        a->mono_ns = (int64_t)pl__r_u64(&r);
        break;
    case PL_ANS_STAT:
    case PL_ANS_OPENED:
        a->st.size = pl__r_u64(&r);
        a->st.ino = pl__r_u64(&r);
        a->st.dev = pl__r_u64(&r);
        a->st.mtime_s = (int64_t)pl__r_u64(&r);
        a->st.mtime_ns = (int64_t)pl__r_u64(&r);
        a->st.mode = pl__r_u32(&r);
        a->st.type = (pl_ftype)pl__r_u32(&r);
        break;
    case PL_ANS_CLIENT: {
        size_t len = pl__r_u8(&r);
        const uint8_t *peer = len < sizeof a->peer ? pl__r_bytes(&r, len) : NULL;
        if (peer == NULL)
            return -1;
        memcpy(a->peer, peer, len);
        break;
    }
    case PL_ANS_DATA:
    case PL_ANS_DIR:
        a->len = n - r.off;
        a->data = p + r.off;
        r.off = n;
        break;
    default:
        break;
    }
    return r.bad || r.off != n ? -1 : 0;
}
