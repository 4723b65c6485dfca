// SPDX-License-Identifier: GPL-2.0
/*
 * cache.c - the flow cache: an rhashtable keyed by conntrack entry address,
 * bounded, and garbage-collected against the conntrack table.
 *
 * Since Linux 5.18 a module cannot add its own conntrack extension, so the
 * data lives here instead, tied to the conntrack entry the way nf_conncount
 * does it: the key is the entry's address, and a copy of its original tuple
 * and zone proves on every lookup that the address still belongs to the same
 * connection. No reference to the entry is held, so the cache never delays
 * a conntrack entry's destruction or a namespace's exit.
 *
 * Locking: packet-path lookups run under RCU only. Inserts, removals and the
 * LRU list are serialised by gwmark_net.lock (BH-safe: inserts come from
 * softirq). A flow's hop is rewritten in place under its seqlock, so a MAC
 * change costs no allocation. Unlinked flows are freed after an RCU grace
 * period.
 */
#include <linux/etherdevice.h>
#include <linux/jiffies.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <net/netfilter/nf_conntrack_core.h>

#include "cache.h"

/* A flow whose conntrack entry is not (yet) in the hash survives this long:
 * the entry of a first packet is only inserted at confirmation. */
#define GWMARK_GC_GRACE		(10 * HZ)
#define GWMARK_GC_INTERVAL	(2 * HZ)
/* Flows refreshed since their last second chance are skipped this many
 * times by one eviction before the oldest is taken anyway. */
#define GWMARK_EVICT_TRIES	8
/*
 * Spoof protection: a flow's reply-to MAC, port or VLAN changes only once
 * the old one has been silent this long (see gwmark_flow_refresh()).
 */
#define GWMARK_MOVE_QUIET	HZ
/* How many flows an eviction looks at for an unconfirmed or non-assured one. */
#define GWMARK_EVICT_SCAN	64
#define GWMARK_GC_BATCH		256
/* Most flows one learn evicts (more only if max_entries_total was lowered). */
#define GWMARK_EVICT_BATCH	16

static const struct rhashtable_params gwmark_flow_params = {
	.head_offset		= offsetof(struct gwmark_flow, node),
	.key_offset		= offsetof(struct gwmark_flow, ct),
	.key_len		= sizeof(const struct nf_conn *),
	.automatic_shrinking	= true,
};

static bool gwmark_zone_equal(const struct nf_conntrack_zone *a,
			      const struct nf_conntrack_zone *b)
{
	return a->id == b->id && a->flags == b->flags && a->dir == b->dir;
}

/* Whether @flow still describes @ct, which the caller holds a reference to. */
static bool gwmark_flow_matches(const struct gwmark_flow *flow,
				const struct nf_conn *ct)
{
	return nf_ct_tuple_equal(&flow->tuple,
				 &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple) &&
	       gwmark_zone_equal(&flow->zone, nf_ct_zone(ct));
}

static void gwmark_flow_unlink(struct gwmark_net *gn, struct gwmark_flow *flow)
{
	lockdep_assert_held(&gn->lock);

	rhashtable_remove_fast(&gn->flows, &flow->node, gwmark_flow_params);
	list_del(&flow->lru);
	gn->count--;
	atomic_dec(&gwmark_entries_total);
	WRITE_ONCE(flow->dead, true);
	kfree_rcu(flow, rcu);
}

/*
 * Eviction ranks: what a scan or a flood creates goes first.
 *   0  never seen confirmed: learned from a connection's first packet and
 *      nothing since (a probe; or a packet the stack then dropped)
 *   1  confirmed, not assured (half-open TCP, one-way UDP)
 *   2  assured: established
 */
static int gwmark_flow_rank(const struct gwmark_flow *flow)
{
	if (!READ_ONCE(flow->confirmed))
		return 0;
	return READ_ONCE(flow->assured) ? 2 : 1;
}

static void gwmark_cache_evict(struct gwmark_net *gn, struct gwmark_flow *flow)
{
	if (!READ_ONCE(flow->confirmed))
		gwmark_stat_inc(gn, GWMARK_STAT_EVICTED_UNCONFIRMED);
	gwmark_flow_unlink(gn, flow);
	gwmark_stat_inc(gn, GWMARK_STAT_EVICTED);
}

