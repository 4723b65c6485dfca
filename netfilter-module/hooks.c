// SPDX-License-Identifier: GPL-2.0
/*
 * hooks.c - the netfilter hooks: learn at PRE_ROUTING, send replies at
 * PRE_ROUTING and locally re-emitted original-direction packets at
 * LOCAL_OUT, for IPv4 and IPv6.
 *
 * PRE_ROUTING runs right after the mangle table (where GWMARK sets the mark)
 * and DNAT (so a reply already carries its un-SNATed destination).
 * LOCAL_OUT runs after every table of that hook (mangle, nat, filter,
 * security), so OUTPUT filtering still applies to what we send.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/if_bridge.h>
#include <linux/if_vlan.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netfilter_arp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "announce.h"
#include "cache.h"
#include "compat.h"
#include "xmit.h"

#define GWMARK_PRI_PRE_ROUTING	(NF_IP_PRI_NAT_DST + 1)
#define GWMARK_PRI_LOCAL_OUT	(NF_IP_PRI_SECURITY + 1)

/*
 * An untagged frame on a VLAN-aware bridge belongs to its port's PVID; the
 * bridge assigns it only after the IP hooks have run, so look it up.
 */
static void gwmark_hook_port_pvid(const struct net_device *br,
				  struct gwmark_hop *hop)
{
	const struct net_device *port;
	u16 pvid = 0;

	/* With pass_vlan_indev the IP hooks see a VLAN device, which carries its own tag. */
	if (!netif_is_bridge_master(br) || !br_vlan_enabled(br))
		return;
	port = dev_get_by_index_rcu(dev_net(br), hop->ifindex);
	if (port && !br_vlan_get_pvid_rcu(port, &pvid) && pvid) {
		hop->vlan_proto = htons(ETH_P_8021Q);
		hop->vlan_tci = pvid;
	}
}

/* What the frame of an original-direction packet tells us, if anything. */
static bool gwmark_hook_frame_hop(const struct sk_buff *skb,
				  const struct nf_hook_state *state,
				  struct gwmark_hop *hop)
{
	const struct net_device *in = state->in;
	const struct ethhdr *eth;

	if (!in || in->type != ARPHRD_ETHER)
		return false;
	/* The Ethernet header must lie wholly in front of the IP header. */
	if (!skb_mac_header_was_set(skb) || skb_mac_offset(skb) > -ETH_HLEN)
		return false;
	eth = eth_hdr(skb);
	if (!is_valid_ether_addr(eth->h_source))
		return false;

	ether_addr_copy(hop->reply_to, eth->h_source);
	ether_addr_copy(hop->gateway, eth->h_dest);
	hop->vlan_proto = 0;
	hop->vlan_tci = 0;
	if (skb_vlan_tag_present(skb)) {
		hop->vlan_proto = skb->vlan_proto;
		hop->vlan_tci = skb_vlan_tag_get(skb);
	}
	if (nf_bridge_info_exists(skb)) {
		/*
		 * br_netfilter hands bridged frames to the IP hooks with the
		 * bridge as input device; the port is what replies need.
		 */
		hop->ifindex = gwmark_bridge_physinif(skb, state->net);
		hop->brindex = in->ifindex;
		if (!hop->vlan_proto)
			gwmark_hook_port_pvid(in, hop);
	} else {
		hop->ifindex = in->ifindex;
		hop->brindex = 0;
	}
	return hop->ifindex > 0;
}

/* The common end of both fast paths: counters and verdict. */
static unsigned int gwmark_hook_send(struct gwmark_net *gn, struct sk_buff *skb,
				     const struct nf_hook_state *state,
				     const struct gwmark_xmit_to *to,
				     u64 sel, bool forward, enum gwmark_stat sent)
{
	switch (gwmark_xmit(skb, state->pf, to, gwmark_sel_mask(sel),
			    forward)) {
	case GWMARK_XMIT_SENT:
		gwmark_stat_inc(gn, sent);
		return NF_STOLEN;
	case GWMARK_XMIT_LOST:
		gwmark_stat_inc(gn, GWMARK_STAT_ERRORS);
		return NF_STOLEN;
	case GWMARK_XMIT_DROP:
	default:
		gwmark_stat_inc(gn, GWMARK_STAT_ERRORS);
		return NF_DROP;
	}
}

/* Connection features whose per-packet work the fast path would skip. */
static bool gwmark_hook_ct_has_helper(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);

	if (ct->status & IPS_SEQ_ADJUST)
		return true;
	return help && rcu_access_pointer(help->helper);
}

/*
 * Replies to a flow learned on a bridge port go to the bridge device, not
 * straight out of the port: the bridge's own transmit path then applies the
 * port's STP state (a blocking or disabled port is never used), its VLAN
 * egress policy, and its forwarding database (a host that moved to another
 * port is found there). See README.md, "Bridged ports".
 */
