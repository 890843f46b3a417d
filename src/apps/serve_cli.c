/* serve_cli.c — the static server's options (pure: argv in, config out). */
#include "apps/serve.h"
#include "http/accesslog.h"

#include <stdio.h>
#include <string.h>

/* "10" or "10s" seconds, "500ms" milliseconds; 1 ms .. 1 day. */
static int duration_ms(const char *s, uint32_t *out)
{
    char num[32];
    size_t n = strspn(s, "0123456789");
    uint64_t v, scale = 1000;
    if (n == 0 || n >= sizeof num)
        return -1;
    if (strcmp(s + n, "ms") == 0)
        scale = 1;
    else if (s[n] != 0 && strcmp(s + n, "s") != 0)
        return -1;
    memcpy(num, s, n);
    num[n] = 0;
    if (pl_app_number(num, 1, 86400000, &v) != 0 || v * scale > 86400000)
        return -1;
    *out = (uint32_t)(v * scale);
    return 0;
}

static int add_header(serve_cfg *cfg, const char *h)
{
    const char *colon = strchr(h, ':');
    size_t used = strlen(cfg->extra);
    if (colon == NULL || colon == h || strpbrk(h, "\r\n") != NULL)
        return -1;
    int n = snprintf(cfg->extra + used, sizeof cfg->extra - used, "%s\r\n", h);
    return n < 0 || (size_t)n >= sizeof cfg->extra - used ? -1 : 0;
}

/* --spa FILE: a file beneath the root ("index.html", "/app/shell.html"). */
static int spa_file(serve_cfg *cfg, const char *v)
{
    while (*v == '/')
        v++;
    size_t n = strlen(v);
    if (n == 0 || n >= sizeof cfg->spa || v[n - 1] == '/' || strpbrk(v, "\r\n") ||
        !strcmp(v, "..") || !strncmp(v, "../", 3) || strstr(v, "/../") ||
        (n >= 3 && !strcmp(v + n - 3, "/..")))
        return -1;
    memcpy(cfg->spa, v, n + 1);
    return 0;
}

static void defaults(serve_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->root, ".");
    strcpy(cfg->bind, "::");
    cfg->port = 8000;
    cfg->workers = 0;
    cfg->header_timeout_ms = 10000;
    cfg->idle_timeout_ms = 60000;
    cfg->send_timeout_ms = 60000;
    cfg->drain_timeout_ms = 10000;
    cfg->max_header_bytes = 32768;
    cfg->cache_files = SERVE_CACHE_SLOTS;
}

/* The operational options: the access log, draining, the send timeout, the
 * user.
 * *known says whether name is one of them; returns 0 or an error message. */
static const char *ops_option(serve_cfg *cfg, const char *name, const char *v, bool *known)
{
    *known = true;
    if (!strcmp(name, "--access-log")) {
        if (v[0] == 0 || strlen(v) >= sizeof cfg->access_log)
            return "bad path (a file, '-' for stdout, or 'off')";
        strcpy(cfg->access_log, strcmp(v, "off") == 0 ? "" : v);
        return NULL;
    }
    if (!strcmp(name, "--log-format")) {
        if (strcmp(v, "combined") && strcmp(v, "json"))
            return "expected combined or json";
        cfg->log_format = !strcmp(v, "json") ? PL_HTTP_LOG_JSON : PL_HTTP_LOG_COMBINED;
        return NULL;
    }
    if (!strcmp(name, "--user")) {
        if (v[0] == 0 || strlen(v) >= sizeof cfg->user)
            return "bad user name";
        strcpy(cfg->user, v);
        return NULL;
    }
    if (!strcmp(name, "--drain-timeout"))
        return duration_ms(v, &cfg->drain_timeout_ms) ? "bad duration" : NULL;
    if (!strcmp(name, "--send-timeout"))
        return duration_ms(v, &cfg->send_timeout_ms) ? "bad duration" : NULL;
    *known = false;
    return NULL;
}

