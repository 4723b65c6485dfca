// SPDX-License-Identifier: GPL-2.0
/*
 * proc.c - /proc/net/gwmark/stats and /proc/net/gwmark/flows, in the
 * formats fixed by xt_GWMARK.h.
 */
#include <linux/build_bug.h>
#include <linux/in.h>
#include <linux/jiffies.h>
#include <linux/netdevice.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <net/netfilter/nf_conntrack_tuple.h>

#include "cache.h"
#include "xt_GWMARK.h"

static const char *const gwmark_stat_names[] = { GWMARK_STAT_NAMES };
static_assert(ARRAY_SIZE(gwmark_stat_names) == GWMARK_STAT_NUM);

static void gwmark_proc_show_sel(struct seq_file *m, const char *name, u64 sel)
{
	if (sel)
		seq_printf(m, "%s 0x%08x/0x%08x\n", name, gwmark_sel_value(sel),
			   gwmark_sel_mask(sel));
	else
		seq_printf(m, "%s %s\n", name, GWMARK_STAT_MARK_OFF);
}

static int gwmark_proc_stats_show(struct seq_file *m, void *v)
{
	struct gwmark_net *gn = gwmark_pernet(seq_file_single_net(m));
	u64 sum[GWMARK_STAT_NUM] = {};
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct gwmark_stats *s = per_cpu_ptr(gn->stats, cpu);

		for (i = 0; i < GWMARK_STAT_NUM; i++)
			sum[i] += READ_ONCE(s->v[i]);
	}
	for (i = 0; i < GWMARK_STAT_NUM; i++)
		seq_printf(m, "%s %llu\n", gwmark_stat_names[i], sum[i]);
	seq_printf(m, "%s %u\n", GWMARK_STAT_ENTRIES, READ_ONCE(gn->count));
	seq_printf(m, "%s %u\n", GWMARK_STAT_MAX_ENTRIES, gn->max_entries);
	gwmark_proc_show_sel(m, GWMARK_STAT_REPLY_MARK,
			     atomic64_read(&gn->reply_sel));
	gwmark_proc_show_sel(m, GWMARK_STAT_ORIG_MARK,
			     atomic64_read(&gn->orig_sel));
	return 0;
}

/*
 * The flows file walks the LRU list under gwmark_net.lock, from start() to
 * stop(); seq_file calls no user copy in between, so nothing sleeps with
 * the lock held.
 */
static void *gwmark_proc_flows_start(struct seq_file *m, loff_t *pos)
	__acquires(&gn->lock)
{
	struct gwmark_net *gn = gwmark_pernet(seq_file_net(m));

	spin_lock_bh(&gn->lock);
	return seq_list_start_head(&gn->lru, *pos);
}

static void *gwmark_proc_flows_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct gwmark_net *gn = gwmark_pernet(seq_file_net(m));

	return seq_list_next(v, &gn->lru, pos);
}

static void gwmark_proc_flows_stop(struct seq_file *m, void *v)
	__releases(&gn->lock)
{
	struct gwmark_net *gn = gwmark_pernet(seq_file_net(m));

	spin_unlock_bh(&gn->lock);
}

static const char *gwmark_proc_proto_name(u8 family, u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return family == NFPROTO_IPV4 ? "icmp" : NULL;
	case IPPROTO_ICMPV6:
		return family == NFPROTO_IPV6 ? "icmpv6" : NULL;
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_GRE:
		return "gre";
	default:
		return NULL;
	}
}

/* Ports as the header defines them: ICMP id as SPORT, 0 without ports. */
static void gwmark_proc_ports(const struct nf_conntrack_tuple *t,
			      u16 *sport, u16 *dport)
{
	switch (t->dst.protonum) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		*sport = ntohs(t->src.u.all);
		*dport = ntohs(t->dst.u.all);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		*sport = ntohs(t->src.u.icmp.id);
		*dport = 0;
		break;
	default:
		*sport = 0;
		*dport = 0;
	}
}

static int gwmark_proc_flows_show(struct seq_file *m, void *v)
{
	struct gwmark_net *gn = gwmark_pernet(seq_file_net(m));
	const struct nf_conntrack_tuple *t;
	const struct gwmark_flow *flow;
	const struct net_device *dev;
	struct gwmark_hop hop;
	const char *proto;
	u16 sport, dport;
	u8 family;

	if (v == &gn->lru) {
		seq_puts(m, GWMARK_FLOWS_HEADER "\n");
		return 0;
	}
	flow = list_entry(v, struct gwmark_flow, lru);
	t = &flow->tuple;
	family = t->src.l3num;
	gwmark_flow_hop_read(flow, &hop);

	if (family == NFPROTO_IPV4)
		seq_printf(m, "ipv4 ");
	else
		seq_printf(m, "ipv6 ");
	proto = gwmark_proc_proto_name(family, t->dst.protonum);
	if (proto)
		seq_printf(m, "%s ", proto);
	else
		seq_printf(m, "%u ", t->dst.protonum);
	gwmark_proc_ports(t, &sport, &dport);
	if (family == NFPROTO_IPV4)
		seq_printf(m, "%pI4 %u %pI4 %u ", &t->src.u3.ip, sport,
			   &t->dst.u3.ip, dport);
	else
		seq_printf(m, "%pI6c %u %pI6c %u ", &t->src.u3.in6, sport,
			   &t->dst.u3.in6, dport);
	seq_printf(m, "%pM %pM ", hop.reply_to, hop.gateway);

	rcu_read_lock();
	dev = dev_get_by_index_rcu(gn->net, hop.ifindex);
	seq_printf(m, "%s", dev ? dev->name : "-");
	rcu_read_unlock();
	seq_printf(m, " %lu\n",
		   (jiffies - READ_ONCE(flow->refreshed)) / HZ);
	return 0;
}

static const struct seq_operations gwmark_proc_flows_ops = {
	.start	= gwmark_proc_flows_start,
	.next	= gwmark_proc_flows_next,
	.stop	= gwmark_proc_flows_stop,
	.show	= gwmark_proc_flows_show,
};

/**
 * gwmark_proc_init() - create /proc/net/gwmark/{stats,flows} in a namespace
 * @gn: the namespace
 *
 * Return: 0 or -ENOMEM.
 */
int gwmark_proc_init(struct gwmark_net *gn)
{
	struct net *net = gn->net;

	gn->proc_dir = proc_net_mkdir(net, GWMARK_PROC_DIR, net->proc_net);
	if (!gn->proc_dir)
		return -ENOMEM;
	if (!proc_create_net_single(GWMARK_PROC_STATS, 0444, gn->proc_dir,
				    gwmark_proc_stats_show, NULL))
		goto remove_dir;
	if (!proc_create_net(GWMARK_PROC_FLOWS, 0440, gn->proc_dir,
			     &gwmark_proc_flows_ops,
			     sizeof(struct seq_net_private)))
		goto remove_dir;
	return 0;

remove_dir:
	remove_proc_subtree(GWMARK_PROC_DIR, net->proc_net);
	gn->proc_dir = NULL;
	return -ENOMEM;
}

/**
 * gwmark_proc_exit() - remove a namespace's /proc/net/gwmark
 * @gn: the namespace
 */
void gwmark_proc_exit(struct gwmark_net *gn)
{
	remove_proc_subtree(GWMARK_PROC_DIR, gn->net->proc_net);
	gn->proc_dir = NULL;
}
