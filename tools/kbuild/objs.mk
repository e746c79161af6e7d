# SPDX-License-Identifier: GPL-2.0
#
# Prints the objects of $(NFTJ_MODULES) exactly as the top-level Kbuild
# computes them, one per line (net/netfilter/nft_cmp.o ...), so that
# tools/kbuild/build copies just the sources the build needs.
#
#   make -s -f tools/kbuild/objs.mk src=<tree> KCONFIG=<auto.conf> \
#        NFTJ_MODULES="..." print

include $(KCONFIG)
include $(src)/Kbuild

.PHONY: print
print:
	@printf '%s\n' $(foreach m,$(obj-m),$($(m:.o=-y)))
