/* The applications sio-server can run (--app NAME). Each uses only the public
 * API in include/. */
#ifndef SIO_APP_APP_H
#define SIO_APP_APP_H

#include "sio/eio.h"
#include "sio/loop.h"
#include "sio/sio.h"

typedef struct app_env {
    sio_loop *loop;
    sio_http *http;
    const eio_options *eio; /* transport options from the command line */
    const sio_options *sio; /* Socket.IO options from the command line */
    const char *jwt_secret; /* HS256 secret for token auth; NULL: off */
    int jwt_allow_no_exp;   /* accept tokens without exp (default: refused) */
} app_env;

typedef struct app_def {
    const char *name;
    const char *summary;
    /* Start serving; returns the app's state, NULL with *err set. */
    void *(*start)(const app_env *env, int *err);
    /* SIGTERM: tell every client goodbye. */
    void (*shutdown)(void *app);
    /* Sessions still open (shutdown waits for 0 or its deadline). */
    size_t (*sessions)(void *app);
    /* Free everything. */
    void (*stop)(void *app);
} app_def;

/* The app with this name, or NULL. */
const app_def *app_find(const char *name);
/* NULL-terminated list of all apps. */
const app_def *const *app_all(void);

#endif
