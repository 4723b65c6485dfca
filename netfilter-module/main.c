// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module entry and exit, module parameters, and the per-network-
 * namespace life of xt_GWMARK.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memcontrol.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>

#include "announce.h"
#include "cache.h"
#include "gwmark.h"

#define GWMARK_MAX_ENTRIES_LIMIT	(1U << 24)

static unsigned int max_entries = 65536;
module_param(max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries,
		 "Most flows cached per network namespace (1..16777216, default 65536); the least recently active flow is evicted beyond it");

bool gwmark_transparent __read_mostly = true;
module_param_named(transparent, gwmark_transparent, bool, 0644);
MODULE_PARM_DESC(transparent,
		 "Replies sent by the fast path carry, as Ethernet source, the MAC the LAN host addressed its original packet to (its gateway's) instead of the output device's own (default Y; writable at run time)");

bool gwmark_allow_userns __read_mostly;
module_param_named(allow_userns, gwmark_allow_userns, bool, 0644);
MODULE_PARM_DESC(allow_userns,
		 "Accept GWMARK rules in network namespaces owned by a non-initial user namespace (default N: such rules are refused with EPERM; writable at run time)");

unsigned int gwmark_max_entries_total __read_mostly = 262144;
module_param_named(max_entries_total, gwmark_max_entries_total, uint, 0644);
MODULE_PARM_DESC(max_entries_total,
		 "Most flows cached by all network namespaces together (default 262144); beyond it a namespace recycles its own flows or caches no new one (writable at run time)");

/* Flows cached by all namespaces (cache.c). */
atomic_t gwmark_entries_total = ATOMIC_INIT(0);

unsigned int gwmark_net_id __read_mostly;

static int __net_init gwmark_net_init(struct net *net)
{
	struct gwmark_net *gn = gwmark_pernet(net);
	int err;

	gn->net = net;
	gn->max_entries = clamp_t(unsigned int, max_entries, 1,
				  GWMARK_MAX_ENTRIES_LIMIT);
	gwmark_rules_init(gn);
	/*
	 * Flows are allocated on the packet path, where no task's memory
	 * cgroup applies: charge them to the one this namespace was created
	 * under (copy_net_ns() makes it the active one while namespaces are
	 * initialised). The initial namespace's flows stay uncharged.
	 */
	gn->memcg = net_eq(net, &init_net) ? NULL : get_mem_cgroup_from_mm(NULL);
	gn->stats = alloc_percpu_gfp(struct gwmark_stats, GFP_KERNEL_ACCOUNT);
	if (!gn->stats)
		return -ENOMEM;
	err = gwmark_cache_init(gn);
	if (err)
		goto free_stats;
	err = gwmark_announce_init(gn);
	if (err)
		goto destroy_cache;
	err = gwmark_proc_init(gn);
	if (err)
		goto exit_announce;
	err = gwmark_hooks_register(net);
	if (err)
		goto exit_proc;
	return 0;

exit_proc:
	gwmark_proc_exit(gn);
exit_announce:
	gwmark_announce_exit(gn);
destroy_cache:
	gwmark_cache_destroy(gn);
free_stats:
	free_percpu(gn->stats);
	gn->stats = NULL;
	mem_cgroup_put(gn->memcg);
	gn->memcg = NULL;
	return err;
}

static void __net_exit gwmark_net_exit(struct net *net)
{
	struct gwmark_net *gn = gwmark_pernet(net);

	gwmark_hooks_unregister(net);
	gwmark_proc_exit(gn);
	gwmark_announce_exit(gn);
	gwmark_cache_destroy(gn);
	free_percpu(gn->stats);
	gn->stats = NULL;
	mem_cgroup_put(gn->memcg);
	gn->memcg = NULL;
}

static struct pernet_operations gwmark_net_ops = {
	.init	= gwmark_net_init,
	.exit	= gwmark_net_exit,
	.id	= &gwmark_net_id,
	.size	= sizeof(struct gwmark_net),
};

static int __init gwmark_init(void)
{
	int err;

	err = register_pernet_subsys(&gwmark_net_ops);
	if (err)
		return err;
	err = gwmark_notify_register();
	if (err)
		goto unregister_pernet;
	err = gwmark_target_register();
	if (err)
		goto unregister_notify;
	return 0;

unregister_notify:
	gwmark_notify_unregister();
unregister_pernet:
	unregister_pernet_subsys(&gwmark_net_ops);
	return err;
}

static void __exit gwmark_exit(void)
{
	gwmark_target_unregister();
	gwmark_notify_unregister();
	unregister_pernet_subsys(&gwmark_net_ops);
	/* Flows are freed by kfree_rcu(); let those callbacks finish. */
	rcu_barrier();
}

module_init(gwmark_init);
module_exit(gwmark_exit);

MODULE_LICENSE("GPL");
/* The project's version (CMakeLists.txt project()); 00_harness checks they agree. */
MODULE_VERSION("0.1.0");
MODULE_DESCRIPTION("Xtables: per-connection gateway MAC cache and direct transmit (GWMARK)");
MODULE_ALIAS("ipt_GWMARK");
MODULE_ALIAS("ip6t_GWMARK");
