// SPDX-License-Identifier: GPL-2.0
/*
 * target.c - the GWMARK xtables target: marks a packet by its conntrack
 * direction and makes the rule's marks the fast-path selectors of its
 * network namespace.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <net/netfilter/nf_conntrack.h>

#include "gwmark.h"
#include "xt_GWMARK.h"

/**
 * gwmark_tg() - set the mark of the packet's direction
 * @skb: the packet
 * @par: the rule
 *
 * Return: XT_CONTINUE; like MARK, GWMARK does not end rule traversal.
 */
static unsigned int gwmark_tg(struct sk_buff *skb,
			      const struct xt_action_param *par)
{
	const struct xt_gwmark_tginfo *info = par->targinfo;
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo == IP_CT_UNTRACKED)
		return XT_CONTINUE;

	if (CTINFO2DIR(ctinfo) == IP_CT_DIR_REPLY) {
		if (info->flags & XT_GWMARK_F_REPLY)
			skb->mark = (skb->mark & ~info->reply_mask) |
				    info->reply_mark;
	} else if (info->flags & XT_GWMARK_F_ORIG) {
		skb->mark = (skb->mark & ~info->orig_mask) | info->orig_mark;
	}
	return XT_CONTINUE;
}

static int gwmark_tg_check_mark(const char *what, u32 value, u32 mask)
{
	if (!value) {
		pr_info_ratelimited("--%s-mark 0 is refused: 0 is the mark of every unmarked packet\n",
				    what);
		return -EINVAL;
	}
	if (value & ~mask) {
		pr_info_ratelimited("--%s-mark 0x%x has bits outside its mask 0x%x\n",
				    what, value, mask);
		return -EINVAL;
	}
	return 0;
}

/**
 * gwmark_tg_check() - validate a rule and install its selectors
 * @par: the rule being added (table and hooks are checked by x_tables)
 *
 * Context: process context, x_tables mutex held.
 *
 * Return: 0, or -EINVAL with a logged reason, or the conntrack error.
 */
static int gwmark_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_gwmark_tginfo *info = par->targinfo;
	struct gwmark_net *gn = gwmark_pernet(par->net);
	int err;

	if (info->flags & ~XT_GWMARK_F_MASK) {
		pr_info_ratelimited("unknown flags 0x%x\n",
				    info->flags & ~XT_GWMARK_F_MASK);
		return -EINVAL;
	}
	if (!info->flags) {
		pr_info_ratelimited("needs --reply-mark or --orig-mark\n");
		return -EINVAL;
	}
	if (info->flags & XT_GWMARK_F_REPLY) {
		err = gwmark_tg_check_mark("reply", info->reply_mark,
					   info->reply_mask);
		if (err)
			return err;
	}
	if (info->flags & XT_GWMARK_F_ORIG) {
		err = gwmark_tg_check_mark("orig", info->orig_mark,
					   info->orig_mask);
		if (err)
			return err;
	}

	err = nf_ct_netns_get(par->net, par->family);
	if (err < 0) {
		pr_info_ratelimited("cannot load conntrack support for proto=%u\n",
				    par->family);
		return err;
	}

	if (info->flags & XT_GWMARK_F_REPLY)
		atomic64_set(&gn->reply_sel, gwmark_sel_make(info->reply_mark,
							     info->reply_mask));
	if (info->flags & XT_GWMARK_F_ORIG)
		atomic64_set(&gn->orig_sel, gwmark_sel_make(info->orig_mark,
							    info->orig_mask));
	atomic_inc(&gn->rules);
	return 0;
}

/*
 * May run after this namespace's exit handler (tables can be torn down
 * later): touches only fields that live until the namespace is freed.
 */
static void gwmark_tg_destroy(const struct xt_tgdtor_param *par)
{
	struct gwmark_net *gn = gwmark_pernet(par->net);

	if (atomic_dec_and_test(&gn->rules)) {
		atomic64_set(&gn->reply_sel, 0);
		atomic64_set(&gn->orig_sel, 0);
	}
	nf_ct_netns_put(par->net, par->family);
}

static struct xt_target gwmark_tg_reg __read_mostly = {
	.name		= "GWMARK",
	.revision	= XT_GWMARK_REVISION,
	.family		= NFPROTO_UNSPEC,
	.table		= "mangle",
	.hooks		= (1 << NF_INET_PRE_ROUTING) | (1 << NF_INET_LOCAL_OUT),
	.target		= gwmark_tg,
	.targetsize	= XT_ALIGN(sizeof(struct xt_gwmark_tginfo)),
	.usersize	= XT_GWMARK_USERSIZE,
	.checkentry	= gwmark_tg_check,
	.destroy	= gwmark_tg_destroy,
	.me		= THIS_MODULE,
};

/**
 * gwmark_target_register() - make GWMARK known to x_tables
 *
 * Return: 0 or a negative errno.
 */
int gwmark_target_register(void)
{
	return xt_register_target(&gwmark_tg_reg);
}

/**
 * gwmark_target_unregister() - withdraw GWMARK from x_tables
 */
void gwmark_target_unregister(void)
{
	xt_unregister_target(&gwmark_tg_reg);
}
