// SPDX-License-Identifier: GPL-2.0
/*
 * announce.c - following a gateway that moves to another MAC: the ARP and
 * neighbour-discovery packets the box sees map addresses to MACs, and when
 * an address shows up at a new MAC (the gratuitous ARP or unsolicited NA of
 * a VRRP/keepalived failover, or any ARP/ND message that says so), every
 * cached hop naming the old MAC is rewritten at once, in both directions,
 * without waiting for the next packet of each flow.
 *
 * Seen: ARP received by the box (NF_ARP_IN) and ARP bridged through it
 * (NF_ARP_FORWARD, br_netfilter with bridge-nf-call-arptables=1, the
 * default); IPv6 neighbour solicitations and advertisements at PRE_ROUTING
 * (bridged ones with bridge-nf-call-ip6tables=1).
 *
 * The map is a small direct-mapped table per namespace (a collision only
 * forgets an older address). The rewrite walks the flow table from a work
 * item, so the packet path never walks the table.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/jhash.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/ndisc.h>

#include "announce.h"
#include "cache.h"

#define GWMARK_SEEN_SLOTS	512
/* ND options scanned in one message, at most. */
#define GWMARK_ND_OPTS_MAX	8

/**
 * struct gwmark_seen - the MAC an address was last seen at
 * @addr: the address; IPv4 as v4-mapped IPv6
 * @mac:  its MAC
 * @used: slot in use
 */
struct gwmark_seen {
	struct in6_addr addr;
	u8 mac[ETH_ALEN];
	bool used;
};

static void gwmark_announce_seen(struct gwmark_net *gn,
				 const struct in6_addr *addr, const u8 *mac)
{
	struct gwmark_seen *e;
	bool moved = false;
	unsigned int i;

	if (!is_valid_ether_addr(mac))
		return;
	e = &gn->seen[jhash(addr, sizeof(*addr), 0) % GWMARK_SEEN_SLOTS];

	spin_lock_bh(&gn->seen_lock);
	if (!e->used || !ipv6_addr_equal(&e->addr, addr)) {
		e->addr = *addr;
		ether_addr_copy(e->mac, mac);
		e->used = true;
	} else if (!ether_addr_equal(e->mac, mac)) {
		for (i = 0; i < gn->nmoves; i++)
			if (ether_addr_equal(gn->moves[i].from, e->mac) &&
			    ether_addr_equal(gn->moves[i].to, mac))
				break;
		if (i == gn->nmoves) {
			if (gn->nmoves < GWMARK_MOVES_MAX) {
				ether_addr_copy(gn->moves[i].from, e->mac);
				ether_addr_copy(gn->moves[i].to, mac);
				gn->nmoves++;
			} else {
				gwmark_stat_inc(gn, GWMARK_STAT_ERRORS);
			}
		}
		ether_addr_copy(e->mac, mac);
		moved = true;
	}
	spin_unlock_bh(&gn->seen_lock);

	if (moved) {
		gwmark_stat_inc(gn, GWMARK_STAT_MAC_MOVES);
		queue_work(system_highpri_wq, &gn->move_work);
	}
}

