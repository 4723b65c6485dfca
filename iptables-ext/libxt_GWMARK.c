// SPDX-License-Identifier: GPL-2.0
/*
 * libxt_GWMARK.c - iptables/ip6tables userspace half of the GWMARK target:
 * option parsing, checks, print and save of struct xt_gwmark_tginfo.
 *
 * The semantics live in include/xt_GWMARK.h. This file only has to make sure
 * that what reaches the kernel is well-formed and that iptables-save prints
 * text which iptables-restore turns back into the same bytes: values and
 * masks are always saved in hex, and a mask is printed only when it is not
 * the default 0xffffffff.
 *
 * There is deliberately no xlate callback: besides setting the mark, a GWMARK
 * rule makes its values the fast-path selectors of the netns, which no nft
 * expression does, so "meta mark set" would be a wrong translation.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xtables.h>

#include "xt_GWMARK.h"

enum {
	O_REPLY_MARK = 0,
	O_ORIG_MARK,
};

static const struct xt_option_entry gwmark_tg_opts[] = {
	{ .name = "reply-mark", .id = O_REPLY_MARK, .type = XTTYPE_MARKMASK32 },
	{ .name = "orig-mark", .id = O_ORIG_MARK, .type = XTTYPE_MARKMASK32 },
	XTOPT_TABLEEND,
};

static void gwmark_tg_help(void)
{
	printf(
"GWMARK target options (table mangle, chains PREROUTING and OUTPUT):\n"
"  --reply-mark value[/mask]   mark reply-direction packets with value and\n"
"                              send such packets at PREROUTING straight to\n"
"                              the MAC the connection came from\n"
"  --orig-mark value[/mask]    mark original-direction packets with value and\n"
"                              send such packets at OUTPUT straight to the\n"
"                              gateway MAC the connection's sender chose\n"
"At least one option is needed. mask defaults to 0xffffffff; value must be\n"
"non-zero and have no bits outside mask.\n");
}

/* gwmark_tg_check_value - refuse a value/mask pair the kernel would refuse. */
static void gwmark_tg_check_value(const char *opt, uint32_t value, uint32_t mask)
{
	if (value == 0)
		xtables_error(PARAMETER_PROBLEM,
			      "GWMARK: --%s value must not be 0 (0 is the mark of every unmarked packet)",
			      opt);
	if (value & ~mask)
		xtables_error(PARAMETER_PROBLEM,
			      "GWMARK: --%s value 0x%x has bits outside its mask 0x%x",
			      opt, value, mask);
}

static void gwmark_tg_parse(struct xt_option_call *cb)
{
	struct xt_gwmark_tginfo *info = cb->data;

	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_REPLY_MARK:
		gwmark_tg_check_value(cb->entry->name, cb->val.mark, cb->val.mask);
		info->flags |= XT_GWMARK_F_REPLY;
		info->reply_mark = cb->val.mark;
		info->reply_mask = cb->val.mask;
		break;
	case O_ORIG_MARK:
		gwmark_tg_check_value(cb->entry->name, cb->val.mark, cb->val.mask);
		info->flags |= XT_GWMARK_F_ORIG;
		info->orig_mark = cb->val.mark;
		info->orig_mask = cb->val.mask;
		break;
	}
}

static void gwmark_tg_fcheck(struct xt_fcheck_call *cb)
{
	if (!(cb->xflags & ((1 << O_REPLY_MARK) | (1 << O_ORIG_MARK))))
		xtables_error(PARAMETER_PROBLEM,
			      "GWMARK: at least one of --reply-mark and --orig-mark is required");
}

/* gwmark_tg_print_pair - " PREFIXvalue[/mask]", the mask only if not full. */
static void gwmark_tg_print_pair(const char *prefix, uint32_t value, uint32_t mask)
{
	if (mask == UINT32_MAX)
		printf(" %s0x%x", prefix, value);
	else
		printf(" %s0x%x/0x%x", prefix, value, mask);
}

static void gwmark_tg_print(const void *ip, const struct xt_entry_target *target,
			    int numeric)
{
	const struct xt_gwmark_tginfo *info = (const void *)target->data;

	(void)ip;
	(void)numeric;
	printf(" GWMARK");
	if (info->flags & XT_GWMARK_F_REPLY)
		gwmark_tg_print_pair("reply ", info->reply_mark, info->reply_mask);
	if (info->flags & XT_GWMARK_F_ORIG)
		gwmark_tg_print_pair("orig ", info->orig_mark, info->orig_mask);
}

static void gwmark_tg_save(const void *ip, const struct xt_entry_target *target)
{
	const struct xt_gwmark_tginfo *info = (const void *)target->data;

	(void)ip;
	if (info->flags & XT_GWMARK_F_REPLY)
		gwmark_tg_print_pair("--reply-mark ", info->reply_mark, info->reply_mask);
	if (info->flags & XT_GWMARK_F_ORIG)
		gwmark_tg_print_pair("--orig-mark ", info->orig_mark, info->orig_mask);
}

static struct xtables_target gwmark_tg_reg = {
	.version	= XTABLES_VERSION,
	.name		= "GWMARK",
	.revision	= XT_GWMARK_REVISION,
	.family		= NFPROTO_UNSPEC,
	.size		= XT_ALIGN(sizeof(struct xt_gwmark_tginfo)),
	.userspacesize	= XT_GWMARK_USERSIZE,
	.help		= gwmark_tg_help,
	.print		= gwmark_tg_print,
	.save		= gwmark_tg_save,
	.x6_parse	= gwmark_tg_parse,
	.x6_fcheck	= gwmark_tg_fcheck,
	.x6_options	= gwmark_tg_opts,
};

static __attribute__((constructor)) void gwmark_tg_ldr(void)
{
	xtables_register_target(&gwmark_tg_reg);
}
