/* Where sio-server finds the files it serves (the demo page and the
 * socket.io-client browser bundle), from any working directory. */
#ifndef SIO_APP_ASSETS_H
#define SIO_APP_ASSETS_H

#include <limits.h>

#include "app/web.h"

typedef struct app_assets {
    char static_dir[PATH_MAX];
    char client_dir[PATH_MAX];
    char admin_ui_dir[PATH_MAX];
} app_assets;

/* Sets o->static_dir and o->client_dir: the option when given (--static,
 * --client-dir), else the installed copy (<the binary's dir>/../share/
 * sio-server/{js-client,client}), else the source tree's (a build tree:
 * js-client/, assets/node_modules/socket.io-client/dist). A missing one is
 * NULL, with a warning naming where it looked and the option to set. The
 * strings live in *a, which must outlive the listener. */
void app_assets_resolve(app_assets *a, const char *static_opt, const char *client_opt,
                        web_options *o);

/* Sets o->admin_ui_dir the same way: --admin-ui-dir, else
 * share/sio-server/admin-ui, else the source tree's
 * assets/node_modules/@socket.io/admin-ui/ui/dist. */
void app_assets_resolve_admin(app_assets *a, const char *ui_opt, web_options *o);

#endif
