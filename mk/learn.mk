# mk/learn.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# The learning layer (issue 4): models, optimizers, EWC, replay, the learner.
libddcore_a_SOURCES += core/model_params.h core/model_impl.h core/model.c core/linear.c \
	core/mlp.c core/ewc.c core/ewc.h core/model_io.c \
	core/sumtree.c core/sumtree.h core/replay.c core/replay.h \
	core/learner.c core/learner.h

check_PROGRAMS += tests/test_linear
TESTS += tests/test_linear
tests_test_linear_SOURCES = tests/test_linear.c
tests_test_linear_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_linear_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_mlp tests/test_optim
TESTS += tests/test_mlp tests/test_optim
EXTRA_DIST += tests/learn_util.h doc/LEARNING.md doc/PERFORMANCE.md
tests_test_mlp_SOURCES = tests/test_mlp.c
tests_test_mlp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_mlp_LDADD = $(TEST_LIBS)
tests_test_optim_SOURCES = tests/test_optim.c
tests_test_optim_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_optim_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_model_io
TESTS += tests/test_model_io
tests_test_model_io_SOURCES = tests/test_model_io.c
tests_test_model_io_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_model_io_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_sumtree
TESTS += tests/test_sumtree
tests_test_sumtree_SOURCES = tests/test_sumtree.c
tests_test_sumtree_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_sumtree_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_replay
TESTS += tests/test_replay
tests_test_replay_SOURCES = tests/test_replay.c
tests_test_replay_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_replay_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_ewc
TESTS += tests/test_ewc
tests_test_ewc_SOURCES = tests/test_ewc.c
tests_test_ewc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_ewc_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_learner
TESTS += tests/test_learner
tests_test_learner_SOURCES = tests/test_learner.c
tests_test_learner_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_learner_LDADD = $(TEST_LIBS)

# benchmarks (make bench): figures, never assertions
DD_BENCHES += bench/bench_learn
bench_bench_learn_SOURCES = bench/bench_learn.c
bench_bench_learn_CPPFLAGS = $(AM_CPPFLAGS)
bench_bench_learn_LDADD = $(CORE_LIBS)
DD_BENCHES += bench/bench_prequential
bench_bench_prequential_SOURCES = bench/bench_prequential.c
bench_bench_prequential_CPPFLAGS = $(libddsrc_a_CPPFLAGS)
bench_bench_prequential_LDADD = $(SRC_LIBS)
DD_BENCHES += bench/bench_forgetting
bench_bench_forgetting_SOURCES = bench/bench_forgetting.c
bench_bench_forgetting_CPPFLAGS = $(libddsrc_a_CPPFLAGS)
bench_bench_forgetting_LDADD = $(SRC_LIBS)
