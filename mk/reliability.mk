# mk/reliability.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# Fuzzing (issue 10): each libFuzzer harness in tests/fuzz/ is also replayed over its seed
# corpus and regression inputs by an ordinary test program built with gcc, so every input
# that once crashed stays in `make check` (and under --enable-sanitizers and valgrind).
check_PROGRAMS += tests/fuzz_replay_event tests/fuzz_replay_state tests/fuzz_replay_config \
	tests/fuzz_replay_csv tests/fuzz_replay_schema tests/fuzz_replay_infer tests/fuzz_replay_model \
	tests/fuzz_replay_ws tests/fuzz_replay_wsmsg tests/fuzz_replay_control
TESTS += tests/fuzz_replay_event tests/fuzz_replay_state tests/fuzz_replay_config \
	tests/fuzz_replay_csv tests/fuzz_replay_schema tests/fuzz_replay_infer tests/fuzz_replay_model \
	tests/fuzz_replay_ws tests/fuzz_replay_wsmsg tests/fuzz_replay_control
tests_fuzz_replay_event_SOURCES = tests/fuzz/fuzz_event.c tests/fuzz/replay_main.c
tests_fuzz_replay_event_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"event"'
tests_fuzz_replay_event_LDADD = $(TEST_LIBS)
tests_fuzz_replay_state_SOURCES = tests/fuzz/fuzz_state.c tests/fuzz/replay_main.c
tests_fuzz_replay_state_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"state"'
tests_fuzz_replay_state_LDADD = $(TEST_LIBS)
tests_fuzz_replay_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/replay_main.c
tests_fuzz_replay_config_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"config"'
tests_fuzz_replay_config_LDADD = $(TEST_LIBS)
tests_fuzz_replay_csv_SOURCES = tests/fuzz/fuzz_csv.c tests/fuzz/replay_main.c
tests_fuzz_replay_csv_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"csv"'
tests_fuzz_replay_csv_LDADD = $(TEST_LIBS)
tests_fuzz_replay_schema_SOURCES = tests/fuzz/fuzz_schema.c tests/fuzz/replay_main.c
tests_fuzz_replay_schema_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"schema"'
tests_fuzz_replay_schema_LDADD = $(TEST_LIBS)
tests_fuzz_replay_infer_SOURCES = tests/fuzz/fuzz_infer.c tests/fuzz/replay_main.c
tests_fuzz_replay_infer_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"infer"'
tests_fuzz_replay_infer_LDADD = $(TEST_LIBS)
tests_fuzz_replay_model_SOURCES = tests/fuzz/fuzz_model.c tests/fuzz/replay_main.c
tests_fuzz_replay_model_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"model"'
tests_fuzz_replay_model_LDADD = $(TEST_LIBS)
tests_fuzz_replay_ws_SOURCES = tests/fuzz/fuzz_ws.c tests/fuzz/replay_main.c
tests_fuzz_replay_ws_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"ws"'
tests_fuzz_replay_ws_LDADD = $(TEST_LIBS)
tests_fuzz_replay_wsmsg_SOURCES = tests/fuzz_wsmsg.c tests/fuzz/replay_main.c
tests_fuzz_replay_wsmsg_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"wsmsg"'
tests_fuzz_replay_wsmsg_LDADD = $(TEST_LIBS)
tests_fuzz_replay_control_SOURCES = tests/fuzz/fuzz_control.c tests/fuzz/replay_main.c
tests_fuzz_replay_control_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_NAME='"control"'
tests_fuzz_replay_control_LDADD = $(TEST_LIBS)
# Not the whole tests/fuzz directory: automake copies a directory from the build tree when it
# exists there, objects included, and a VPATH build of the tarball then never compiles them.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/make_seeds.c tests/fuzz/config.dict tests/fuzz/event.dict \
	tests/fuzz/corpus tests/fuzz/known tests/fuzz/regress doc/RELIABILITY.md

# `make fuzz`: build the harnesses with clang (separately from this gcc build) and fuzz
# each for FUZZ_SECONDS (default 60; `make fuzz FUZZ_SECONDS=300` or in the environment).
fuzz:
	secs='$(FUZZ_SECONDS)'; FUZZ_BUILD='$(abs_top_builddir)/fuzz-build' \
	$(SHELL) '$(abs_top_srcdir)/tests/fuzz/run.sh' "$${secs:-60}"

# `make check-valgrind`: every cmocka program of `make check` but the SLOW_TESTS (which
# valgrind makes 20-50 times slower) under valgrind memcheck; a memory error, a leak or a
# failing test fails the target. Logs: tests/*.valgrind.log.
check-valgrind: $(check_PROGRAMS)
	@if test -z '$(VALGRIND)'; then \
	  echo 'check-valgrind: valgrind not found: install the Debian package valgrind' >&2; exit 2; fi
	@if test -n '$(DD_SAN)'; then \
	  echo 'check-valgrind: this build uses sanitizers; configure without them' >&2; exit 2; fi
	@fail=0; n=0; \
	for t in $(filter-out $(SLOW_TESTS),$(TESTS)); do \
	  case $$t in *.sh) continue ;; esac; \
	  n=$$((n + 1)); log=$$t.valgrind.log; \
	  if env CMOCKA_MESSAGE_OUTPUT=TAP DD_BIN='$(abs_top_builddir)/driftdeck' \
	      DD_SRCDIR='$(abs_top_srcdir)' DD_BUILDDIR='$(abs_top_builddir)' \
	      $(VALGRIND) -q --error-exitcode=1 --leak-check=full \
	      --errors-for-leak-kinds=definite,indirect,possible ./$$t > $$log 2>&1; then \
	    echo "PASS: $$t"; \
	  else \
	    echo "FAIL: $$t (see $$log)"; fail=$$((fail + 1)); \
	  fi; \
	done; \
	echo "check-valgrind: $$n programs under valgrind, $$fail failed"; test $$fail -eq 0

CLEANFILES += tests/*.valgrind.log
.PHONY: fuzz check-valgrind

# soak: limits, faults, security and long-stream tests (issue 10, reliability engineer).
TESTS += tests/test_limits.sh
EXTRA_DIST += tests/test_limits.sh
TESTS += tests/test_faults.sh
EXTRA_DIST += tests/test_faults.sh
# A 2M-event stream asserting on the bounded structures' own counters (about 10-20 s).
check_PROGRAMS += tests/test_bounded
TESTS += tests/test_bounded
SLOW_TESTS += tests/test_bounded
tests_test_bounded_SOURCES = tests/test_bounded.c tests/soak_stream.h
tests_test_bounded_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_bounded_LDADD = $(TEST_LIBS)
# `make soak`: 50M generated events through the whole pipeline (SOAK_EVENTS=N for fewer).
noinst_PROGRAMS += bench/bench_soak
bench_bench_soak_SOURCES = bench/bench_soak.c tests/soak_stream.h
bench_bench_soak_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/tests
bench_bench_soak_LDADD = $(TEST_LIBS)
soak: bench/bench_soak
	SOAK_EVENTS='$(SOAK_EVENTS)' ./bench/bench_soak
.PHONY: soak
CLEANFILES += bench-soak.jsonl
if HAVE_KAFKA
TESTS += tests/test_secrets.sh
endif
EXTRA_DIST += tests/test_secrets.sh
TESTS += tests/test_sigterm_checkpoint.sh
EXTRA_DIST += tests/test_sigterm_checkpoint.sh