/* Rewrite the hops of every flow that names a MAC that moved. */
static void gwmark_announce_work(struct work_struct *work)
{
	struct gwmark_net *gn = container_of(work, struct gwmark_net,
					     move_work);
	struct gwmark_move moves[GWMARK_MOVES_MAX];
	struct rhashtable_iter iter;
	struct gwmark_flow *flow;
	struct gwmark_hop hop;
	unsigned int n, i, seen = 0;
	bool changed;

	spin_lock_bh(&gn->seen_lock);
	n = gn->nmoves;
	memcpy(moves, gn->moves, n * sizeof(moves[0]));
	gn->nmoves = 0;
	spin_unlock_bh(&gn->seen_lock);
	if (!n)
		return;

	rhashtable_walk_enter(&gn->flows, &iter);
	rhashtable_walk_start(&iter);
	while ((flow = rhashtable_walk_next(&iter))) {
		if (IS_ERR(flow)) {
			if (PTR_ERR(flow) == -EAGAIN)
				continue;
			break;
		}
		if (READ_ONCE(flow->dead))
			continue;
		write_seqlock_bh(&flow->hop_lock);
		hop = flow->hop;
		changed = false;
		for (i = 0; i < n; i++) {
			if (ether_addr_equal(hop.reply_to, moves[i].from)) {
				ether_addr_copy(hop.reply_to, moves[i].to);
				changed = true;
			}
			if (ether_addr_equal(hop.gateway, moves[i].from)) {
				ether_addr_copy(hop.gateway, moves[i].to);
				changed = true;
			}
		}
		if (changed)
			flow->hop = hop;
		write_sequnlock_bh(&flow->hop_lock);
		if (changed)
			gwmark_stat_inc(gn, GWMARK_STAT_MAC_UPDATES);
		if (++seen % 256 == 0) {
			rhashtable_walk_stop(&iter);
			cond_resched();
			rhashtable_walk_start(&iter);
		}
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}

/**
 * gwmark_announce_arp() - NF_ARP_IN / NF_ARP_FORWARD hook: note the sender
 * @priv:  unused
 * @skb:   an ARP packet, ARP header at skb->data
 * @state: the hook state
 *
 * Return: NF_ACCEPT; the packet is only looked at.
 */
unsigned int gwmark_announce_arp(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct gwmark_net *gn = gwmark_pernet(state->net);
	struct {
		struct arphdr h;
		u8 sha[ETH_ALEN];
		__be32 sip;
	} __packed buf, *arp;
	struct in6_addr addr;

	if (!atomic_read(&gn->rules))
		return NF_ACCEPT;
	arp = skb_header_pointer(skb, 0, sizeof(buf), &buf);
	if (!arp || arp->h.ar_hrd != htons(ARPHRD_ETHER) ||
	    arp->h.ar_pro != htons(ETH_P_IP) || arp->h.ar_hln != ETH_ALEN ||
	    arp->h.ar_pln != 4)
		return NF_ACCEPT;
	if (arp->h.ar_op != htons(ARPOP_REQUEST) &&
	    arp->h.ar_op != htons(ARPOP_REPLY))
		return NF_ACCEPT;
	/* An address probe (sender 0.0.0.0) announces nothing. */
	if (ipv4_is_zeronet(arp->sip) || ipv4_is_multicast(arp->sip) ||
	    ipv4_is_lbcast(arp->sip))
		return NF_ACCEPT;
	ipv6_addr_set_v4mapped(arp->sip, &addr);
	gwmark_announce_seen(gn, &addr, arp->sha);
	return NF_ACCEPT;
}

/**
 * gwmark_announce_nd() - note the address and MAC a NS or NA names
 * @gn:  the namespace
 * @skb: an IPv6 packet at PRE_ROUTING, IPv6 header at skb->data
 *
 * A solicitation names its source address with a source link-layer option,
 * an advertisement its target address with a target link-layer option.
 */
void gwmark_announce_nd(struct gwmark_net *gn, const struct sk_buff *skb)
{
	struct ipv6hdr ip6buf;
	const struct ipv6hdr *ip6h;
	struct nd_msg msgbuf;
	const struct nd_msg *msg;
	const struct in6_addr *addr;
	unsigned int off, end, i;
	u8 want, optbuf[8];
	const u8 *opt;

	ip6h = skb_header_pointer(skb, 0, sizeof(ip6buf), &ip6buf);
	if (!ip6h || ip6h->nexthdr != IPPROTO_ICMPV6 || ip6h->hop_limit != 255)
		return;
	msg = skb_header_pointer(skb, sizeof(*ip6h), sizeof(msgbuf), &msgbuf);
	if (!msg || msg->icmph.icmp6_code)
		return;
	switch (msg->icmph.icmp6_type) {
	case NDISC_NEIGHBOUR_SOLICITATION:
		if (ipv6_addr_any(&ip6h->saddr))
			return;
		addr = &ip6h->saddr;
		want = ND_OPT_SOURCE_LL_ADDR;
		break;
	case NDISC_NEIGHBOUR_ADVERTISEMENT:
		addr = &msg->target;
		want = ND_OPT_TARGET_LL_ADDR;
		break;
	default:
		return;
	}
	if (ipv6_addr_is_multicast(addr))
		return;
	off = sizeof(*ip6h) + sizeof(*msg);
	end = min_t(unsigned int, skb->len,
		    sizeof(*ip6h) + ntohs(ip6h->payload_len));
	for (i = 0; i < GWMARK_ND_OPTS_MAX && off + sizeof(optbuf) <= end; i++) {
		opt = skb_header_pointer(skb, off, sizeof(optbuf), optbuf);
		if (!opt || !opt[1])
			return;
		if (opt[0] == want && opt[1] == 1) {
			gwmark_announce_seen(gn, addr, opt + 2);
			return;
		}
		off += opt[1] * 8;
	}
}

/**
 * gwmark_announce_init() - the address map of a namespace
 * @gn: the namespace
 *
 * Return: 0 or -ENOMEM.
 */
int gwmark_announce_init(struct gwmark_net *gn)
{
	spin_lock_init(&gn->seen_lock);
	gn->nmoves = 0;
	INIT_WORK(&gn->move_work, gwmark_announce_work);
	gn->seen = kcalloc(GWMARK_SEEN_SLOTS, sizeof(*gn->seen), GFP_KERNEL_ACCOUNT);
	return gn->seen ? 0 : -ENOMEM;
}

/**
 * gwmark_announce_exit() - stop rewriting and free the map
 * @gn: the namespace
 *
 * Context: after the hooks are unregistered and before the flow table is
 * destroyed.
 */
void gwmark_announce_exit(struct gwmark_net *gn)
{
	cancel_work_sync(&gn->move_work);
	kfree(gn->seen);
	gn->seen = NULL;
}
