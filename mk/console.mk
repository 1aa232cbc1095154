# mk/console.mk: sources, tests and benchmarks of this area (included by Makefile.am).

# The snapshot/command protocol (worker <-> console, in process and over the socket).
libddsrc_a_SOURCES += src/wire.c src/wire.h src/snapshot.c src/snapshot.h \
	src/command.c src/command.h

check_PROGRAMS += tests/test_snapshot tests/test_command
TESTS += tests/test_snapshot tests/test_command
tests_test_snapshot_SOURCES = tests/test_snapshot.c
tests_test_snapshot_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_snapshot_LDADD = $(TEST_LIBS)
tests_test_command_SOURCES = tests/test_command.c
tests_test_command_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_command_LDADD = $(TEST_LIBS)

# The console (ncursesw; its cflags come with libddsrc_a_CPPFLAGS).
libddsrc_a_SOURCES += ui/term.c ui/term.h ui/chart.c ui/chart.h

check_PROGRAMS += tests/test_chart
TESTS += tests/test_chart
tests_test_chart_SOURCES = tests/test_chart.c
tests_test_chart_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_chart_LDADD = $(TEST_LIBS)
