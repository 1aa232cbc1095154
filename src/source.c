/*
 * source.c: opening a source by its spec (the scheme picks the
 * implementation), and what all sources share.
 */
#include "source.h"

#ifdef DD_HAVE_KAFKA
#include "kafka.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *source_state_name(source_state s)
{
    static const char *const names[] = {
        [SOURCE_STARTING] = "starting",
        [SOURCE_CONNECTED] = "connected",
        [SOURCE_RECONNECTING] = "reconnecting",
        [SOURCE_PAUSED] = "paused",
        [SOURCE_ENDED] = "ended",
        [SOURCE_FAILED] = "failed",
    };
    return (unsigned)s < DD_ARRAY_LEN(names) ? names[s] : "unknown";
}

source *source_open(const char *spec, const source_options *opt, struct ingest *ing, char **cause)
{
    source *s = NULL;
    if (!strncmp(spec, "file:", 5)) {
        s = source_file_open(spec + 5, opt, cause);
    } else if (!strncmp(spec, "ws://", 5) || !strncmp(spec, "wss://", 6)) {
        s = source_ws_open(spec, opt, cause);
    } else if (!strcmp(spec, "-")) {
        s = source_file_open("-", opt, cause);
    } else if (!strncmp(spec, "kafka://", 8)) {
#ifdef DD_HAVE_KAFKA
        s = source_kafka_open(spec, opt, cause);
#else
        dd_fail(cause, DD_EINVAL, "this driftdeck was built without Kafka (librdkafka-dev)");
        return NULL;
#endif
    } else {
        dd_fail(cause, DD_EINVAL,
                "unsupported source '%s' (expected file:PATH, -, ws://, wss:// or kafka://)", spec);
        return NULL;
    }
    if (!s)
        return NULL;
    s->spec = strdup(spec);
    s->ing = ing;
    if (!s->spec) {
        source_free(s);
        dd_fail(cause, DD_ENOMEM, "out of memory");
        return NULL;
    }
    return s;
}

void source_free(source *s)
{
    if (!s)
        return;
    s->ops->stop(s);
    s->ops->destroy(s);
    free(s->spec);
    free(s);
}

void source_spec_redacted(const char *spec, char *buf, size_t n)
{
    const char *sep = strstr(spec, "://");
    if (!sep) {
        snprintf(buf, n, "%s", spec);
        return;
    }
    const char *host = sep + 3;
    size_t auth_len = strcspn(host, "/?#");
    const char *at = memchr(host, '@', auth_len);
    const char *rest = at ? at + 1 : host;
    size_t keep = strcspn(rest, "?#");
    snprintf(buf, n, "%.*s%.*s%s", (int)(host - spec), spec, (int)keep, rest,
             rest[keep] ? "?<redacted>" : "");
}
