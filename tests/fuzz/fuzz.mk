# libFuzzer targets (tests/fuzz/), built by clang with ASan+UBSan apart from
# the g++ build (objects in tests/fuzz/build/). Included from Makefile.am.
#   make fuzz [FUZZ_SECONDS=600]   every target for FUZZ_SECONDS each, new inputs kept
#   make fuzz-check                every target for 20 s (CI), one line per target
FUZZ_SECONDS = 600
FUZZ_CHECK_SECONDS = 20

fuzz:
	$(top_srcdir)/tests/fuzz/build-and-run --builddir $(abs_top_builddir) --run $(FUZZ_SECONDS)

fuzz-check:
	$(top_srcdir)/tests/fuzz/build-and-run --builddir $(abs_top_builddir) --check $(FUZZ_CHECK_SECONDS)

fuzz-clean:
	rm -rf tests/fuzz/build

.PHONY: fuzz fuzz-check fuzz-clean
