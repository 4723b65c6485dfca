/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwmark.h - per-network-namespace state of xt_GWMARK and the interfaces
 * between its parts (cache, hooks, xmit, target, proc, notify).
 */
#ifndef _GWMARK_H
#define _GWMARK_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

struct proc_dir_entry;
struct gwmark_seen;

/* Moves of a MAC waiting for the rewrite work, at most. */
#define GWMARK_MOVES_MAX	16

/**
 * struct gwmark_move - an address seen at a new MAC
 * @from: the MAC it had
 * @to:   the MAC it has now
 */
struct gwmark_move {
	u8 from[6];
	u8 to[6];
};

/*
 * Counters of /proc/net/gwmark/stats, in the order of GWMARK_STAT_NAMES in
 * xt_GWMARK.h (checked at build time in proc.c).
 */
enum gwmark_stat {
	GWMARK_STAT_LEARNED,
	GWMARK_STAT_REPLY_XMIT,
	GWMARK_STAT_ORIG_XMIT,
	GWMARK_STAT_MISS,
	GWMARK_STAT_MAC_UPDATES,
	GWMARK_STAT_FALLBACK,
	GWMARK_STAT_EVICTED,
	GWMARK_STAT_ERRORS,
	GWMARK_STAT_MAC_MOVES,
	GWMARK_STAT_LEARN_DROPPED,
	GWMARK_STAT_ALLOC_FAILED,
	GWMARK_STAT_ICMP_SENT,
	GWMARK_STAT_HOP_REFUSED,
	GWMARK_STAT_NUM
};

/**
 * struct gwmark_stats - per-CPU counters, summed when the stats file is read
 * @v: one counter per enum gwmark_stat
 */
struct gwmark_stats {
	u64 v[GWMARK_STAT_NUM];
};

/**
 * struct gwmark_net - everything xt_GWMARK keeps per network namespace
 * @flows:       the flow cache, keyed by conntrack entry address (cache.c)
 * @lock:        serialises writers of @flows, @lru, @count and @ready;
 *               readers of @flows use RCU only
 * @lru:         every cached flow in CLOCK order, for eviction and flushes
 * @count:       number of cached flows
 * @max_entries: bound on @count (module parameter at netns creation)
 * @ready:       false once the namespace is being dismantled; no insert
 *               succeeds after that
 * @gc_work:     periodic check of every flow against the conntrack table
 * @stats:       packet-path counters
 * @reply_sel:   reply fast-path selector, (mask << 32 | value); 0 = off
 * @orig_sel:    orig fast-path selector, same encoding
 * @rules:       number of GWMARK rules in this namespace; hooks do nothing
 *               while it is 0
 * @proc_dir:    /proc/net/gwmark
 * @seen:        address -> MAC map from ARP/ND (announce.c)
 * @seen_lock:   serialises @seen, @moves and @nmoves
 * @moves:       MAC moves the rewrite work has not done yet
 * @nmoves:      entries in @moves
 * @move_work:   rewrites the hops that name a moved MAC
 * @net:         the namespace itself
 */
struct gwmark_net {
	struct rhashtable flows;
	spinlock_t lock;
	struct list_head lru;
	unsigned int count;
	unsigned int max_entries;
	bool ready;
	struct delayed_work gc_work;
	struct gwmark_stats __percpu *stats;
	atomic64_t reply_sel;
	atomic64_t orig_sel;
	atomic_t rules;
	struct proc_dir_entry *proc_dir;
	struct gwmark_seen *seen;
	spinlock_t seen_lock;
	struct gwmark_move moves[GWMARK_MOVES_MAX];
	unsigned int nmoves;
	struct work_struct move_work;
	struct net *net;
};

extern unsigned int gwmark_net_id;
/* Module parameter "transparent" (main.c): replies carry the gateway's MAC. */
extern bool gwmark_transparent;

static inline struct gwmark_net *gwmark_pernet(const struct net *net)
{
	return net_generic(net, gwmark_net_id);
}

static inline void gwmark_stat_inc(struct gwmark_net *gn, enum gwmark_stat s)
{
	this_cpu_inc(gn->stats->v[s]);
}

/* A selector packs a mark value and mask so that one atomic read sees both. */
static inline u64 gwmark_sel_make(u32 value, u32 mask)
{
	return (u64)mask << 32 | value;
}

static inline u32 gwmark_sel_value(u64 sel)
{
	return (u32)sel;
}

static inline u32 gwmark_sel_mask(u64 sel)
{
	return (u32)(sel >> 32);
}

/* Value 0 is refused by checkentry, so sel == 0 can mean "off". */
static inline bool gwmark_sel_match(u64 sel, u32 mark)
{
	return sel && (mark & gwmark_sel_mask(sel)) == gwmark_sel_value(sel);
}

/* hooks.c */
int gwmark_hooks_register(struct net *net);
void gwmark_hooks_unregister(struct net *net);

/* target.c */
int gwmark_target_register(void);
void gwmark_target_unregister(void);

/* proc.c */
int gwmark_proc_init(struct gwmark_net *gn);
void gwmark_proc_exit(struct gwmark_net *gn);

/* notify.c */
int gwmark_notify_register(void);
void gwmark_notify_unregister(void);

#endif /* _GWMARK_H */
