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
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include <net/netfilter/nf_conntrack.h>

#include "gwmark.h"
#include "xt_GWMARK.h"

/**
 * struct gwmark_rule - one installed GWMARK rule, as the selectors see it
 * @node:       link in gwmark_net.rule_list (under rules_mutex)
 * @fams:       BIT(enum gwmark_fam) of the families the rule applies to
 * @flags:      XT_GWMARK_F_* of the rule
 * @reply_sel:  its reply selector (if XT_GWMARK_F_REPLY)
 * @orig_sel:   its orig selector (if XT_GWMARK_F_ORIG)
 * @in_force:   every selector it names is in force in its families; the
 *              packets it marks can take the fast path
 *
 * Allocated by checkentry and kept in the rule's kernel-only priv field, so
 * that every rule instance (one per table generation, per nft expression)
 * is added and removed exactly once, whatever order x_tables or nf_tables
 * check and destroy them in: an iptables-legacy table replace checks the
 * new table's rules before it destroys the old one's, and a failed
 * transaction destroys the rules it had already checked.
 */
struct gwmark_rule {
	struct list_head node;
	unsigned int fams;
	u32 flags;
	u64 reply_sel;
	u64 orig_sel;
	bool in_force;
};

/**
 * gwmark_tg() - set the mark of the packet's direction
 * @skb: the packet
 * @par: the rule
 *
 * A rule whose selector is not in force (its family has GWMARK_SEL_MAX
 * other selectors) still marks, and the packet is counted as unselected:
 * it will not take the fast path.
 *
 * Return: XT_CONTINUE; like MARK, GWMARK does not end rule traversal.
 */
static unsigned int gwmark_tg(struct sk_buff *skb,
			      const struct xt_action_param *par)
{
	const struct xt_gwmark_tginfo *info = par->targinfo;
	const struct gwmark_rule *rule = info->priv;
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo == IP_CT_UNTRACKED)
		return XT_CONTINUE;

	if (CTINFO2DIR(ctinfo) == IP_CT_DIR_REPLY) {
		if (!(info->flags & XT_GWMARK_F_REPLY))
			return XT_CONTINUE;
		skb->mark = (skb->mark & ~info->reply_mask) | info->reply_mark;
	} else {
		if (!(info->flags & XT_GWMARK_F_ORIG))
			return XT_CONTINUE;
		skb->mark = (skb->mark & ~info->orig_mask) | info->orig_mark;
	}
	if (unlikely(rule && !READ_ONCE(rule->in_force)))
		gwmark_stat_inc(gwmark_pernet(xt_net(par)),
				GWMARK_STAT_UNSELECTED);
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

/* Add @sel to @arr (@n used) unless there; false if there is no room. */
static bool gwmark_sels_add(u64 *arr, unsigned int *n, u64 sel)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (arr[i] == sel)
			return true;
	if (*n >= GWMARK_SEL_MAX)
		return false;
	arr[(*n)++] = sel;
	return true;
}

/*
 * Recompute the selectors in force from the rules installed now, oldest
 * first (so a new rule never pushes out an older one's selector), and
 * publish them.
 */
static void gwmark_rules_apply(struct gwmark_net *gn)
{
	struct gwmark_sels sels[GWMARK_FAM_NUM] = {};
	unsigned int nrules[GWMARK_FAM_NUM] = {};
	unsigned int total = 0, unselected = 0;
	u64 reply = 0, orig = 0;
	struct gwmark_rule *r;
	bool ok;
	int f;

	lockdep_assert_held(&gn->rules_mutex);

	list_for_each_entry(r, &gn->rule_list, node) {
		ok = true;
		for (f = 0; f < GWMARK_FAM_NUM; f++) {
			if (!(r->fams & BIT(f)))
				continue;
			nrules[f]++;
			if (r->flags & XT_GWMARK_F_REPLY)
				ok &= gwmark_sels_add(sels[f].reply,
						      &sels[f].nreply,
						      r->reply_sel);
			if (r->flags & XT_GWMARK_F_ORIG)
				ok &= gwmark_sels_add(sels[f].orig,
						      &sels[f].norig,
						      r->orig_sel);
		}
		WRITE_ONCE(r->in_force, ok);
		if (!ok)
			unselected++;
		total++;
		if (r->flags & XT_GWMARK_F_REPLY)
			reply = r->reply_sel;
		if (r->flags & XT_GWMARK_F_ORIG)
			orig = r->orig_sel;
	}

	write_seqlock_bh(&gn->sel_lock);
	memcpy(gn->sels, sels, sizeof(sels));
	write_sequnlock_bh(&gn->sel_lock);
	for (f = 0; f < GWMARK_FAM_NUM; f++)
		atomic_set(&gn->fam_rules[f], nrules[f]);
	atomic_set(&gn->rules, total);
	WRITE_ONCE(gn->rules_unselected, unselected);
	atomic64_set(&gn->reply_sel, reply);
	atomic64_set(&gn->orig_sel, orig);
}

