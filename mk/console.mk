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
libddsrc_a_SOURCES += ui/console.c ui/console.h ui/ui.h ui/ui_draw.c ui/keys.c \
	ui/panel_header.c ui/panel_chart.c ui/panel_replay.c ui/panel_versions.c \
	ui/panel_log.c ui/panel_footer.c

# A simulated worker behind the real console: UI-layer tests and the UI benchmark.
check_PROGRAMS += tests/console_sim
tests_console_sim_SOURCES = tests/console_sim.c
tests_console_sim_CPPFLAGS = $(TEST_CPPFLAGS)
tests_console_sim_LDADD = $(TEST_LIBS)

# The worker's side of the protocol.
libddsrc_a_SOURCES += src/worker_view.c src/worker_view.h
check_PROGRAMS += tests/test_worker_view
TESTS += tests/test_worker_view
tests_test_worker_view_SOURCES = tests/test_worker_view.c
tests_test_worker_view_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_worker_view_LDADD = $(TEST_LIBS)
libddsrc_a_SOURCES += src/control.c src/control.h
libddsrc_a_SOURCES += src/cmd_attach.c src/cmd_replay.c

# Terminal tests (tmux).
TESTS += tests/test_console.sh tests/test_console_ui.sh
EXTRA_DIST += tests/test_console.sh tests/test_console_ui.sh tests/tmux_lib.sh

# What the console costs (make bench).
DD_BENCHES += bench/bench_console
bench_bench_console_SOURCES = bench/bench_console.c
bench_bench_console_CPPFLAGS = $(libddsrc_a_CPPFLAGS)
bench_bench_console_LDADD = $(SRC_LIBS)

# The manual page (make install puts it in man1) and the console's guide.
dist_man1_MANS = doc/driftdeck.1
EXTRA_DIST += doc/CONSOLE.md
