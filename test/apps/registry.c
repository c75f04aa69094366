/* The apps of sio-test-server: the product's and those made for the
 * integration tests, which must never ship (testkit lets any client ask for
 * floods; clusterkit lets any client disconnect sockets cluster-wide). */
#include "app/app.h"

extern const app_def app_testkit;
extern const app_def app_clusterkit;

static const app_def *const apps[] = {SIO_PRODUCT_APPS, &app_testkit, &app_clusterkit, NULL};

const app_def *const *app_all(void) {
    return apps;
}
