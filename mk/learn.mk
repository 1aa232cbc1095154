# mk/learn.mk: sources, tests and benchmarks of this area (included by Makefile.am).
# The learning layer (issue 4): models, optimizers, EWC, replay, the learner.
libddcore_a_SOURCES += core/model_params.h core/model_impl.h core/model.c core/linear.c \
	core/mlp.c core/ewc.c core/ewc.h

check_PROGRAMS += tests/test_linear
TESTS += tests/test_linear
tests_test_linear_SOURCES = tests/test_linear.c
tests_test_linear_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_linear_LDADD = $(TEST_LIBS)
