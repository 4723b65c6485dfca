/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel-version difference xt_GWMARK depends on, in one place.
 *
 * The module is written against the current kernel API. Where an API changed
 * inside the supported range (Debian 12's 6.1 through 6.12 and later), Kbuild
 * probes the kernel headers it builds against and passes GWMARK_HAVE_* macros
 * (see Kbuild). Probing instead of comparing LINUX_VERSION_CODE is deliberate:
 * Debian and other distributions backport API changes into "old" stable
 * kernels (6.1.y already has the 6.7 nf_bridge_get_physinif()).
 */
#ifndef _GWMARK_COMPAT_H
#define _GWMARK_COMPAT_H

#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/skbuff.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#ifdef GWMARK_HAVE_NET_GSO_H
#include <net/gso.h>	/* skb_gso_validate_network_len() since 6.5 */
#endif

/**
 * gwmark_ct_confirm() - confirm the conntrack entry of a packet we steal
 * @skb:   the packet, with its conntrack attached
 * @state: the hook state of the LOCAL_OUT hook that steals it
 *
 * A packet stolen before POST_ROUTING never reaches the conntrack confirm
 * hook, so a new connection would never be inserted into the conntrack hash
 * and every later packet would create a fresh entry. nf_confirm() also runs
 * the helper and sequence adjustment the confirm hook would have run.
 * Linux 6.2 ("netfilter: merge ipv4+ipv6 confirm functions") changed it from
 * (skb, protoff, ct, ctinfo) to the hook signature (priv, skb, state).
 *
 * Return: NF_ACCEPT, or NF_DROP if the packet must be dropped.
 */
#ifdef GWMARK_HAVE_NF_CONFIRM_HOOK
static inline unsigned int gwmark_ct_confirm(struct sk_buff *skb,
					     const struct nf_hook_state *state)
{
	return nf_confirm(NULL, skb, state);
}
#else
static inline unsigned int gwmark_ct_confirm(struct sk_buff *skb,
					     const struct nf_hook_state *state)
{
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct = nf_ct_get(skb, &ctinfo);
	unsigned int protoff;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	if (!ct)
		return NF_ACCEPT;
	switch (state->pf) {
	case NFPROTO_IPV4:
		protoff = skb_network_offset(skb) + ip_hdrlen(skb);
		break;
	case NFPROTO_IPV6:
		nexthdr = ipv6_hdr(skb)->nexthdr;
		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(struct ipv6hdr),
				       &nexthdr, &frag_off);
		if (off < 0 || (frag_off & htons(~0x7)) != 0)
			return nf_conntrack_confirm(skb);
		protoff = off;
		break;
	default:
		return nf_conntrack_confirm(skb);
	}
	return nf_confirm(skb, protoff, ct, ctinfo);
}
#endif

/**
 * gwmark_bridge_physinif() - ifindex of the bridge port a bridged frame came in on
 * @skb:  a packet that br_netfilter passes through the IP hooks
 * @net:  its network namespace
 *
 * 6.7 (and stable 6.1.y) store the port as an ifindex instead of a device
 * pointer ("netfilter: bridge: replace physindev with physinif").
 *
 * Return: the ifindex, or 0 when the packet is not bridged.
 */
#ifdef GWMARK_HAVE_NF_BRIDGE_PHYSINIF
static inline int gwmark_bridge_physinif(const struct sk_buff *skb,
					 struct net *net)
{
	return nf_bridge_info_exists(skb) ? nf_bridge_get_physinif(skb) : 0;
}
#else
static inline int gwmark_bridge_physinif(const struct sk_buff *skb,
					 struct net *net)
{
	const struct net_device *dev = nf_bridge_get_physindev(skb);

	return dev ? dev->ifindex : 0;
}
#endif

/**
 * gwmark_bridge_info_drop() - forget that a packet was being bridged
 * @skb: a packet the fast path has stolen
 *
 * br_netfilter keeps its per-packet state in an skb extension; a stolen
 * packet sent anew (possibly into a bridge) must not carry it along.
 */
static inline void gwmark_bridge_info_drop(struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	if (nf_bridge_info_exists(skb))
		skb_ext_del(skb, SKB_EXT_BRIDGE_NF);
#endif
}

/**
 * gwmark_bridge_for_us() - whether a bridged frame was addressed to this host
 * @skb: a packet that br_netfilter passes through the IP hooks
 *
 * br_netfilter turns PACKET_OTHERHOST into PACKET_HOST for the IP hooks and
 * remembers the truth in pkt_otherhost: a frame addressed to another host is
 * being bridged through, and stealing it would take it from its addressee.
 *
 * Return: true for a frame to the bridge's own address, or not bridged.
 */
static inline bool gwmark_bridge_for_us(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	const struct nf_bridge_info *nf_bridge = nf_bridge_info_get(skb);

	return !nf_bridge || !nf_bridge->pkt_otherhost;
#else
	return true;
#endif
}

/* skb_clear_tstamp() appeared in 5.18 with the delivery-time rework. */
#ifndef GWMARK_HAVE_SKB_CLEAR_TSTAMP
static inline void skb_clear_tstamp(struct sk_buff *skb)
{
	skb->tstamp = 0;
}
#endif

#endif /* _GWMARK_COMPAT_H */