/*
 * Eviction makes room for a new flow, so that a flood of new connections
 * cannot push established ones out. It looks at up to GWMARK_EVICT_SCAN
 * flows from the old end, takes the first of rank 0, else the first of
 * rank 1; every flow it looks at and spares moves to the back (a CLOCK
 * hand), so the next search looks further and established flows at the
 * old end cannot hide the flood's flows behind them. Only a newcomer that
 * is itself assured may evict an assured flow, by a CLOCK rule: the oldest
 * flow goes unless it was refreshed since it last came round, in which case
 * it moves to the back. Both searches are bounded.
 *
 * Return: true if a flow was evicted; false if the newcomer must be dropped.
 */
static bool gwmark_cache_evict_one(struct gwmark_net *gn, bool assured)
{
	struct gwmark_flow *flow, *victim = NULL;
	int i, rank;

	lockdep_assert_held(&gn->lock);

	for (i = 0; i < GWMARK_EVICT_SCAN && !list_empty(&gn->lru); i++) {
		flow = list_first_entry(&gn->lru, struct gwmark_flow, lru);
		if (flow == victim)
			break;		/* came round: fewer flows than the scan */
		rank = gwmark_flow_rank(flow);
		if (rank == 0) {
			gwmark_cache_evict(gn, flow);
			return true;
		}
		if (rank == 1 && !victim)
			victim = flow;
		list_move_tail(&flow->lru, &gn->lru);
	}
	if (victim) {
		gwmark_cache_evict(gn, victim);
		return true;
	}
	if (!assured || list_empty(&gn->lru))
		return false;

	for (i = 0; i < GWMARK_EVICT_TRIES; i++) {
		flow = list_first_entry(&gn->lru, struct gwmark_flow, lru);
		if (!time_after(READ_ONCE(flow->refreshed), flow->lru_stamp))
			break;
		flow->lru_stamp = jiffies;
		list_move_tail(&flow->lru, &gn->lru);
	}
	flow = list_first_entry(&gn->lru, struct gwmark_flow, lru);
	gwmark_cache_evict(gn, flow);
	return true;
}

/* Whether a new flow needs room: the namespace's bound or the global one. */
static bool gwmark_cache_full(const struct gwmark_net *gn)
{
	return gn->count >= gn->max_entries ||
	       atomic_read(&gwmark_entries_total) >=
	       READ_ONCE(gwmark_max_entries_total);
}

/* Whether two hops name the same sender: reply-to MAC, port and VLAN. */
static bool gwmark_hop_same_sender(const struct gwmark_hop *a,
				   const struct gwmark_hop *b)
{
	return ether_addr_equal(a->reply_to, b->reply_to) &&
	       a->ifindex == b->ifindex && a->brindex == b->brindex &&
	       a->vlan_proto == b->vlan_proto && a->vlan_tci == b->vlan_tci;
}

/*
 * The rule against spoofed packets: a packet that carries a flow's tuple
 * from another MAC, port or VLAN than the flow's current sender moves the
 * flow only if the current sender has been silent for GWMARK_MOVE_QUIET.
 * While the genuine host keeps talking, a spoofer on another port cannot
 * redirect its replies (counted in hop_refused); a host that really moved
 * (or a LAN host whose MAC changed) is followed a second after it went
 * quiet at its old place. A change of the gateway MAC alone (the sender's
 * choice of router) is taken at once.
 */
static void gwmark_flow_refresh(struct gwmark_net *gn, struct gwmark_flow *flow,
				const struct gwmark_hop *hop)
{
	struct gwmark_hop cur;
	unsigned long now = jiffies;

	if (READ_ONCE(flow->refreshed) != now)
		WRITE_ONCE(flow->refreshed, now);

	gwmark_flow_hop_read(flow, &cur);
	if (gwmark_hop_same_sender(&cur, hop)) {
		if (READ_ONCE(flow->hop_seen) != now)
			WRITE_ONCE(flow->hop_seen, now);
		if (likely(ether_addr_equal(cur.gateway, hop->gateway)))
			return;
	} else if (time_before(now, READ_ONCE(flow->hop_seen) +
				    GWMARK_MOVE_QUIET)) {
		gwmark_stat_inc(gn, GWMARK_STAT_HOP_REFUSED);
		return;
	} else {
		WRITE_ONCE(flow->hop_seen, now);
	}

	write_seqlock_bh(&flow->hop_lock);
	flow->hop = *hop;
	write_sequnlock_bh(&flow->hop_lock);
	gwmark_stat_inc(gn, GWMARK_STAT_MAC_UPDATES);
}

