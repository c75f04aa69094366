/* The apps of sio-server, the product. The test-only apps (testkit,
 * clusterkit) are in sio-test-server's registry, test/apps/registry.c. */
#include "app/app.h"

static const app_def *const apps[] = {SIO_PRODUCT_APPS, NULL};

const app_def *const *app_all(void) {
    return apps;
}
