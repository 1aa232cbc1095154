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
