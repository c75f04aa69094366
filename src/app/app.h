/* The applications sio-server can run (--app NAME). Each uses only the public
 * API in include/. A binary links one registry that defines app_all():
 * src/app/registry.c (the product: SIO_PRODUCT_APPS) or
 * test/apps/registry.c (sio-test-server: those and the test-only apps). */
#ifndef SIO_APP_APP_H
#define SIO_APP_APP_H

#include <stdint.h>
#include <string.h>

#include "sio/admin.h"
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
    /* The admin UI's namespace (sio_admin_instrument), for the apps that
     * serve it (chat, bench); NULL: off. */
    const sio_admin_options *admin;
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
    /* sio_options.recovery_window_ms when --recovery-window is not given. */
    uint32_t default_recovery_window_ms;
} app_def;

/* The apps of the product, in --help order. */
extern const app_def app_chat;
extern const app_def app_bench;
extern const app_def app_conformance;
extern const app_def app_eio_echo;
#define SIO_PRODUCT_APPS &app_chat, &app_bench, &app_conformance, &app_eio_echo

/* NULL-terminated list of the apps this binary has (its registry). */
const app_def *const *app_all(void);

/* The app with this name, or NULL. */
static inline const app_def *app_find(const char *name) {
    for (const app_def *const *a = app_all(); *a; a++)
        if (strcmp((*a)->name, name) == 0) return *a;
    return NULL;
}

#endif