static unsigned int gwmark_hook_reply(struct gwmark_net *gn,
				      struct sk_buff *skb,
				      const struct nf_hook_state *state,
				      const struct nf_conn *ct, u64 sel)
{
	enum gwmark_xmit_check check;
	struct gwmark_flow *flow;
	struct gwmark_xmit_to to;
	struct gwmark_hop hop;
	unsigned int verdict;
	bool options;
	int in_port;

	flow = gwmark_cache_find(gn, ct);
	if (!flow) {
		gwmark_stat_inc(gn, GWMARK_STAT_MISS);
		return NF_ACCEPT;
	}
	gwmark_flow_note_assured(flow, ct);
	/*
	 * A DNATed flow's reply needs its source rewritten in POST_ROUTING,
	 * which we skip; helpers and sequence adjustment (FTP, SIP, ...) work
	 * on every packet in the stack.
	 */
	if ((ct->status & IPS_DST_NAT) || gwmark_hook_ct_has_helper(ct))
		goto fallback;
	/* A frame bridged between two other hosts stays the bridge's. */
	if (!gwmark_bridge_for_us(skb))
		goto fallback;

	gwmark_flow_hop_read(flow, &hop);
	in_port = nf_bridge_info_exists(skb) ?
		  gwmark_bridge_physinif(skb, state->net) : state->in->ifindex;
	if (in_port == hop.ifindex)
		goto fallback;
	to.dev = dev_get_by_index_rcu(state->net, hop.brindex ?: hop.ifindex);
	if (!to.dev || !gwmark_xmit_dev_usable(to.dev))
		goto fallback;
	check = gwmark_xmit_check(skb, state->pf, to.dev, hop.reply_to, true);
	to.fragment = false;
	switch (check) {
	case GWMARK_CHECK_OK:
		break;
	case GWMARK_CHECK_FRAGMENT:
	case GWMARK_CHECK_REFRAGMENT:
		/* No black hole either: the stack would have no route. */
		to.fragment = true;
		break;
	case GWMARK_CHECK_TOO_BIG:
	case GWMARK_CHECK_TTL:
		/*
		 * No black hole: a routeless box's normal path has no route
		 * to the LAN host and would only say "unreachable".
		 */
		if (!gwmark_xmit_icmp(skb, state->pf, state->net, check,
				      to.dev->mtu))
			goto fallback;
		gwmark_stat_inc(gn, GWMARK_STAT_ICMP_SENT);
		return NF_DROP;
	default:
		goto fallback;
	}

	to.daddr = hop.reply_to;
	/* Transparent: the reply seems to come from the gateway the LAN host chose. */
	to.saddr = READ_ONCE(gwmark_transparent) &&
		   is_valid_ether_addr(hop.gateway) ? hop.gateway : NULL;
	to.vlan_proto = hop.vlan_proto;
	to.vlan_tci = hop.vlan_tci;
	/* Read now: once sent, the packet is gone. */
	options = to.fragment && state->pf == NFPROTO_IPV4 &&
		  ip_hdr(skb)->ihl > 5;
	verdict = gwmark_hook_send(gn, skb, state, &to, sel, true,
				   GWMARK_STAT_REPLY_XMIT);
	if (to.fragment && verdict == NF_STOLEN) {
		gwmark_stat_inc(gn, check == GWMARK_CHECK_FRAGMENT ?
				GWMARK_STAT_FRAGMENTED :
				GWMARK_STAT_REFRAGMENTED);
		if (options)
			gwmark_stat_inc(gn, GWMARK_STAT_FRAGMENTED_OPTIONS);
	}
	return verdict;

fallback:
	gwmark_stat_inc(gn, GWMARK_STAT_FALLBACK);
	return NF_ACCEPT;
}

static unsigned int gwmark_hook_pre_routing(void *priv, struct sk_buff *skb,
					    const struct nf_hook_state *state)
{
	struct gwmark_net *gn = gwmark_pernet(state->net);
	enum ip_conntrack_info ctinfo;
	struct gwmark_hop hop;
	struct nf_conn *ct;
	u64 sel;

	if (!atomic_read(&gn->rules))
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV6)
		gwmark_announce_nd(gn, skb);
	/* Without a rule of its family, conntrack may not even track it. */
	if (!atomic_read(&gn->fam_rules[gwmark_fam_of(state->pf)]))
		return NF_ACCEPT;
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo == IP_CT_UNTRACKED)
		return NF_ACCEPT;

	if (CTINFO2DIR(ctinfo) == IP_CT_DIR_ORIGINAL) {
		if (gwmark_hook_frame_hop(skb, state, &hop))
			gwmark_cache_learn(gn, ct, &hop);
		return NF_ACCEPT;
	}

	sel = gwmark_sel_find(gn, state->pf, true, skb->mark);
	if (!sel)
		return NF_ACCEPT;
	return gwmark_hook_reply(gn, skb, state, ct, sel);
}

