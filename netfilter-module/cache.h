/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cache.h - the per-connection cache: which MACs and which device a
 * connection's original direction used, tied to the conntrack entry's life.
 */
#ifndef _GWMARK_CACHE_H
#define _GWMARK_CACHE_H

#include <linux/if_ether.h>
#include <linux/rhashtable.h>
#include <linux/seqlock.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_tuple.h>
#include <net/netfilter/nf_conntrack_zones.h>

#include "gwmark.h"

/**
 * struct gwmark_hop - what the original direction's last frame told us
 * @reply_to:   its source MAC: where replies are sent
 * @gateway:    its destination MAC: the gateway the sender chose
 * @ifindex:    the device it came in on; for a bridged frame the bridge port
 * @brindex:    for a bridged frame the bridge it crossed, else 0
 * @vlan_proto: the 802.1Q/802.1ad tag protocol it carried (or, on a
 *              VLAN-aware bridge, the port's PVID applies), else 0
 * @vlan_tci:   that tag's TCI (VID and priority)
 */
struct gwmark_hop {
	u8 reply_to[ETH_ALEN];
	u8 gateway[ETH_ALEN];
	int ifindex;
	int brindex;
	__be16 vlan_proto;
	u16 vlan_tci;
};

/**
 * struct gwmark_flow - one cached connection
 * @node:      link in gwmark_net.flows
 * @ct:        the conntrack entry; the key. Only ever compared, never
 *             dereferenced: the entry may have been freed and its memory
 *             reused, which @tuple and @zone detect.
 * @lru:       link in gwmark_net.lru (under gwmark_net.lock)
 * @tuple:     copy of the entry's original-direction tuple
 * @zone:      copy of the entry's zone
 * @hop_lock:  lets the packet path read @hop without a lock while a
 *             re-learn (another CPU) rewrites it
 * @hop:       MACs and devices
 * @created:   jiffies at insert
 * @refreshed: jiffies of the last original-direction packet
 * @hop_seen:  jiffies of the last original-direction packet whose source
 *             MAC, port and VLAN matched @hop (spoof protection)
 * @lru_stamp: jiffies at which the entry last got a second chance
 * @confirmed: its conntrack entry was confirmed (in the conntrack table)
 *             when a packet last told us; a flow learned from a first packet
 *             is not, and stays so if nothing but that packet came (a scan
 *             probe, a packet the filter then dropped): evicted first
 * @assured:   its connection was assured (conntrack saw it established)
 *             when a packet last told us; eviction spares these last
 * @dead:      unlinked, waiting for RCU (under gwmark_net.lock)
 * @rcu:       for kfree_rcu()
 */
struct gwmark_flow {
	struct rhash_head node;
	const struct nf_conn *ct;
	struct list_head lru;
	struct nf_conntrack_tuple tuple;
	struct nf_conntrack_zone zone;
	seqlock_t hop_lock;
	struct gwmark_hop hop;
	unsigned long created;
	unsigned long refreshed;
	unsigned long hop_seen;
	unsigned long lru_stamp;
	bool confirmed;
	bool assured;
	bool dead;
	struct rcu_head rcu;
};

int gwmark_cache_init(struct gwmark_net *gn);
void gwmark_cache_destroy(struct gwmark_net *gn);
void gwmark_cache_learn(struct gwmark_net *gn, const struct nf_conn *ct,
			const struct gwmark_hop *hop);
struct gwmark_flow *gwmark_cache_find(struct gwmark_net *gn,
				      const struct nf_conn *ct);
void gwmark_cache_flush(struct gwmark_net *gn, int ifindex);

/*
 * Note on the flow that its connection is confirmed, or assured (packet
 * path, under RCU).
 */
static inline void gwmark_flow_note_assured(struct gwmark_flow *flow,
					    const struct nf_conn *ct)
{
	if (unlikely(!READ_ONCE(flow->confirmed)) && nf_ct_is_confirmed(ct))
		WRITE_ONCE(flow->confirmed, true);
	if (unlikely(!READ_ONCE(flow->assured)) &&
	    test_bit(IPS_ASSURED_BIT, &ct->status))
		WRITE_ONCE(flow->assured, true);
}

/**
 * gwmark_flow_hop_read() - consistent copy of a flow's hop
 * @flow: a flow found under RCU or under gwmark_net.lock
 * @hop:  where to copy it
 */
static inline void gwmark_flow_hop_read(const struct gwmark_flow *flow,
					struct gwmark_hop *hop)
{
	unsigned int seq;

	do {
		seq = read_seqbegin(&flow->hop_lock);
		*hop = flow->hop;
	} while (read_seqretry(&flow->hop_lock, seq));
}

#endif /* _GWMARK_CACHE_H */
