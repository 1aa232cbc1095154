# mk/foundation.mk: sources, tests and benchmarks of this area (included by Makefile.am).
libddcore_a_SOURCES += core/dd.c core/dd.h core/rng.h core/sparse.h core/event.h core/drift.h core/model.h
libddsrc_a_SOURCES += src/commands.h src/cmd_run.c src/cmd_gen.c
# gen: drifting-stream generators (issue 3) and the demo stream.
libddcore_a_SOURCES += core/gen.c core/gen.h
check_PROGRAMS += tests/test_gen
TESTS += tests/test_gen
tests_test_gen_SOURCES = tests/test_gen.c
tests_test_gen_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_gen_LDADD = $(TEST_LIBS)
TESTS += tests/test_gen.sh
EXTRA_DIST += tests/test_gen.sh data/make-demo.sh data/README.md doc/GENERATORS.md
dist_noinst_DATA += data/demo.jsonl