/* One option with a value; returns 0, or an error message. */
static const char *option(serve_cfg *cfg, const char *name, const char *v)
{
    uint64_t n;
    bool known;
    const char *why = ops_option(cfg, name, v, &known);
    if (known)
        return why;
    if (!strcmp(name, "-p") || !strcmp(name, "--port"))
        return pl_app_port(v, &cfg->port) ? "bad port (expected 0..65535)" : NULL;
    if (!strcmp(name, "-b") || !strcmp(name, "--bind")) {
        if (strlen(v) >= sizeof cfg->bind || v[0] == 0)
            return "bad address";
        strcpy(cfg->bind, v[0] == '[' ? v + 1 : v);
        char *end = strchr(cfg->bind, ']');
        if (end)
            *end = 0;
        return NULL;
    }
    if (!strcmp(name, "-w") || !strcmp(name, "--workers")) {
        if (pl_app_number(v, 1, 256, &n))
            return "bad number of workers (1..256)";
        cfg->workers = (uint32_t)n;
        return NULL;
    }
    if (!strcmp(name, "--header-timeout"))
        return duration_ms(v, &cfg->header_timeout_ms) ? "bad duration" : NULL;
    if (!strcmp(name, "--idle-timeout"))
        return duration_ms(v, &cfg->idle_timeout_ms) ? "bad duration" : NULL;
    if (!strcmp(name, "--max-conns")) {
        if (pl_app_number(v, 1, 1000000, &n))
            return "bad number (1..1000000)";
        cfg->max_conns = (uint32_t)n;
        return NULL;
    }
    if (!strcmp(name, "--max-header-bytes")) {
        if (pl_app_number(v, 1024, PL_INPUT_MAX, &n))
            return "bad size (1024..1048576)";
        cfg->max_header_bytes = (uint32_t)n;
        return NULL;
    }
    if (!strcmp(name, "--cache-files")) {
        if (pl_app_number(v, 8, 65536, &n))
            return "bad number (8..65536)";
        cfg->cache_files = (uint32_t)n;
        return NULL;
    }
    if (!strcmp(name, "--header"))
        return add_header(cfg, v) ? "bad header (expected 'Name: value')" : NULL;
    if (!strcmp(name, "--cache-control")) {
        if (strlen(v) >= sizeof cfg->cache_control || strpbrk(v, "\r\n"))
            return "bad policy";
        strcpy(cfg->cache_control, v);
        return NULL;
    }
    if (!strcmp(name, "--spa"))
        return spa_file(cfg, v) ? "bad file (a path beneath DIR, without '..')" : NULL;
    if (!strcmp(name, "--dotfiles")) {
        if (strcmp(v, "deny") && strcmp(v, "allow"))
            return "expected deny or allow";
        cfg->dotfiles_allow = !strcmp(v, "allow");
        return NULL;
    }
    return "unknown option";
}

const char serve_options[] =
    "options:\n"
    "  -p, --port N          port (default 8000; 0: any free port)\n"
    "  -b, --bind ADDR       address (default ::, dual-stack)\n"
    "  -w, --workers N       event loops sharing the port (default: online CPUs)\n"
    "  --header-timeout T    time to send a whole request head (default 10s)\n"
    "  --idle-timeout T      time a keep-alive connection may stay idle (default 60s)\n"
    "  --send-timeout T      a client that reads nothing this long is cut (default 60s)\n"
    "  --drain-timeout T     how long a stop waits for responses under way (default 10s)\n"
    "  --max-conns N         connections per worker, 503 above (default from ulimit -n)\n"
    "  --max-header-bytes N  request head size limit, 431 above (default 32768)\n"
    "  --cache-files N       small files kept in memory per worker (default 1024)\n"
    "  --dotfiles deny|allow serve names starting with '.' (default deny)\n"
    "  --cors                Access-Control-Allow-Origin: *\n"
    "  --header 'K: V'       an extra header on every response (repeatable)\n"
    "  --cache-control P     Cache-Control for every file (default no-cache on HTML)\n"
    "  --list-dirs           an HTML listing for a directory without index.html\n"
    "  --spa FILE            a missing extensionless path gets FILE with 200\n"
    "  --access-log PATH     one line per response to PATH ('-': stdout; default off)\n"
    "  --log-format F        combined (default) or json\n"
    "  --user NAME           started as root: become NAME once the port is bound\n"
    "  --no-sandbox          no Landlock, no seccomp, no io_uring restrictions (on\n"
    "                        by default; README \"Sandbox\")\n";

static bool takes_value(const char *a)
{
    static const char *const with[] = { "-p", "--port", "-b", "--bind", "-w", "--workers",
        "--header-timeout",
        "--idle-timeout", "--max-conns", "--max-header-bytes", "--cache-files", "--header",
        "--cache-control", "--dotfiles", "--spa", "--access-log", "--log-format",
        "--drain-timeout", "--send-timeout", "--user", NULL };
    for (int i = 0; with[i]; i++)
        if (!strcmp(a, with[i]))
            return true;
    return false;
}

int serve_parse(void *p, int argc, char **argv, char *err, size_t len)
{
    serve_cfg *cfg = p;
    defaults(cfg);
    bool have_dir = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--list-dirs")) {
            cfg->list_dirs = true;
        } else if (!strcmp(a, "--no-sandbox")) {
            cfg->no_sandbox = true;
        } else if (!strcmp(a, "--cors")) {
            cfg->cors = true;
            add_header(cfg, "Access-Control-Allow-Origin: *");
        } else if (takes_value(a)) {
            if (i + 1 == argc)
                return pl_app_error(err, len, "%s needs a value", a);
            const char *why = option(cfg, a, argv[++i]);
            if (why)
                return pl_app_error(err, len, "%s '%s': %s", a, argv[i], why);
        } else if (a[0] == '-' && a[1] != 0) {
            return pl_app_error(err, len, "unknown option '%s'", a);
        } else if (have_dir) {
            return pl_app_error(err, len, "unexpected argument '%s'", a);
        } else if (strlen(a) >= sizeof cfg->root || a[0] == 0) {
            return pl_app_error(err, len, "bad directory '%s'", a);
        } else {
            strcpy(cfg->root, a);
            have_dir = true;
        }
    }
    return 0;
}
