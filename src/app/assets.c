#include "app/assets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sio/log.h"

/* From src/CMakeLists.txt: SIO_DATA_FROM_BIN, share/sio-server relative to
 * the installed binary's directory; SIO_BUILD_DIR, where the build puts the
 * binary; SIO_SOURCE_DIR, the source tree. */

struct asset {
    const char *what;      /* for the log */
    const char *option;    /* the option that sets it */
    const char *env;       /* and its variable */
    const char *installed; /* under SIO_DATA_FROM_BIN */
    const char *source;    /* under SIO_SOURCE_DIR */
    const char *probe;     /* a file the directory must hold */
    const char *missing;   /* what a client sees without it */
};

static int has_file(const char *dir, const char *file) {
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, file) >= (int)sizeof p) return 0;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of the running binary (it may be a symlink's target), or "". */
static void exe_dir(char *out, size_t n) {
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    if (len <= 0) {
        out[0] = 0;
        return;
    }
    out[len] = 0;
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = 0;
    else
        out[0] = 0;
}

static const char *find(const struct asset *a, const char *opt, char *buf, size_t n) {
    if (opt) {
        if (!has_file(opt, a->probe))
            sio_log(SIO_LOG_WARN, "%s: %s/%s not found (--%s / %s): %s", a->what, opt, a->probe,
                    a->option, a->env, a->missing);
        return opt;
    }
    char bin[PATH_MAX];
    exe_dir(bin, sizeof bin);
    char installed[PATH_MAX];
    installed[0] = 0;
    if (bin[0] &&
        snprintf(installed, sizeof installed, "%s/%s/%s", bin, SIO_DATA_FROM_BIN, a->installed) <
            (int)sizeof installed &&
        has_file(installed, a->probe)) {
        snprintf(buf, n, "%s", installed);
        return buf;
    }
    /* The source tree only for a binary of the build tree: an installed one
     * never reads the checkout it was built from. */
    char build[PATH_MAX];
    int in_build_tree = realpath(SIO_BUILD_DIR, build) && strcmp(bin, build) == 0;
    if (in_build_tree && snprintf(buf, n, "%s/%s", SIO_SOURCE_DIR, a->source) < (int)n &&
        has_file(buf, a->probe))
        return buf;
    if (in_build_tree)
        sio_log(SIO_LOG_WARN,
                "%s not found (looked in %s and %s): %s; set --%s DIR (%s), or run "
                "scripts/install-deps (npm assets)",
                a->what, installed, buf, a->missing, a->option, a->env);
    else
        sio_log(SIO_LOG_WARN, "%s not found in %s: %s; set --%s DIR (%s)", a->what,
                installed[0] ? installed : "<the binary's ../share/sio-server>", a->missing,
                a->option, a->env);
    return NULL;
}

void app_assets_resolve(app_assets *a, const char *static_opt, const char *client_opt,
                        web_options *o) {
    static const struct asset page = {"the demo page",
                                      "static",
                                      "SIO_STATIC",
                                      "js-client",
                                      "js-client",
                                      "index.html",
                                      "/ answers 404 (no demo page)"};
    static const struct asset client = {
        "the socket.io-client browser bundle",
        "client-dir",
        "SIO_CLIENT_DIR",
        "client",
        "assets/node_modules/socket.io-client/dist",
        "socket.io.min.js",
        "<path>socket.io.min.js answers 404 and the demo page cannot connect with "
        "Socket.IO"};
    o->static_dir = find(&page, static_opt, a->static_dir, sizeof a->static_dir);
    o->client_dir = find(&client, client_opt, a->client_dir, sizeof a->client_dir);
}

void app_assets_resolve_admin(app_assets *a, const char *ui_opt, web_options *o) {
    static const struct asset ui = {"the @socket.io/admin-ui front-end",
                                    "admin-ui-dir",
                                    "SIO_ADMIN_UI_DIR",
                                    "admin-ui",
                                    "assets/node_modules/@socket.io/admin-ui/ui/dist",
                                    "index.html",
                                    "/admin/ answers 404 (the admin namespace still works with "
                                    "the hosted UI, https://admin.socket.io)"};
    o->admin_ui_dir = find(&ui, ui_opt, a->admin_ui_dir, sizeof a->admin_ui_dir);
}
