/* walk.c — read every file under a directory concurrently, by recursive Join.
 *
 *   walk(dir)      = readdir(dir) one page at a time: list(page) for the last
 *                    page, join(list(page), walk(rest of dir)) before it
 *   list([])       = ret 0
 *   list([e])      = walk(e) if e is a directory, read(e) if a file
 *   list(es)       = join(list(left half), list(right half)), then ret the sum
 *   read(file)     = read-file stream, ret { 1 file, its bytes }
 *
 * Nothing here bounds concurrency: every file may be asked for at once. The
 * runtime admits descriptor-creating commands only while a slot is free
 * (--jobs N slots), so the walk never meets "too many open files".
 */
#include "apps/apps.h"
#include "runtime/assert.h"

#include <stdlib.h>
#include <string.h>

typedef struct walk_cfg { char dir[PL_PATH_MAX]; uint32_t jobs; } walk_cfg;
typedef struct walk_res { uint64_t files, bytes, errors; } walk_res;
/* A directory to read: its path below the root, NUL-terminated. */
typedef struct dir_mem { int root; char path[]; } dir_mem;
/* Entries still to walk: path, NUL, then packed entries (type, name, NUL). */
typedef struct list_mem { int root; uint32_t count, path_len, ents_len; char data[]; } list_mem;

static void walk_list(pl_ctx *cx, int root, const char *path, const uint8_t *ents,
                      size_t len, uint32_t count);

static void ret_res(pl_ctx *cx, uint64_t files, uint64_t bytes, uint64_t errors)
{
    walk_res r = { files, bytes, errors };
    pl_ret(cx, &r, sizeof r);
}

static walk_res res_of(const pl_result *r)
{
    walk_res w = { 0, 0, 0 };
    if (r->len == sizeof w)
        memcpy(&w, r->data, sizeof w);
    return w;
}

static pl_verdict on_file(pl_ctx *cx, void *mem, const pl_answer *a)
{
    uint64_t *bytes = mem;
    if (a->err != 0) {
        ret_res(cx, 0, 0, 1);
        return PL_DONE;
    }
    *bytes += a->len;
    if (a->eof)
        ret_res(cx, 1, *bytes, 0);
    return a->eof ? PL_DONE : PL_KEEP;
}
static PL_HANDLER(h_file, on_file);

static pl_verdict on_sum(pl_ctx *cx, void *mem, const pl_answer *a)
{
    walk_res x = res_of(&a->res[0]), y = res_of(&a->res[1]);
    ret_res(cx, x.files + y.files, x.bytes + y.bytes, x.errors + y.errors);
    return PL_DONE;
}
static PL_HANDLER(h_sum, on_sum);

static pl_start list_start(int root, const char *path, const uint8_t *ents, size_t len,
                           uint32_t count, list_mem **out);
static const pl_handler h_dir;

static pl_verdict on_dir(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const dir_mem *d = mem;
    if (a->err != 0) {
        ret_res(cx, 0, 0, 1);
        return PL_DONE;
    }
    if (a->next == 0) {
        walk_list(cx, d->root, d->path, a->data, a->len, (uint32_t)a->n);
        return PL_DONE;
    }
    list_mem *l;
    pl_start page = list_start(d->root, d->path, a->data, a->len, (uint32_t)a->n, &l);
    pl_start rest = { pl_cmd_readdir_from(d->root, d->path, a->next), &h_dir, d,
                      sizeof *d + strlen(d->path) + 1 };
    pl_join(cx, &page, &rest, &h_sum, NULL, 0);
    free(l);
    return PL_DONE;
}
static PL_HANDLER(h_dir, on_dir);

static pl_verdict on_list(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const list_mem *l = mem;
    walk_list(cx, l->root, l->data, (const uint8_t *)l->data + l->path_len + 1,
              l->ents_len, l->count);
    return PL_DONE;
}
static PL_HANDLER(h_list, on_list);

static pl_verdict on_forward(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, a->res[0].data, a->res[0].len);
    return PL_DONE;
}
static PL_HANDLER(h_forward, on_forward);

/* One entry: a directory to walk or a file to read. */
static void walk_entry(pl_ctx *cx, int root, const char *path, pl_ftype type, const char *name)
{
    size_t plen = strlen(path), nlen = strlen(name);
    if (plen + nlen + 2 > PL_PATH_MAX) {
        ret_res(cx, 0, 0, 1);
        return;
    }
    dir_mem *d = malloc(sizeof *d + plen + nlen + 2);
    PL_ASSERT(d != NULL);
    d->root = root;
    memcpy(d->path, path, plen);
    size_t at = plen;
    if (plen)
        d->path[at++] = '/';
    memcpy(d->path + at, name, nlen + 1);
    size_t dlen = sizeof *d + at + nlen + 1;
    uint64_t zero = 0;
    pl_start s = type == PL_FT_DIR
        ? (pl_start){ pl_cmd_readdir(root, d->path), &h_dir, d, dlen }
        : (pl_start){ pl_cmd_read_file(root, d->path), &h_file, &zero, sizeof zero };
    pl_bind(cx, &s, &h_forward, NULL, 0);
    free(d);
}

/* A list computation for `count` entries in ents[0..len). */
static pl_start list_start(int root, const char *path, const uint8_t *ents, size_t len,
                           uint32_t count, list_mem **out)
{
    size_t plen = strlen(path);
    list_mem *l = malloc(sizeof *l + plen + 1 + len);
    PL_ASSERT(l != NULL);
    *l = (list_mem){ root, count, (uint32_t)plen, (uint32_t)len };
    memcpy(l->data, path, plen + 1);
    memcpy(l->data + plen + 1, ents, len);
    *out = l;
    return (pl_start){ pl_cmd_none(), &h_list, l, sizeof *l + plen + 1 + len };
}