/**
 * gwmark_cache_learn() - record an original-direction packet of a connection
 * @gn:  the namespace
 * @ct:  the packet's conntrack entry (held by the packet)
 * @hop: what its frame said
 *
 * Context: packet path, under RCU, BH disabled.
 *
 * An existing flow is refreshed and, if a MAC or device differs, rewritten
 * (counted in mac_updates). Otherwise a flow is added, evicting one if the
 * cache is full. A stale flow left by an earlier connection at the same
 * address is replaced.
 */
void gwmark_cache_learn(struct gwmark_net *gn, const struct nf_conn *ct,
			const struct gwmark_hop *hop)
{
	struct mem_cgroup *old_memcg;
	struct gwmark_flow *flow, *old;
	unsigned int evicted;
	unsigned long now = jiffies;

	flow = rhashtable_lookup(&gn->flows, &ct, gwmark_flow_params);
	if (likely(flow && !READ_ONCE(flow->dead) &&
		   gwmark_flow_matches(flow, ct))) {
		gwmark_flow_note_assured(flow, ct);
		gwmark_flow_refresh(gn, flow, hop);
		return;
	}

	/* Charged to the namespace's memory cgroup (no task's applies here). */
	old_memcg = set_active_memcg(gn->memcg);
	flow = kzalloc(sizeof(*flow), GFP_ATOMIC | __GFP_NOWARN | __GFP_ACCOUNT);
	set_active_memcg(old_memcg);
	if (!flow) {
		gwmark_stat_inc(gn, GWMARK_STAT_ALLOC_FAILED);
		return;
	}
	flow->confirmed = nf_ct_is_confirmed(ct);
	flow->assured = test_bit(IPS_ASSURED_BIT, &ct->status);
	flow->ct = ct;
	flow->tuple = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	flow->zone = *nf_ct_zone(ct);
	seqlock_init(&flow->hop_lock);
	flow->hop = *hop;
	flow->created = now;
	flow->refreshed = now;
	flow->hop_seen = now;
	flow->lru_stamp = now;

	spin_lock_bh(&gn->lock);
	if (unlikely(!gn->ready))
		goto unlock_free;
	old = rhashtable_lookup_fast(&gn->flows, &ct, gwmark_flow_params);
	if (old) {
		if (gwmark_flow_matches(old, ct)) {
			/* Another CPU learned it first. */
			spin_unlock_bh(&gn->lock);
			kfree(flow);
			gwmark_flow_refresh(gn, old, hop);
			return;
		}
		gwmark_flow_unlink(gn, old);
	}
	/*
	 * The per-namespace bound, then the global one: at the global bound a
	 * namespace recycles its own flows (by the same rule) and takes none
	 * from the others.
	 */
	for (evicted = 0; gwmark_cache_full(gn) && !list_empty(&gn->lru) &&
	     evicted < GWMARK_EVICT_BATCH; evicted++) {
		if (!gwmark_cache_evict_one(gn, flow->assured)) {
			spin_unlock_bh(&gn->lock);
			kfree(flow);
			gwmark_stat_inc(gn, GWMARK_STAT_LEARN_DROPPED);
			return;
		}
	}
	if (atomic_inc_return(&gwmark_entries_total) >
	    READ_ONCE(gwmark_max_entries_total)) {
		atomic_dec(&gwmark_entries_total);
		gwmark_stat_inc(gn, GWMARK_STAT_TOTAL_DROPPED);
		goto unlock_free;
	}
	if (rhashtable_insert_fast(&gn->flows, &flow->node, gwmark_flow_params)) {
		atomic_dec(&gwmark_entries_total);
		gwmark_stat_inc(gn, GWMARK_STAT_ALLOC_FAILED);
		goto unlock_free;
	}
	list_add_tail(&flow->lru, &gn->lru);
	gn->count++;
	spin_unlock_bh(&gn->lock);
	gwmark_stat_inc(gn, GWMARK_STAT_LEARNED);
	return;

unlock_free:
	spin_unlock_bh(&gn->lock);
	kfree(flow);
}

/**
 * gwmark_cache_find() - the flow of a connection, if cached and still valid
 * @gn: the namespace
 * @ct: the packet's conntrack entry (held by the packet)
 *
 * Context: packet path, under RCU. A flow that belonged to an earlier
 * connection at the same address is removed.
 *
 * Return: the flow, valid until the end of the RCU read section, or NULL.
 */
