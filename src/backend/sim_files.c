/* sim_files.c — the simulated file tree and the file commands on it.
 *
 * The tree is generated from the seed (its own PRNG stream, so it does not
 * depend on what the program does): about one directory for every six files,
 * nested, with file sizes from empty to half a megabyte. File contents are
 * never stored; byte i of a file is computed from the file's seed.
 *
 * Paths resolve like openat2() with RESOLVE_BENEATH below a directory
 * descriptor: an absolute path, or ".." that would leave the directory, fails
 * with EXDEV. From PL_DIR_CWD the tree is the whole filesystem ("/" and "."
 * are its root), and a directory the tree does not contain, asked for by
 * OPEN with PL_OPEN_DIR or READDIR, names the root: `walk DIR` walks the
 * simulated tree whatever DIR is. With faults on, opening, stat-ing or
 * reading a file fails now and then with EIO.
 *
 * OPEN with PL_OPEN_APPEND (a log) gives a descriptor outside the tree:
 * SEND to it is taken whole after a short disk delay, and not kept.
 */
#include "backend/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int node_add(sim_world *w, int parent, pl_ftype type, const char *name)
{
    int i = (int)w->nnodes++;
    sim_node *n = &w->nodes[i];
    *n = (sim_node){ .type = (uint8_t)type, .parent = parent, .child = -1, .last = -1,
                     .next = -1 };
    snprintf(n->name, sizeof n->name, "%s", name);
    n->mtime_s = SIM_EPOCH_NS / 1000000000 - (int64_t)sim_below(w, 30000000);
    n->seed = sim_rng_next(w->rng);
    if (parent >= 0) {
        sim_node *p = &w->nodes[parent];
        if (p->last >= 0)
            w->nodes[p->last].next = i;
        else
            p->child = i;
        p->last = i;
    }
    return i;
}

static uint64_t file_size(sim_world *w)
{
    uint64_t r = sim_below(w, 20);
    return r == 0 ? 0 : r < 13 ? sim_size(w, 8192) : r < 19 ? sim_size(w, 65536)
                                                            : sim_size(w, 512 * 1024);
}

void sim_tree_build(sim_world *w)
{
    static const char *const words[] = { "index", "notes", "data", "img", "report", "log",
                                          "main", "readme" };
    static const char *const exts[] = { "txt", "html", "css", "js", "png", "bin" };
    uint64_t saved[4];
    memcpy(saved, w->rng, sizeof saved);
    sim_rng_seed(w->rng, w->o.seed ^ 0x7472656573ull);
    uint32_t nfiles = w->o.files, ndirs = nfiles / 6 + 1;
    w->nodes = calloc(1 + ndirs + nfiles, sizeof *w->nodes);
    PL_ASSERT(w->nodes != NULL);
    node_add(w, -1, PL_FT_DIR, "");
    char name[24];
    for (uint32_t i = 1; i <= ndirs; i++) {
        uint64_t back = i < 3 ? i : 3;
        int parent = sim_below(w, 2) ? (int)(i - 1 - sim_below(w, back)) : (int)sim_below(w, i);
        snprintf(name, sizeof name, "d%u", i);
        node_add(w, parent, PL_FT_DIR, name);
    }
    for (uint32_t j = 0; j < nfiles; j++) {
        int parent = (int)sim_below(w, ndirs + 1);
        snprintf(name, sizeof name, "%s%u.%s", words[sim_below(w, 8)], j, exts[sim_below(w, 6)]);
        int n = node_add(w, parent, PL_FT_FILE, name);
        w->nodes[n].size = file_size(w);
        w->tree_files++;
        w->tree_bytes += w->nodes[n].size;
    }
    memcpy(w->rng, saved, sizeof saved);
}

void sim_file_content(const sim_world *w, int node, uint64_t off, uint8_t *buf, size_t n)
{
    sim_fill(w->nodes[node].seed, off, buf, n);
}

/* "/d1/d4/notes7.txt" for a node, "/" for the root; 0 if it does not fit. */
size_t sim_node_path(const sim_world *w, int node, char *buf, size_t cap)
{
    size_t n = 0;
    if (node <= 0)
        return (size_t)snprintf(buf, cap, "/");
    n = sim_node_path(w, w->nodes[node].parent, buf, cap);
    if (n == 0)
        return 0;
    if (n == 1)
        n = 0;                          /* the root's "/" is the separator */
    int k = snprintf(buf + n, cap - n, "/%s", w->nodes[node].name);
    return k < 0 || (size_t)k >= cap - n ? 0 : n + (size_t)k;
}

static int child_named(const sim_world *w, int dir, const char *name, size_t len)
{
    for (int c = w->nodes[dir].child; c >= 0; c = w->nodes[c].next)
        if (strlen(w->nodes[c].name) == len && memcmp(w->nodes[c].name, name, len) == 0)
            return c;
    return -ENOENT;
}

