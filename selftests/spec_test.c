// SPDX-License-Identifier: GPL-2.0
/*
 * spec_test: the switcher applies, at the guest/host boundary, the
 * speculative-execution mitigations the host kernel chose at boot, and
 * says which (LHREQ_INFO, and the guest's shared page).
 *
 * Speculation cannot be observed under the test VM's TCG, so this checks
 * what can be: the module's report against the host's own account in
 * /sys/devices/system/cpu/vulnerabilities, rule by rule; against
 * LG_EXPECT_MITIGATIONS, the exact set `make check` expects from the VM
 * configuration it booted (mitigations=off, the defaults, an Intel model
 * with MDS, an AMD model with retbleed); and the guest's view.  Every other
 * selftest runs in the same configurations, through the sequences these
 * bits patched in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lguest_util.h"
#include "launcher.h"
#include "lg_test.h"

#define VULN_DIR	"/sys/devices/system/cpu/vulnerabilities/"

/* Whether the host's account of @bug mentions @what ("" if it has none). */
static bool says(const char *bug, const char *what)
{
	char path[128], buf[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), VULN_DIR "%s", bug);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

static uint32_t module_mitigations(void)
{
	struct lguest_info info;

	return lg_test_info(&info) ? ~0U : info.mitigations;
}

static void expect_bit(struct __test_metadata *_metadata, uint32_t have,
		       uint32_t bit, bool want, const char *why)
{
	char name[64];

	lg_format_mitigations(bit, name, sizeof(name));
	EXPECT_EQ(want, !!(have & bit)) {
		TH_LOG("%s: module %s, host's account %s (%s)", name,
		       have & bit ? "applies it" : "does not",
		       want ? "calls for it" : "does not", why);
	}
}

/*
 * Each mitigation the switcher can apply, and the words the host kernel
 * uses for the choice that selects it (arch/x86/kernel/cpu/bugs.c).
 */
TEST(mitigations_follow_the_hosts_account)
{
	uint32_t m = module_mitigations();
	bool retpoline = says("spectre_v2", "Mitigation: Retpolines") ||
			 says("spectre_v2", "Mitigation: LFENCE");
	bool ibrs = says("spectre_v2", "Mitigation: IBRS") ||
		    says("retbleed", "Mitigation: IBRS");

	ASSERT_NE(~0U, m);
	expect_bit(_metadata, m, LGUEST_MIT_VERW,
		   says("mds", "Clear CPU buffers") ||
		   says("tsx_async_abort", "Clear CPU buffers") ||
		   says("mmio_stale_data", "Clear CPU buffers") ||
		   says("reg_file_data_sampling", "Clear CPU buffers") ||
		   says("tsa", "Clear CPU buffers"),
		   "mds, taa, mmio_stale_data, rfds, tsa");
	expect_bit(_metadata, m, LGUEST_MIT_IBRS, ibrs, "spectre_v2, retbleed");
	expect_bit(_metadata, m, LGUEST_MIT_RSB_FILL,
		   retpoline || ibrs || says("spectre_v2", "PBRSB-eIBRS: SW sequence"),
		   "spectre_v2: RSB filling on VM exit");
	expect_bit(_metadata, m, LGUEST_MIT_UNTRAIN_RET,
		   says("retbleed", "untrained return thunk") ||
		   ((m & LGUEST_MIT_UNTRAIN_RET) &&
		    says("spec_rstack_overflow", "Safe RET")),
		   "retbleed, spec_rstack_overflow");
	expect_bit(_metadata, m, LGUEST_MIT_ENTRY_IBPB,
		   says("retbleed", "Mitigation: IBPB") ||
		   says("spec_rstack_overflow", "Mitigation: IBPB"),
		   "retbleed, spec_rstack_overflow");
	expect_bit(_metadata, m, LGUEST_MIT_BHB_CLEAR,
		   says("spectre_v2", "BHI: SW loop") ||
		   says("spectre_v2", "KVM: SW loop"),
		   "spectre_v2: BHI");
	expect_bit(_metadata, m, LGUEST_MIT_IBPB_GUESTS,
		   says("spectre_v2", "IBPB: conditional") ||
		   says("spectre_v2", "IBPB: always-on"),
		   "spectre_v2: IBPB");
	expect_bit(_metadata, m, LGUEST_MIT_IBPB_USER,
		   says("vmscape", "IBPB before exit to userspace"), "vmscape");
}

/* The exact set make check expects from the configuration it booted. */
TEST(mitigations_are_what_this_configuration_selects)
{
	const char *want = getenv("LG_EXPECT_MITIGATIONS");
	char have[256];

	if (!want)
		SKIP(return, "no LG_EXPECT_MITIGATIONS: not run by make check");
	lg_format_mitigations(module_mitigations(), have, sizeof(have));
	EXPECT_STREQ(want, have);
}

static void guest_reads_mitigations(void)
{
	GUEST_SYNC(guest_vcpu->host_mitigations);
}

/* The guest learns the same from its shared page. */
TEST(the_guest_sees_what_the_host_does)
{
	struct lg_test_vm *t = lg_test_vm_create(guest_reads_mitigations);
	struct lguest_exit e;
	uint64_t v;

	ASSERT_NE(NULL, t);
	LG_RUN_SYNC(t, &v, &e);
	EXPECT_EQ(module_mitigations(), v);
	ASSERT_EQ(UCALL_DONE, lg_test_run(t, &v, &e));
	lg_test_vm_free(t);
}

int main(int argc, char **argv)
{
	LG_REQUIRE_DEVICE();
	return test_harness_run(argc, argv);
}
