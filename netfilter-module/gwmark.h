/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gwmark.h - per-network-namespace state of xt_GWMARK and the interfaces
 * between its parts (cache, hooks, xmit, target, proc, notify).
 */
#ifndef _GWMARK_H
#define _GWMARK_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

struct mem_cgroup;
struct proc_dir_entry;
struct gwmark_seen;

/* Distinct selectors in force per family and direction, at most. */
#define GWMARK_SEL_MAX		4

/* Index of an address family in the per-family arrays. */
enum gwmark_fam {
	GWMARK_FAM_IPV4,
	GWMARK_FAM_IPV6,
	GWMARK_FAM_NUM
};

static inline enum gwmark_fam gwmark_fam_of(u8 pf)
{
	return pf == NFPROTO_IPV6 ? GWMARK_FAM_IPV6 : GWMARK_FAM_IPV4;
}

/**
 * struct gwmark_sels - the fast-path selectors of one family
 * @nreply: used entries of @reply
 * @norig:  used entries of @orig
 * @reply:  distinct reply selectors, (mask << 32 | value), oldest rule first
 * @orig:   distinct orig selectors, same encoding
 */
struct gwmark_sels {
	unsigned int nreply;
	unsigned int norig;
	u64 reply[GWMARK_SEL_MAX];
	u64 orig[GWMARK_SEL_MAX];
};

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
	GWMARK_STAT_RULES_ADDED,
	GWMARK_STAT_RULES_REMOVED,
	GWMARK_STAT_UNSELECTED,
	GWMARK_STAT_TOTAL_DROPPED,
	GWMARK_STAT_FRAGMENTED,
	GWMARK_STAT_REFRAGMENTED,
	GWMARK_STAT_EVICTED_UNCONFIRMED,
	GWMARK_STAT_FRAGMENTED_OPTIONS,
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
 * @memcg:       the memory cgroup flows are charged to (the one active when
 *               the namespace was created), or NULL (not charged)
 * @reply_sel:   the reply selector of the newest rule that names one, for
 *               the stats file's "reply_mark" line; 0 = none
 * @orig_sel:    the same for the orig selector
 * @rules:       number of GWMARK rules in this namespace, both families
 * @fam_rules:   the same per family; a family's hooks do nothing while 0
 * @rules_unselected: rules whose selectors are not all in force (their
 *               family already has GWMARK_SEL_MAX distinct ones)
 * @rules_mutex: serialises @rule_list and the recomputation of the selectors
 * @rule_list:   every GWMARK rule of the namespace (struct gwmark_rule),
 *               oldest first (target.c)
 * @sel_lock:    lets the packet path read @sels while a rule change rewrites
 *               them
 * @sels:        the selectors in force, per family: those of the rules
 *               actually installed
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
	struct mem_cgroup *memcg;
	atomic64_t reply_sel;
	atomic64_t orig_sel;
	atomic_t rules;
	atomic_t fam_rules[GWMARK_FAM_NUM];
	unsigned int rules_unselected;
	struct mutex rules_mutex;
	struct list_head rule_list;
	seqlock_t sel_lock;
	struct gwmark_sels sels[GWMARK_FAM_NUM];
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
/* Module parameter "allow_userns" (main.c): rules in non-initial user namespaces. */
extern bool gwmark_allow_userns;
/* Module parameter "max_entries_total" (main.c) and the count it bounds. */
extern unsigned int gwmark_max_entries_total;
extern atomic_t gwmark_entries_total;

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

/**
 * gwmark_sel_find() - the selector in force that a packet's mark matches
 * @gn:    the namespace
 * @pf:    the packet's family
 * @reply: reply direction (else original)
 * @mark:  the packet's mark
 *
 * Context: packet path; lock-free (retries while a rule change rewrites).
 *
 * Return: the selector, or 0 if the mark matches none (fast path off).
 */
static inline u64 gwmark_sel_find(struct gwmark_net *gn, u8 pf, bool reply,
				  u32 mark)
{
	const struct gwmark_sels *s = &gn->sels[gwmark_fam_of(pf)];
	unsigned int seq, i, n;
	u64 found, sel;

	do {
		seq = read_seqbegin(&gn->sel_lock);
		found = 0;
		n = min_t(unsigned int, reply ? s->nreply : s->norig,
			  GWMARK_SEL_MAX);
		for (i = 0; i < n; i++) {
			sel = reply ? s->reply[i] : s->orig[i];
			if (gwmark_sel_match(sel, mark)) {
				found = sel;
				break;
			}
		}
	} while (read_seqretry(&gn->sel_lock, seq));
	return found;
}

/* target.c: the namespace's rule list, at creation */
void gwmark_rules_init(struct gwmark_net *gn);

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
