/*
 * kafka_mock.c: a stand-in Kafka cluster for shell tests. Starts
 * librdkafka's mock cluster (3 brokers, on loopback), creates TOPIC with
 * PARTITIONS, produces N events in driftdeck's shape (ids k0..k<N-1>, a
 * separable label), prints the bootstrap address on one line, and keeps the
 * cluster up until its standard input closes. Extra topics (empty, one
 * partition) are created for sinks.
 * Usage: kafka_mock TOPIC PARTITIONS N [EXTRA_TOPIC...]
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: kafka_mock TOPIC PARTITIONS N [EXTRA_TOPIC...]\n");
        return 2;
    }
    const char *topic = argv[1];
    int parts = atoi(argv[2]), n = atoi(argv[3]);
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", why, sizeof why);
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    rd_kafka_mock_cluster_t *mc = host ? rd_kafka_mock_cluster_new(host, 3) : NULL;
    if (!mc || rd_kafka_mock_topic_create(mc, topic, parts, 1)) {
        fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
        return 1;
    }
    for (int i = 4; i < argc; i++)
        if (rd_kafka_mock_topic_create(mc, argv[i], 1, 1)) {
            fprintf(stderr, "kafka_mock: cannot create %s\n", argv[i]);
            return 1;
        }
    const char *boot = rd_kafka_mock_cluster_bootstraps(mc);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", boot, why, sizeof why);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    char buf[160];
    for (int i = 0; i < n; i++) {
        double a = ((i * 7919) % 1000) / 500.0 - 1.0;
        int len = snprintf(buf, sizeof buf, "{\"id\":\"k%d\",\"x\":{\"a\":%.3f,\"b\":%d},\"y\":%d}",
                           i, a, i % 3, a > 0);
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(buf, (size_t)len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
    }
    if (rd_kafka_flush(p, 30000)) {
        fprintf(stderr, "kafka_mock: produce did not complete\n");
        return 1;
    }
    rd_kafka_destroy(p);
    printf("%s\n", boot);
    fflush(stdout);
    while (fgets(buf, sizeof buf, stdin))
        ;
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
    return 0;
}
