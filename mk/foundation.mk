# mk/foundation.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/dd.c core/dd.h core/rng.h core/sparse.h core/event.h core/drift.h core/model.h
libddsrc_a_SOURCES += src/commands.h src/cmd_run.c src/cmd_gen.c
libddcore_a_SOURCES += core/hash.h core/event.c
EXTRA_DIST += tests/testutil.h
check_PROGRAMS += tests/test_event
TESTS += tests/test_event
tests_test_event_SOURCES = tests/test_event.c
tests_test_event_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_event_LDADD = $(TEST_LIBS)
libddcore_a_SOURCES += core/serial.h