static void walk_list(pl_ctx *cx, int root, const char *path, const uint8_t *ents,
                      size_t len, uint32_t count)
{
    pl_answer view = { .data = ents, .len = len };
    size_t pos = 0, mid = 0;
    uint32_t kept = 0, half = count / 2;
    pl_ftype type;
    const char *name, *only = NULL;
    pl_ftype only_type = PL_FT_OTHER;
    while ((name = pl_dirent_next(&pos, &view, &type)) != NULL) {
        if (type != PL_FT_DIR && type != PL_FT_FILE)
            continue;                   /* symlinks and devices are not walked */
        only = name, only_type = type;
        if (++kept == half)
            mid = pos;
    }
    if (kept == 0) {
        ret_res(cx, 0, 0, 0);
    } else if (kept == 1) {
        walk_entry(cx, root, path, only_type, only);
    } else {
        if (kept != count) {            /* recount halves over kept entries only */
            half = kept / 2;
            pos = 0;
            for (uint32_t k = 0; (name = pl_dirent_next(&pos, &view, &type)) != NULL;)
                if ((type == PL_FT_DIR || type == PL_FT_FILE) && ++k == half)
                    break;
            mid = pos;
        }
        list_mem *l, *r;
        pl_start a = list_start(root, path, ents, mid, half, &l);
        pl_start b = list_start(root, path, ents + mid, len - mid, kept - half, &r);
        pl_join(cx, &a, &b, &h_sum, NULL, 0);
        free(l);
        free(r);
    }
}

static pl_verdict on_total(pl_ctx *cx, void *mem, const pl_answer *a)
{
    walk_res r = res_of(&a->res[0]);
    pl_logf(cx, "files %llu bytes %llu", (unsigned long long)r.files,
            (unsigned long long)r.bytes);
    if (r.errors)
        pl_errf(cx, "pluto walk: %llu entries could not be read",
                (unsigned long long)r.errors);
    pl_exit(cx, r.errors ? 1 : 0);
    return PL_DONE;
}
static PL_HANDLER(h_total, on_total);

static pl_verdict on_root(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const walk_cfg *cfg = mem;
    if (a->err != 0) {
        pl_errf(cx, "pluto walk: %s: %s", cfg->dir, pl_strerror(a->err));
        pl_exit(cx, 1);
        return PL_DONE;
    }
    _Alignas(dir_mem) char buf[sizeof(dir_mem) + 1] = { 0 };   /* path "" */
    dir_mem *d = (dir_mem *)buf;
    d->root = a->fd;
    pl_start s = { pl_cmd_readdir(a->fd, ""), &h_dir, d, sizeof buf };
    pl_bind(cx, &s, &h_total, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_root, on_root);

static void walk_start(pl_ctx *cx, const void *p)
{
    const walk_cfg *cfg = p;
    pl_cmd open = pl_cmd_open(PL_DIR_CWD, cfg->dir, PL_OPEN_DIR);
    pl_send(cx, &open, &h_root, cfg, sizeof *cfg);
}

static int walk_parse(void *p, int argc, char **argv, char *err, size_t len)
{
    walk_cfg *cfg = p;
    cfg->dir[0] = 0;
    cfg->jobs = 64;
    for (int i = 0; i < argc; i++) {
        uint64_t n;
        if (strcmp(argv[i], "--jobs") == 0 || strcmp(argv[i], "-j") == 0) {
            if (++i == argc || pl_app_number(argv[i], 1, 1 << 20, &n) != 0)
                return pl_app_error(err, len, "--jobs needs a number from 1 to 1048576");
            cfg->jobs = (uint32_t)n;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            return pl_app_error(err, len, "unknown option '%s'", argv[i]);
        } else if (cfg->dir[0] != 0) {
            return pl_app_error(err, len, "unexpected argument '%s'", argv[i]);
        } else if (strlen(argv[i]) >= sizeof cfg->dir) {
            return pl_app_error(err, len, "directory name too long");
        } else {
            strcpy(cfg->dir, argv[i]);
        }
    }
    if (cfg->dir[0] == 0)
        return pl_app_error(err, len, "missing DIR");
    return 0;
}

static void walk_tune(const void *p, pl_run_opts *o)
{
    const walk_cfg *cfg = p;
    uint32_t want = cfg->jobs + 1;      /* the jobs, and the root directory */
    if (o->max_open == 0 || want < o->max_open)
        o->max_open = want;
    o->sandbox.read[0] = cfg->dir;      /* all it reads, when sandboxed (a machine) */
    o->sandbox.when = PL_SANDBOX_STARTED;   /* files only: seccomp allows them */
}

static const pl_handler *const walk_handlers[] = {
    &h_file, &h_dir, &h_list, &h_sum, &h_forward, &h_total, &h_root, NULL,
};

const pl_program pl_app_walk = {
    .name = "walk",
    .version = PL_VERSION,
    .summary = "read every file under DIR concurrently; print files and bytes",
    .usage = "DIR [--jobs N]",
    .handlers = walk_handlers,
    .cfg_size = sizeof(walk_cfg),
    .parse = walk_parse,
    .start = walk_start,
    .tune = walk_tune,
};
