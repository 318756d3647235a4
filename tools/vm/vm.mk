# make check-cgroupv2: the unit and bats integration tests against the built
# berth-runtime on a pure cgroup v2 host, a qemu VM that boots Debian's own
# kernel with cgroup_no_v1=all (tools/vm/). Needs root, qemu-system-x86 and
# Debian's package archive the first time (the kernel is cached in
# /var/cache/berth-vm). The last line is "N passed, M failed".
check-cgroupv2: berth-runtime berth $(check_PROGRAMS)
	$(top_srcdir)/tools/vm/check-cgroupv2 $(abs_top_builddir)

EXTRA_DIST += tools/vm/fetch-kernel tools/vm/run-in-vm tools/vm/check-cgroupv2 tools/vm/vm.mk

.PHONY: check-cgroupv2
