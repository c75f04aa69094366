/* The apps of sio-test-server: the product's and those made for the
 * integration tests, which must never ship (testkit lets any client ask for
 * floods; clusterkit lets any client disconnect sockets cluster-wide;
 * adapterkit shows a custom adapter's counters to any client). */
#include "app/app.h"

extern const app_def app_testkit;
extern const app_def app_clusterkit;
extern const app_def app_adapterkit;

static const app_def *const apps[] = {SIO_PRODUCT_APPS, &app_testkit, &app_clusterkit,
                                      &app_adapterkit, NULL};

const app_def *const *app_all(void) {
    return apps;
}