/**
 * gwmark_rules_init() - a namespace without rules: fast path off
 * @gn: the namespace
 */
void gwmark_rules_init(struct gwmark_net *gn)
{
	int f;

	mutex_init(&gn->rules_mutex);
	INIT_LIST_HEAD(&gn->rule_list);
	seqlock_init(&gn->sel_lock);
	memset(gn->sels, 0, sizeof(gn->sels));
	for (f = 0; f < GWMARK_FAM_NUM; f++)
		atomic_set(&gn->fam_rules[f], 0);
	atomic_set(&gn->rules, 0);
	gn->rules_unselected = 0;
	atomic64_set(&gn->reply_sel, 0);
	atomic64_set(&gn->orig_sel, 0);
}

/* The families a rule of x_tables family @family applies to. */
static unsigned int gwmark_rule_fams(u8 family)
{
	switch (family) {
	case NFPROTO_IPV4:
		return BIT(GWMARK_FAM_IPV4);
	case NFPROTO_IPV6:
		return BIT(GWMARK_FAM_IPV6);
	case NFPROTO_INET:
		return BIT(GWMARK_FAM_IPV4) | BIT(GWMARK_FAM_IPV6);
	default:
		return 0;
	}
}

/**
 * gwmark_tg_check() - validate a rule and put its selectors in force
 * @par: the rule being added (table and hooks are checked by x_tables)
 *
 * Context: process context (x_tables or nf_tables locks held).
 *
 * Return: 0, or -EINVAL with a logged reason, -EPERM in a user namespace
 * that is not allowed rules, -ENOMEM, or the conntrack error.
 */
static int gwmark_tg_check(const struct xt_tgchk_param *par)
{
	struct xt_gwmark_tginfo *info = par->targinfo;
	struct gwmark_net *gn = gwmark_pernet(par->net);
	struct gwmark_rule *rule;
	unsigned int fams;
	int err;

	/*
	 * The fast path bypasses routing and filtering of the host: only the
	 * host's administrator may switch it on unless told otherwise.
	 */
	if (par->net->user_ns != &init_user_ns &&
	    !READ_ONCE(gwmark_allow_userns)) {
		pr_info_ratelimited("refused in a non-initial user namespace (module parameter allow_userns=N)\n");
		return -EPERM;
	}
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
	fams = gwmark_rule_fams(par->family);
	if (!fams) {
		pr_info_ratelimited("unsupported family %u\n", par->family);
		return -EINVAL;
	}

	rule = kzalloc(sizeof(*rule), GFP_KERNEL_ACCOUNT);
	if (!rule)
		return -ENOMEM;
	rule->fams = fams;
	rule->flags = info->flags;
	rule->reply_sel = gwmark_sel_make(info->reply_mark, info->reply_mask);
	rule->orig_sel = gwmark_sel_make(info->orig_mark, info->orig_mask);

	err = nf_ct_netns_get(par->net, par->family);
	if (err < 0) {
		pr_info_ratelimited("cannot load conntrack support for proto=%u\n",
				    par->family);
		kfree(rule);
		return err;
	}

	info->priv = rule;
	mutex_lock(&gn->rules_mutex);
	list_add_tail(&rule->node, &gn->rule_list);
	gwmark_rules_apply(gn);
	mutex_unlock(&gn->rules_mutex);
	gwmark_stat_inc(gn, GWMARK_STAT_RULES_ADDED);
	return 0;
}

/*
 * May run after this namespace's exit handler (tables can be torn down
 * later): touches only fields that live until the namespace is freed.
 */
static void gwmark_tg_destroy(const struct xt_tgdtor_param *par)
{
	struct xt_gwmark_tginfo *info = par->targinfo;
	struct gwmark_net *gn = gwmark_pernet(par->net);
	struct gwmark_rule *rule = info->priv;

	if (rule) {
		mutex_lock(&gn->rules_mutex);
		list_del(&rule->node);
		gwmark_rules_apply(gn);
		mutex_unlock(&gn->rules_mutex);
		info->priv = NULL;
		/*
		 * No packet is inside the rule any more: x_tables destroys a
		 * replaced table's rules after every CPU has left it, and
		 * nf_tables after an RCU grace period.
		 */
		kfree(rule);
	}
	if (gn->stats)
		gwmark_stat_inc(gn, GWMARK_STAT_RULES_REMOVED);
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