struct gwmark_flow *gwmark_cache_find(struct gwmark_net *gn,
				      const struct nf_conn *ct)
{
	struct gwmark_flow *flow;

	flow = rhashtable_lookup(&gn->flows, &ct, gwmark_flow_params);
	if (!flow || READ_ONCE(flow->dead))
		return NULL;
	if (likely(gwmark_flow_matches(flow, ct)))
		return flow;

	spin_lock_bh(&gn->lock);
	if (!flow->dead)
		gwmark_flow_unlink(gn, flow);
	spin_unlock_bh(&gn->lock);
	return NULL;
}

/**
 * gwmark_cache_flush() - drop the flows that use a device, or all flows
 * @gn:      the namespace
 * @ifindex: the device's ifindex (as ingress port or bridge), or 0 for all
 *
 * Context: process context (netdevice notifier, namespace exit).
 */
void gwmark_cache_flush(struct gwmark_net *gn, int ifindex)
{
	struct gwmark_flow *flow, *next;
	struct gwmark_hop hop;

	spin_lock_bh(&gn->lock);
	list_for_each_entry_safe(flow, next, &gn->lru, lru) {
		if (ifindex) {
			gwmark_flow_hop_read(flow, &hop);
			if (hop.ifindex != ifindex && hop.brindex != ifindex)
				continue;
		}
		gwmark_flow_unlink(gn, flow);
	}
	spin_unlock_bh(&gn->lock);
}

/*
 * A flow lives while the conntrack table still maps its tuple to the same
 * entry. Only the address is compared; the entry found is held while we
 * look, and ours is never touched.
 */
static bool gwmark_flow_alive(struct gwmark_net *gn,
			      const struct gwmark_flow *flow)
{
	const struct nf_conntrack_tuple_hash *h;
	struct nf_conn *ct;
	bool same;

	if (time_before(jiffies, flow->created + GWMARK_GC_GRACE))
		return true;
	h = nf_conntrack_find_get(gn->net, &flow->zone, &flow->tuple);
	if (!h)
		return false;
	ct = nf_ct_tuplehash_to_ctrack(h);
	same = ct == flow->ct && !nf_ct_is_dying(ct);
	nf_ct_put(ct);
	return same;
}

static void gwmark_cache_gc(struct work_struct *work)
{
	struct gwmark_net *gn = container_of(to_delayed_work(work),
					     struct gwmark_net, gc_work);
	struct rhashtable_iter iter;
	struct gwmark_flow *flow;
	unsigned int seen = 0;

	rhashtable_walk_enter(&gn->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((flow = rhashtable_walk_next(&iter))) {
		if (IS_ERR(flow)) {
			if (PTR_ERR(flow) == -EAGAIN)
				continue;
			break;
		}
		if (!gwmark_flow_alive(gn, flow)) {
			spin_lock_bh(&gn->lock);
			if (!flow->dead)
				gwmark_flow_unlink(gn, flow);
			spin_unlock_bh(&gn->lock);
		}
		if (++seen % GWMARK_GC_BATCH == 0) {
			rhashtable_walk_stop(&iter);
			cond_resched();
			rhashtable_walk_start(&iter);
		}
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);

	if (READ_ONCE(gn->ready))
		queue_delayed_work(system_power_efficient_wq, &gn->gc_work,
				   GWMARK_GC_INTERVAL);
}

/**
 * gwmark_cache_init() - set up a namespace's cache and start its GC
 * @gn: the namespace
 *
 * Return: 0 or a negative errno.
 */
int gwmark_cache_init(struct gwmark_net *gn)
{
	int err;

	spin_lock_init(&gn->lock);
	INIT_LIST_HEAD(&gn->lru);
	gn->count = 0;
	INIT_DELAYED_WORK(&gn->gc_work, gwmark_cache_gc);
	err = rhashtable_init(&gn->flows, &gwmark_flow_params);
	if (err)
		return err;
	gn->ready = true;
	queue_delayed_work(system_power_efficient_wq, &gn->gc_work,
			   GWMARK_GC_INTERVAL);
	return 0;
}

/**
 * gwmark_cache_destroy() - stop the GC and free every flow of a namespace
 * @gn: the namespace
 *
 * Context: namespace exit, after the hooks are unregistered (so no packet
 * path can still insert). Notifier calls that come later find it empty.
 */
void gwmark_cache_destroy(struct gwmark_net *gn)
{
	spin_lock_bh(&gn->lock);
	gn->ready = false;
	spin_unlock_bh(&gn->lock);
	cancel_delayed_work_sync(&gn->gc_work);
	gwmark_cache_flush(gn, 0);
	rhashtable_destroy(&gn->flows);
}
