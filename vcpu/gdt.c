// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's segments.
 *
 * While a guest runs, each physical CPU uses a GDT of ours (switcher.h):
 * its first 512 entries are the running vCPU's own, the rest are fixed.
 * A vCPU's entries live here, in struct lg_cpu, and copy_in_guest_info()
 * copies them into the CPU's GDT when they changed (CHANGED_GDT) or when
 * the CPU last ran another vCPU, as the original lguest did with its GDT.
 *
 * The guest runs at CPL3 on descriptors it chose, so each one is checked
 * as it comes in (LHCALL_LOAD_GDT, as Xen's check_descriptor() does): code
 * or data, DPL 3, and code 64-bit.  A few entries stay the host's: 0, 2
 * (the host's __KERNEL_CS, which our IDT's gates use, so that the gates
 * work under the host's GDT and ours alike), and 5 and 6 (the flat user
 * data and code segments, LGUEST_USER_SS and LGUEST_USER_CS, which the
 * switcher puts in the frames it builds itself).
 *
 * A check at load time is not enough: a selector already in a segment
 * register can outlive its descriptor.  The switcher reloads the guest's
 * CS, SS, DS, ES, FS and GS at CPL0 on every entry, where a bad one would
 * fault in the host; so before every entry lguest_check_segments() checks
 * each against the current table.  A data selector that no longer loads
 * becomes null (what Xen does, and what a CPU does to data segments on a
 * privilege change); a code or stack selector that does not kills the
 * guest.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/desc.h>
#include <asm/segment.h>
#include "lg.h"
#include "switcher.h"

/* Descriptor fields, as the CPU reads them. */
#define DESC_TYPE(d)	(((d) >> 40) & 0xf)
#define DESC_S(d)	(((d) >> 44) & 1)
#define DESC_DPL(d)	(((d) >> 45) & 3)
#define DESC_P(d)	(((d) >> 47) & 1)
#define DESC_L(d)	(((d) >> 53) & 1)
#define DESC_DB(d)	(((d) >> 54) & 1)
#define TYPE_CODE	0x8
#define TYPE_WRITABLE	0x2	/* data; for code: readable */
#define TYPE_ACCESSED	0x1

static bool host_entry(unsigned int i)
{
	return i == 0 || i == GDT_ENTRY_KERNEL_CS ||
	       i == GDT_ENTRY_DEFAULT_USER_DS || i == GDT_ENTRY_DEFAULT_USER_CS;
}

/*
 * The entries the host keeps, copied from the host's own GDT into @gdt
 * (a vCPU's table or a CPU's); returns how many entries that covers.
 */
unsigned int lguest_gdt_host_entries(u64 *gdt)
{
	struct desc_struct *host = get_cpu_gdt_rw(0);

	gdt[GDT_ENTRY_KERNEL_CS] = *(u64 *)&host[GDT_ENTRY_KERNEL_CS];
	gdt[GDT_ENTRY_DEFAULT_USER_DS] = *(u64 *)&host[GDT_ENTRY_DEFAULT_USER_DS];
	gdt[GDT_ENTRY_DEFAULT_USER_CS] = *(u64 *)&host[GDT_ENTRY_DEFAULT_USER_CS];
	return GDT_ENTRY_DEFAULT_USER_CS + 1;
}

/* A new vCPU: the host's entries, as every CPU's GDT has them. */
void lguest_gdt_init(struct lg_cpu *cpu)
{
	memset(cpu->gdt, 0, sizeof(cpu->gdt));
	cpu->gdt_ents = lguest_gdt_host_entries(cpu->gdt);
	cpu->gdt_lo = 0;
	cpu->gdt_hi = cpu->gdt_ents;
	memset(cpu->sel, 0, sizeof(cpu->sel));
	cpu->changed |= CHANGED_GDT;
}

/* May the guest have @d in its GDT? */
static bool descriptor_ok(u64 d)
{
	if (!d)
		return true;
	if (!DESC_S(d) || DESC_DPL(d) != 3)
		return false;
	if ((DESC_TYPE(d) & TYPE_CODE) && (!DESC_L(d) || DESC_DB(d)))
		return false;
	return true;
}

/* Install @count checked descriptors from @first (the accessed bit set). */
static void install(struct lg_cpu *cpu, u64 first, u64 count, const u64 *d)
{
	u64 i;

	for (i = 0; i < count; i++)
		if (!host_entry(first + i))
			/* The CPU never has to write our GDT. */
			cpu->gdt[first + i] = d[i] ? d[i] | (u64)TYPE_ACCESSED << 40 : 0;
	cpu->gdt_ents = max_t(unsigned int, cpu->gdt_ents, first + count);
	while (cpu->gdt_ents > GDT_ENTRY_DEFAULT_USER_CS + 1 && !cpu->gdt[cpu->gdt_ents - 1])
		cpu->gdt_ents--;
	/* Only these need copying, if the vCPU stays on its CPU. */
	cpu->gdt_lo = min_t(unsigned int, cpu->gdt_lo, first);
	cpu->gdt_hi = max_t(unsigned int, cpu->gdt_hi, first + count);
	cpu->changed |= CHANGED_GDT;
}

/*
 * LHCALL_LOAD_GDT: @count descriptors from guest-physical @gpa into entries
 * @first on.  All or nothing.
 */
long lguest_load_gdt(struct lg_cpu *cpu, u64 first, u64 count, u64 gpa)
{
	u64 *d, i;

	if (first >= LGUEST_GDT_ENTRIES || !count ||
	    count > LGUEST_GDT_ENTRIES - first ||
	    !lguest_guest_range_ok(cpu->lg, gpa, count * sizeof(u64)))
		return LGUEST_HCALL_EINVAL;
	/*
	 * Our copy, read once (at most a page): the guest may change its
	 * memory meanwhile from another vCPU, but not what we check.
	 */
	d = kmalloc_array(count, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!d)
		return LGUEST_HCALL_EINVAL;
	if (copy_from_user(d, lguest_gpa_to_user(cpu->lg, gpa), count * sizeof(u64)))
		goto refuse;
	for (i = 0; i < count; i++)
		if (host_entry(first + i) || !descriptor_ok(d[i]))
			goto refuse;
	install(cpu, first, count, d);
	kfree(d);
	return LGUEST_HCALL_OK;

refuse:
	kfree(d);
	return LGUEST_HCALL_EINVAL;
}

/*
 * A whole GDT in Xen's terms (xen/hypercalls.c's set_gdt): @d holds
 * @count entries, already copied, of which every one lguest can run is
 * installed and every other slot left empty.  Xen raises a kernel
 * segment's DPL to the guest kernel's ring (3 for a 64-bit PV guest),
 * and so do we.  What the CPU under lguest cannot give the guest
 * (system descriptors, 32-bit code, the host's own entries) stays empty;
 * a selector naming one then fails where it is loaded, as on Xen a bad
 * descriptor fails at set_gdt.  Returns how many entries were dropped.
 */
unsigned int lguest_set_gdt(struct lg_cpu *cpu, u64 *d, unsigned int count)
{
	unsigned int i, dropped = 0;

	count = min_t(unsigned int, count, LGUEST_GDT_ENTRIES);
	for (i = 0; i < count; i++) {
		if (d[i] && DESC_S(d[i]))
			d[i] |= 3ULL << 45;
		if (host_entry(i) || !descriptor_ok(d[i])) {
			dropped += d[i] != 0;
			d[i] = 0;
		}
	}
	memset(cpu->gdt, 0, sizeof(cpu->gdt));
	cpu->gdt_ents = lguest_gdt_host_entries(cpu->gdt);
	install(cpu, 0, count, d);
	cpu->gdt_lo = 0;
	cpu->gdt_hi = LGUEST_GDT_ENTRIES;
	return dropped;
}

/* The descriptor @sel names in the GDT the vCPU runs under, or 0. */
static u64 lookup(struct lg_cpu *cpu, u64 sel)
{
	u64 i = (sel & 0xffff) >> 3;

	if (sel & SEGMENT_TI_MASK)
		return 0;		/* no LDT while the guest runs */
	if (i < LGUEST_GDT_ENTRIES)
		return cpu->gdt[i];
	if (i >= LG_GDT_FIXED && i < LG_GDT_FIXED + ARRAY_SIZE(lguest_gdt_fixed))
		return lguest_gdt_fixed[i - LG_GDT_FIXED];
	return 0;
}

/* A selector the CPU would take for CS at CPL3 in 64-bit mode. */
static bool code_selector_ok(struct lg_cpu *cpu, u64 sel)
{
	u64 d = lookup(cpu, sel);

	return (sel & ~0xffffULL) == 0 && (sel & 3) == 3 && DESC_P(d) &&
	       DESC_S(d) && (DESC_TYPE(d) & TYPE_CODE) && DESC_DPL(d) == 3 &&
	       DESC_L(d) && !DESC_DB(d);
}

/* ... for SS at CPL3. */
static bool stack_selector_ok(struct lg_cpu *cpu, u64 sel)
{
	u64 d = lookup(cpu, sel);

	return (sel & ~0xffffULL) == 0 && (sel & 3) == 3 && DESC_P(d) &&
	       DESC_S(d) && !(DESC_TYPE(d) & TYPE_CODE) &&
	       (DESC_TYPE(d) & TYPE_WRITABLE) && DESC_DPL(d) == 3;
}

/* ... for DS, ES, FS or GS: null, data, or readable code, all of DPL 3. */
static bool data_selector_ok(struct lg_cpu *cpu, u16 sel)
{
	u64 d;

	if ((sel & ~3) == 0)
		return true;
	d = lookup(cpu, sel);
	if (!DESC_P(d) || !DESC_S(d) || DESC_DPL(d) != 3)
		return false;
	return !(DESC_TYPE(d) & TYPE_CODE) || (DESC_TYPE(d) & TYPE_WRITABLE);
}

/*
 * Before every entry, with the table that entry will load: false (and the
 * guest is dead) if its code or stack segment is no longer one it may run
 * on.
 */
bool lguest_check_segments(struct lg_cpu *cpu)
{
	unsigned int i;

	/*
	 * Nearly always: the flat segments the host keeps, or Xen's fixed
	 * ones (a Xen PV kernel's), no data ones.  Both pairs are in every
	 * GDT a vCPU runs on, and the guest cannot change them.
	 */
	if (likely(((cpu->regs.cs == __USER_CS && cpu->regs.ss == __USER_DS) ||
		    (cpu->regs.cs == LG_SEL_CS64 && cpu->regs.ss == LG_SEL_DS)) &&
		   !(cpu->sel[0] | cpu->sel[1] | cpu->sel[2] | cpu->sel[3])))
		return true;

	if (!code_selector_ok(cpu, cpu->regs.cs) ||
	    !stack_selector_ok(cpu, cpu->regs.ss)) {
		kill_guest(cpu, "guest left 64-bit mode (cs %#llx, ss %#llx) at rip %#llx",
			   cpu->regs.cs, cpu->regs.ss, cpu->regs.rip);
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(cpu->sel); i++)
		if (!data_selector_ok(cpu, cpu->sel[i]))
			cpu->sel[i] = 0;
	return true;
}
