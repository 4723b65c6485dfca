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
#include <linux/uidgid.h>
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
	seq_printf(m, "%s %u\n", GWMARK_STAT_RULES_IPV4,
		   atomic_read(&gn->fam_rules[GWMARK_FAM_IPV4]));
	seq_printf(m, "%s %u\n", GWMARK_STAT_RULES_IPV6,
		   atomic_read(&gn->fam_rules[GWMARK_FAM_IPV6]));
	seq_printf(m, "%s %u\n", GWMARK_STAT_RULES_UNSELECTED,
		   READ_ONCE(gn->rules_unselected));
	seq_printf(m, "%s %u\n", GWMARK_STAT_MAX_ENTRIES_TOTAL,
		   READ_ONCE(gwmark_max_entries_total));
	return 0;
}

/**
 * struct gwmark_flows_iter - an open /proc/net/gwmark/flows
 * @gn:      the namespace
 * @hti:     the walk over gwmark_net.flows, kept from one read() to the next
 * @walking: @hti is entered (registered with the table)
 * @started: @hti is between rhashtable_walk_start() and _stop()
 * @pos:     seq_file position of the object @hti last returned (0: the
 *           header)
 *
 * The walk holds no lock of the cache: only RCU, and only while one buffer
 * is filled (start() to stop()). It resumes where it stopped, so reading
 * the whole file costs O(n); only a seek elsewhere restarts it. While flows
 * come and go a flow may be missed or, if the table is resized, shown
 * twice, as with conntrack's own file.
 */
struct gwmark_flows_iter {
	struct gwmark_net *gn;
	struct rhashtable_iter hti;
	bool walking;
	bool started;
	loff_t pos;
};

/* The next live flow of the walk, or NULL at its end. */
static struct gwmark_flow *gwmark_flows_walk(struct gwmark_flows_iter *it,
					     bool peek)
{
	struct gwmark_flow *flow;

	for (;;) {
		flow = peek ? rhashtable_walk_peek(&it->hti) :
			      rhashtable_walk_next(&it->hti);
		peek = false;
		if (IS_ERR(flow)) {
			/* A resize restarted the walk. */
			if (PTR_ERR(flow) == -EAGAIN)
				continue;
			return NULL;
		}
		if (!flow || !READ_ONCE(flow->dead))
			return flow;
	}
}

static void gwmark_flows_reset(struct gwmark_flows_iter *it)
{
	if (it->walking)
		rhashtable_walk_exit(&it->hti);
	rhashtable_walk_enter(&it->gn->flows, &it->hti);
	it->walking = true;
	it->pos = 0;
}

static void *gwmark_proc_flows_start(struct seq_file *m, loff_t *pos)
	__acquires(RCU)
{
	struct gwmark_flows_iter *it = m->private;
	void *v = NULL;

	if (*pos == 0 || *pos < it->pos || !it->walking)
		gwmark_flows_reset(it);
	rhashtable_walk_start(&it->hti);
	it->started = true;
	if (*pos == 0)
		return SEQ_START_TOKEN;
	/* Where the last read() stopped: the flow it could not show yet. */
	if (*pos == it->pos)
		return gwmark_flows_walk(it, true);
	/* A seek forward: walk there. */
	while (it->pos < *pos) {
		v = gwmark_flows_walk(it, false);
		if (!v)
			return NULL;
		it->pos++;
	}
	return v;
}

static void *gwmark_proc_flows_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct gwmark_flows_iter *it = m->private;

	++*pos;
	v = gwmark_flows_walk(it, false);
	if (v)
		it->pos = *pos;
	return v;
}

static void gwmark_proc_flows_stop(struct seq_file *m, void *v)
	__releases(RCU)
{
	struct gwmark_flows_iter *it = m->private;

	if (it->started) {
		rhashtable_walk_stop(&it->hti);
		it->started = false;
	}
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
	struct gwmark_flows_iter *it = m->private;
	struct gwmark_net *gn = it->gn;
	const struct nf_conntrack_tuple *t;
	const struct gwmark_flow *flow;
	const struct net_device *dev;
	struct gwmark_hop hop;
	const char *proto;
	u16 sport, dport;
	u8 family;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, GWMARK_FLOWS_HEADER "\n");
		return 0;
	}
	flow = v;
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

	dev = dev_get_by_index_rcu(gn->net, hop.ifindex);	/* RCU: start() */
	seq_printf(m, "%s", dev ? dev->name : "-");
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

static int gwmark_proc_flows_open(struct inode *inode, struct file *file)
{
	struct gwmark_flows_iter *it;

	it = __seq_open_private(file, &gwmark_proc_flows_ops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->gn = pde_data(inode);
	return 0;
}

/*
 * Also called by remove_proc_subtree() for files still open when the
 * namespace goes away, before the table is destroyed (gwmark_net_exit()).
 */
static int gwmark_proc_flows_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;
	struct gwmark_flows_iter *it = m->private;

	if (it->walking)
		rhashtable_walk_exit(&it->hti);
	return seq_release_private(inode, file);
}

static const struct proc_ops gwmark_proc_flows_fops = {
	.proc_open	= gwmark_proc_flows_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= gwmark_proc_flows_release,
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
	struct proc_dir_entry *pde;
	kuid_t root_uid;
	kgid_t root_gid;

	gn->proc_dir = proc_net_mkdir(net, GWMARK_PROC_DIR, net->proc_net);
	if (!gn->proc_dir)
		return -ENOMEM;
	if (!proc_create_net_single(GWMARK_PROC_STATS, 0444, gn->proc_dir,
				    gwmark_proc_stats_show, NULL))
		goto remove_dir;
	/* Like conntrack's table: root of the namespace's owner only. */
	pde = proc_create_data(GWMARK_PROC_FLOWS, 0440, gn->proc_dir,
			       &gwmark_proc_flows_fops, gn);
	if (!pde)
		goto remove_dir;
	root_uid = make_kuid(net->user_ns, 0);
	root_gid = make_kgid(net->user_ns, 0);
	if (uid_valid(root_uid) && gid_valid(root_gid))
		proc_set_user(pde, root_uid, root_gid);
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