/* Connection features whose per-packet work happens after LOCAL_OUT. */
static bool gwmark_hook_ct_needs_stack(const struct nf_conn *ct)
{
	if (ct->status & (IPS_SRC_NAT | IPS_DST_NAT))
		return true;
	return gwmark_hook_ct_has_helper(ct);
}

static unsigned int gwmark_hook_local_out(void *priv, struct sk_buff *skb,
					  const struct nf_hook_state *state)
{
	struct gwmark_net *gn = gwmark_pernet(state->net);
	const struct gwmark_flow *flow;
	enum ip_conntrack_info ctinfo;
	struct gwmark_xmit_to to;
	struct gwmark_hop hop;
	struct nf_conn *ct;
	unsigned int verdict;
	u64 sel;

	if (!atomic_read(&gn->fam_rules[gwmark_fam_of(state->pf)]))
		return NF_ACCEPT;
	sel = gwmark_sel_find(gn, state->pf, false, skb->mark);
	if (!sel)
		return NF_ACCEPT;
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || ctinfo == IP_CT_UNTRACKED ||
	    CTINFO2DIR(ctinfo) != IP_CT_DIR_ORIGINAL) {
		gwmark_stat_inc(gn, GWMARK_STAT_MISS);
		return NF_ACCEPT;
	}
	flow = gwmark_cache_find(gn, ct);
	if (!flow) {
		gwmark_stat_inc(gn, GWMARK_STAT_MISS);
		return NF_ACCEPT;
	}
	if (gwmark_hook_ct_needs_stack(ct))
		goto fallback;

	/* The gateway sits somewhere behind the bridge: let its FDB choose. */
	gwmark_flow_hop_read(flow, &hop);
	to.dev = dev_get_by_index_rcu(state->net, hop.brindex ?: hop.ifindex);
	if (!to.dev || !gwmark_xmit_dev_usable(to.dev) ||
	    gwmark_xmit_check(skb, state->pf, to.dev, hop.gateway, false) !=
	    GWMARK_CHECK_OK)
		goto fallback;
	to.daddr = hop.gateway;
	to.saddr = NULL;
	to.fragment = false;
	to.vlan_proto = hop.vlan_proto;
	to.vlan_tci = hop.vlan_tci;

	if (!nf_ct_is_confirmed(ct)) {
		verdict = gwmark_ct_confirm(skb, state);
		if (verdict != NF_ACCEPT) {
			gwmark_stat_inc(gn, GWMARK_STAT_ERRORS);
			return verdict;
		}
	}
	return gwmark_hook_send(gn, skb, state, &to, sel, false,
				GWMARK_STAT_ORIG_XMIT);

fallback:
	gwmark_stat_inc(gn, GWMARK_STAT_FALLBACK);
	return NF_ACCEPT;
}

static const struct nf_hook_ops gwmark_nf_ops[] = {
	{
		.hook		= gwmark_hook_pre_routing,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= GWMARK_PRI_PRE_ROUTING,
	},
	{
		.hook		= gwmark_hook_local_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= GWMARK_PRI_LOCAL_OUT,
	},
	/* ARP for the box itself, and ARP bridged through it (br_netfilter). */
	{
		.hook		= gwmark_announce_arp,
		.pf		= NFPROTO_ARP,
		.hooknum	= NF_ARP_IN,
		.priority	= 0,
	},
	{
		.hook		= gwmark_announce_arp,
		.pf		= NFPROTO_ARP,
		.hooknum	= NF_ARP_FORWARD,
		.priority	= 0,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= gwmark_hook_pre_routing,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_NAT_DST + 1,
	},
	{
		.hook		= gwmark_hook_local_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_SECURITY + 1,
	},
#endif
};

/**
 * gwmark_hooks_register() - attach the hooks to a namespace
 * @net: the namespace
 *
 * The hooks stay registered for the namespace's life and return at once
 * while it has no GWMARK rule; conntrack itself is enabled by the rules
 * (nf_ct_netns_get() in the target's checkentry).
 *
 * Return: 0 or a negative errno.
 */
int gwmark_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, gwmark_nf_ops,
				     ARRAY_SIZE(gwmark_nf_ops));
}

/**
 * gwmark_hooks_unregister() - detach the hooks; returns after every packet
 * that was inside them has left (nf_unregister_net_hooks() synchronises)
 * @net: the namespace
 */
void gwmark_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, gwmark_nf_ops, ARRAY_SIZE(gwmark_nf_ops));
}
