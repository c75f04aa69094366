#include <string.h>

#include "app/app.h"

extern const app_def app_eio_echo;
extern const app_def app_chat;
extern const app_def app_bench;
extern const app_def app_conformance;
extern const app_def app_testkit;
extern const app_def app_clusterkit;

static const app_def *const apps[] = {
    &app_chat, &app_bench, &app_conformance, &app_eio_echo, &app_testkit, &app_clusterkit, NULL};

const app_def *const *app_all(void) {
    return apps;
}

const app_def *app_find(const char *name) {
    for (size_t i = 0; apps[i]; i++)
        if (strcmp(apps[i]->name, name) == 0) return apps[i];
    return NULL;
}
