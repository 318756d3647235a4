# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, apart from the automake (g++) build: its own
# objects under $(OUT)/obj, the binaries as $(OUT)/fuzz-TARGET.
#
#   make -f tests/fuzz/build.mk SRCDIR=. OUT=tests/fuzz/build [-j2]
#
# Usually run through tests/fuzz/build-and-run (or `make fuzz`, `make
# fuzz-check`). A standalone GNU makefile, so automake never reads it.
SRCDIR ?= .
OUT ?= $(SRCDIR)/tests/fuzz/build
FUZZ_CXX ?= clang++-19

TARGETS := spec state process resources args dbus reference registry run_options

SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CXXFLAGS_FUZZ := -std=c++23 -g -O1 -Wall -Wextra $(SANITIZE) -I$(SRCDIR) -D_GNU_SOURCE \
	$(shell pkg-config --cflags yajl 2>/dev/null)
LIBS := $(shell pkg-config --libs yajl 2>/dev/null || echo -lyajl) -lseccomp -lcap -lcrypto

# The project code the targets reach (instrumented for coverage).
LIB_SOURCES := \
	libutil/error.cpp libutil/fd.cpp libutil/dbus.cpp libutil/json.cpp libutil/strings.cpp \
	libutil/oci/spec.cpp libutil/oci/default_spec.cpp libutil/signals.cpp libutil/log.cpp libutil/ip.cpp \
	runtime/cli/args.cpp runtime/cli/common.cpp runtime/cli/update.cpp \
	runtime/container/state.cpp runtime/container/validate.cpp \
	runtime/linux/process.cpp runtime/linux/cgroups.cpp runtime/linux/systemd.cpp runtime/linux/cgroup_resources.cpp \
	runtime/linux/device_filter.cpp runtime/linux/seccomp.cpp runtime/linux/safe_path.cpp \
	manager/images/reference.cpp manager/registry/config.cpp manager/registry/auth.cpp \
	manager/cli/args.cpp manager/containers/run_options.cpp manager/containers/seccomp_profile.cpp
LIB_OBJECTS := $(LIB_SOURCES:%.cpp=$(OUT)/obj/%.o)

all: $(TARGETS:%=$(OUT)/fuzz-%)

$(OUT)/obj/%.o: $(SRCDIR)/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CXXFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(OUT)/obj/tests/fuzz/%.o: $(SRCDIR)/tests/fuzz/%.cpp
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(CXXFLAGS_FUZZ) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(OUT)/libberth-fuzz.a: $(LIB_OBJECTS)
	rm -f $@
	ar rcs $@ $^

$(OUT)/fuzz-%: $(OUT)/obj/tests/fuzz/fuzz_%.o $(OUT)/libberth-fuzz.a
	$(FUZZ_CXX) $(SANITIZE) -fsanitize=fuzzer $< $(OUT)/libberth-fuzz.a $(LIBS) -o $@

clean:
	rm -rf $(OUT)

.PHONY: all clean
.SECONDARY:

-include $(LIB_OBJECTS:.o=.d) $(TARGETS:%=$(OUT)/obj/tests/fuzz/fuzz_%.d)