/* The node path names beneath dir, or a negative errno. */
static int resolve(sim_world *w, int dir, const char *path, size_t len)
{
    int cur = 0, top = 0;
    if (dir != PL_DIR_CWD) {
        sim_fd *f = sim_fd_at(w, dir);
        if (f == NULL)
            return -EBADF;
        if (f->kind != SIM_FD_DIR)
            return -ENOTDIR;
        if (len > 0 && path[0] == '/')
            return -EXDEV;
        cur = top = f->node;
    }
    for (size_t at = 0; at < len;) {
        const char *p = path + at, *slash = memchr(p, '/', len - at);
        size_t n = slash ? (size_t)(slash - p) : len - at;
        at += n + 1;
        if (n == 0 || (n == 1 && p[0] == '.'))
            continue;
        if (n > 255)
            return -ENAMETOOLONG;
        if (w->nodes[cur].type != PL_FT_DIR)
            return -ENOTDIR;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (cur == top && dir != PL_DIR_CWD)
                return -EXDEV;          /* it would leave the directory */
            cur = cur == 0 ? 0 : w->nodes[cur].parent;
            continue;
        }
        cur = child_named(w, cur, p, n);
        if (cur < 0)
            return cur;
    }
    return cur;
}

/* Resolve op's path; a directory-wanting lookup from CWD falls back to the root. */
static int lookup(sim_world *w, const pl__task *t, bool wants_dir)
{
    int n = resolve(w, t->cmd.dir, t->cmd.text ? t->cmd.text : "", t->cmd.len);
    if (n == -ENOENT && wants_dir && t->cmd.dir == PL_DIR_CWD)
        n = 0;
    return n;
}

static bool inject_eio(sim_world *w, int n)
{
    if (!w->o.faults || w->nodes[n].type != PL_FT_FILE || sim_below(w, SIM_EIO_ONE_IN) != 0)
        return false;
    w->nodes[n].faulted = true;
    w->st.eio++;
    return true;
}

/* Serve: now and then, a file open fails with EMFILE (as another part of
 * the process might have taken the last descriptor). */
static bool inject_emfile(sim_world *w, int n)
{
    if (!w->http || !w->o.faults || w->nodes[n].type != PL_FT_FILE ||
        sim_below(w, SIM_OPEN_EMFILE_ONE_IN) != 0)
        return false;
    w->nodes[n].emfiled = true;
    w->st.emfile_open++;
    return true;
}

static void fill_stat(const sim_world *w, int i, pl_stat *st)
{
    const sim_node *n = &w->nodes[i];
    bool dir = n->type == PL_FT_DIR;
    *st = (pl_stat){ .size = dir ? 4096 : n->size, .ino = (uint64_t)i + 1, .dev = 0x5349,
                     .mtime_s = n->mtime_s, .mode = dir ? (S_IFDIR | 0755) : (S_IFREG | 0644),
                     .type = (pl_ftype)n->type };
}

static void open_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_OPENED, .fd = -1 };
    bool want_dir = (op->t->cmd.flags & PL_OPEN_DIR) != 0;
    int n = lookup(w, op->t, want_dir);
    if (n >= 0 && want_dir && w->nodes[n].type != PL_FT_DIR)
        n = -ENOTDIR;
    if (n >= 0 && inject_eio(w, n))
        n = -EIO;
    if (n >= 0 && inject_emfile(w, n))
        n = -EMFILE;
    if (n >= 0) {
        bool dir = w->nodes[n].type == PL_FT_DIR;
        a.fd = sim_fd_alloc(w, dir ? SIM_FD_DIR : SIM_FD_FILE);
        if (a.fd >= 0) {
            w->fds[a.fd].node = n;
            fill_stat(w, n, &a.st);
        }
    }
    a.err = n < 0 ? n : a.fd < 0 ? a.fd : 0;
    if (a.err)
        a.fd = -1;
    sim_final(w, op, &a);
}

/* One page of entries: the cookie is how many entries earlier pages held.
 * Pages are cut at a random size, so paging is exercised in every tree. */
