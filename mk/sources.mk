# mk/sources.mk: sources, tests and benchmarks of this area (included by Makefile.am).

# --- WebSocket client, stdin, record, prediction sinks (ws engineer) ---
libddsrc_a_SOURCES += src/wsmsg.c src/wsmsg.h src/wsclient.c src/wsclient.h \
	src/recording.c src/recording.h src/cmd_record.c
check_PROGRAMS += tests/test_wsmsg tests/test_recording tests/test_wsclient
TESTS += tests/test_wsmsg tests/test_recording tests/test_wsclient
tests_test_wsmsg_SOURCES = tests/test_wsmsg.c
tests_test_wsmsg_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_wsmsg_LDADD = $(TEST_LIBS)
tests_test_recording_SOURCES = tests/test_recording.c
tests_test_recording_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_recording_LDADD = $(TEST_LIBS)
tests_test_wsclient_SOURCES = tests/test_wsclient.c
tests_test_wsclient_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_wsclient_LDADD = $(TEST_LIBS)
TESTS += tests/test_ws_record.sh
EXTRA_DIST += tests/test_ws_record.sh tests/ws_server.py tests/ws_lib.sh
libddsrc_a_SOURCES += src/source_ws.c src/source_ws.h src/sink.c src/sink.h
check_PROGRAMS += tests/test_sink
TESTS += tests/test_sink
tests_test_sink_SOURCES = tests/test_sink.c
tests_test_sink_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_sink_LDADD = $(TEST_LIBS)
TESTS += tests/test_ws_source.sh
EXTRA_DIST += tests/test_ws_source.sh
DD_BENCHES += bench/bench_ws
bench_bench_ws_SOURCES = bench/bench_ws.c
bench_bench_ws_CPPFLAGS = $(libddsrc_a_CPPFLAGS)
bench_bench_ws_LDADD = $(SRC_LIBS)

# --- schema mapping, CSV, delayed labels, Kafka (kafka engineer) ---
libddcore_a_SOURCES += core/schema.c core/schema.h core/schema_infer.c
check_PROGRAMS += tests/test_schema
TESTS += tests/test_schema
tests_test_schema_SOURCES = tests/test_schema.c
tests_test_schema_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_schema_LDADD = $(TEST_LIBS)
libddcore_a_SOURCES += core/csv.c core/csv.h
check_PROGRAMS += tests/test_csv
TESTS += tests/test_csv
tests_test_csv_SOURCES = tests/test_csv.c
tests_test_csv_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_csv_LDADD = $(TEST_LIBS)
libddcore_a_SOURCES += core/pending.c core/pending.h
check_PROGRAMS += tests/test_pending
TESTS += tests/test_pending
tests_test_pending_SOURCES = tests/test_pending.c
tests_test_pending_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_pending_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/test_pipeline_delayed
TESTS += tests/test_pipeline_delayed
tests_test_pipeline_delayed_SOURCES = tests/test_pipeline_delayed.c
tests_test_pipeline_delayed_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_pipeline_delayed_LDADD = $(TEST_LIBS)
TESTS += tests/test_file_formats.sh
EXTRA_DIST += tests/test_file_formats.sh
libddsrc_a_SOURCES += src/cmd_schema.c
EXTRA_DIST += doc/SCHEMA-AND-KAFKA.md
TESTS += tests/test_schema_cmd.sh
EXTRA_DIST += tests/test_schema_cmd.sh

# Kafka (only when configure found librdkafka)
libddsrc_a_SOURCES += src/offtrack.c src/offtrack.h
check_PROGRAMS += tests/test_offtrack
TESTS += tests/test_offtrack
tests_test_offtrack_SOURCES = tests/test_offtrack.c
tests_test_offtrack_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_offtrack_LDADD = $(TEST_LIBS)
if HAVE_KAFKA
libddsrc_a_CPPFLAGS += -DDD_HAVE_KAFKA
libddsrc_a_SOURCES += src/kafka.h src/source_kafka.c src/sink_kafka.c
check_PROGRAMS += tests/test_kafka
TESTS += tests/test_kafka
SLOW_TESTS += tests/test_kafka
tests_test_kafka_SOURCES = tests/test_kafka.c
tests_test_kafka_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_kafka_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/kafka_mock
tests_kafka_mock_SOURCES = tests/kafka_mock.c
tests_kafka_mock_CPPFLAGS = $(TEST_CPPFLAGS)
tests_kafka_mock_LDADD = $(RDKAFKA_LIBS)
TESTS += tests/test_kafka_run.sh
endif
EXTRA_DIST += tests/test_kafka_run.sh

DD_BENCHES += bench/bench_schema
bench_bench_schema_SOURCES = bench/bench_schema.c
bench_bench_schema_CPPFLAGS = $(TEST_CPPFLAGS)
bench_bench_schema_LDADD = $(CORE_LIBS)

# Fuzz harness for WebSocket reassembly and the recording envelope (clang-14 +
# libclang-rt-14-dev): make fuzz_wsmsg && ./fuzz_wsmsg -max_total_time=60
EXTRA_DIST += tests/fuzz_wsmsg.c
fuzz_wsmsg: $(srcdir)/tests/fuzz_wsmsg.c $(srcdir)/src/wsmsg.c $(srcdir)/src/recording.c $(srcdir)/core/dd.c
	clang-14 -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
		-D_DEFAULT_SOURCE -I$(srcdir)/core -I$(srcdir)/src $(CJSON_CFLAGS) $^ $(CJSON_LIBS) -lm -o $@
CLEANFILES += fuzz_wsmsg
EXTRA_DIST += doc/STREAMS.md doc/PERFORMANCE.md