static void readdir_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_DIR };
    int d = lookup(w, op->t, true);
    a.err = d < 0 ? d : w->nodes[d].type != PL_FT_DIR ? -ENOTDIR : 0;
    uint64_t skip = op->t->cmd.offset, index = 0;
    size_t page = op->t->cmd.count ? op->t->cmd.count : PL_DIR_PAGE;
    size_t cut = 16 + (size_t)sim_below(w, 512);
    if (cut < page)
        page = cut;
    for (int c = a.err ? -1 : w->nodes[d].child; c >= 0; c = w->nodes[c].next, index++) {
        size_t n = strlen(w->nodes[c].name) + 2;
        if (index < skip)
            continue;
        if (a.n > 0 && a.len + n > page) {
            a.next = index;
            break;
        }
        if (a.len + n > w->dircap) {
            w->dircap = w->dircap ? w->dircap * 2 : 4096;
            w->dirbuf = realloc(w->dirbuf, w->dircap);
            PL_ASSERT(w->dirbuf != NULL);
        }
        w->dirbuf[a.len] = w->nodes[c].type;
        memcpy(w->dirbuf + a.len + 1, w->nodes[c].name, n - 1);
        a.len += n;
        a.n++;
    }
    a.data = w->dirbuf;
    sim_final(w, op, &a);
}

static void read_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_DATA, .eof = 1 };
    if (op->node < 0) {
        int n = lookup(w, op->t, false);
        a.err = n < 0 ? n : w->nodes[n].type == PL_FT_DIR ? -EISDIR : 0;
        if (a.err) {
            sim_final(w, op, &a);
            return;
        }
        op->node = n;
    }
    const sim_node *f = &w->nodes[op->node];
    if (f->size > op->done && inject_eio(w, op->node))
        a.err = -EIO;
    if (a.err || op->done == f->size) {
        sim_final(w, op, &a);           /* eof, len 0 (or the error) */
        return;
    }
    uint64_t n = sim_size(w, SIM_CHUNK);
    n = n < f->size - op->done ? n : f->size - op->done;
    sim_file_content(w, op->node, op->done, w->scratch, (size_t)n);
    op->done += n;
    a.eof = 0;
    a.data = w->scratch;
    a.len = (size_t)n;
    pl__task *t = op->t;
    sim_deliver(w, t, &a);
    if (t->bkp == op)
        sim_sched(w, &op->ev, w->now + sim_below(w, 3));
}

/* READ on a simulated file descriptor: bytes of its node at offset. */
static void pread_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_DATA };
    const pl__cmd *c = &op->t->cmd;
    int node = c->fd >= 0 && c->fd < w->nfds ? w->fds[c->fd].node : -1;
    if (node < 0 || w->nodes[node].type != PL_FT_FILE) {
        a.err = -EBADF;
    } else if (inject_eio(w, node)) {
        a.err = -EIO;
    } else {
        uint64_t size = w->nodes[node].size, off = c->offset;
        uint64_t n = off >= size ? 0 : size - off;
        n = n < c->count ? n : c->count;
        n = n < SIM_CHUNK ? n : SIM_CHUNK;
        sim_file_content(w, node, off, w->scratch, (size_t)n);
        a.data = w->scratch;
        a.len = (size_t)n;
    }
    sim_final(w, op, &a);
}

bool sim_is_append(sim_world *w, int fd)
{
    sim_fd *f = sim_fd_at(w, fd);
    return f != NULL && f->kind == SIM_FD_APPEND;
}

/* A log: an append descriptor, and every write to it taken whole. */
static void append_step(sim_world *w, sim_op *op)
{
    const pl__task *t = op->t;
    if (t->cmd.kind == PL_CMD_SEND) {
        pl_answer a = { .kind = PL_ANS_SENT, .n = t->data_len };
        sim_final(w, op, &a);
        return;
    }
    pl_answer a = { .kind = PL_ANS_OPENED, .fd = sim_fd_alloc(w, SIM_FD_APPEND) };
    a.err = a.fd < 0 ? a.fd : 0;
    if (a.err)
        a.fd = -1;
    else
        a.st = (pl_stat){ .type = PL_FT_FILE, .mode = S_IFREG | 0644, .dev = 0x5349 };
    sim_final(w, op, &a);
}

void sim_file_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_STAT };
    if (op->t->cmd.kind == PL_CMD_SEND ||
        (op->t->cmd.kind == PL_CMD_OPEN && (op->t->cmd.flags & PL_OPEN_APPEND))) {
        append_step(w, op);
        return;
    }
    w->tree_used = true;
    switch (op->t->cmd.kind) {
    case PL_CMD_OPEN: open_step(w, op); return;
    case PL_CMD_READDIR: readdir_step(w, op); return;
    case PL_CMD_READ_FILE: read_step(w, op); return;
    case PL_CMD_READ: pread_step(w, op); return;
    case PL_CMD_STAT: {
        int n = lookup(w, op->t, false);
        if (n >= 0 && inject_eio(w, n))
            n = -EIO;
        if (n >= 0)
            fill_stat(w, n, &a.st);
        a.err = n < 0 ? n : 0;
        sim_final(w, op, &a);
        return;
    }
    default:
        PL_ASSERT(!"not a file command");
    }
}
