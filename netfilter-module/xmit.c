// SPDX-License-Identifier: GPL-2.0
/*
 * xmit.c - the direct transmit: a fresh Ethernet header to a cached MAC and
 * dev_queue_xmit() on a cached device, bypassing routing and neighbours.
 *
 * The split into gwmark_xmit_check() and gwmark_xmit() is the contract with
 * the hooks: the check decides, without touching the packet, whether the
 * fast path may take it; once gwmark_xmit() starts changing the packet (TTL,
 * dst, header), there is no way back to the normal path.
 */
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>

#include "compat.h"
#include "xmit.h"

/*
 * A packet we send can come back into our LOCAL_OUT hook synchronously
 * (tunnel devices transmit from inside dev_queue_xmit()). Like nf_dup_netdev,
 * count the nesting per CPU and give up beyond a small depth.
 */
#define GWMARK_XMIT_DEPTH_MAX	2
static DEFINE_PER_CPU(u8, gwmark_xmit_depth);

/**
 * gwmark_xmit_dev_usable() - whether a device can take a fast-path packet
 * @dev: the cached device, looked up by ifindex under RCU
 *
 * Return: true for an Ethernet device that is up, has carrier and builds
 * its own link-layer header.
 */
bool gwmark_xmit_dev_usable(const struct net_device *dev)
{
	return dev->type == ARPHRD_ETHER && dev->header_ops &&
	       dev->header_ops->create && netif_running(dev) &&
	       netif_carrier_ok(dev);
}

static bool gwmark_xmit_fits(const struct sk_buff *skb,
			     const struct net_device *dev)
{
	if (skb->len <= dev->mtu)
		return true;
	return skb_is_gso(skb) && skb_gso_validate_network_len(skb, dev->mtu);
}

static bool gwmark_xmit_check_ipv4(struct sk_buff *skb, bool forward)
{
	const struct iphdr *iph;

	if (!pskb_network_may_pull(skb, sizeof(*iph)))
		return false;
	iph = ip_hdr(skb);
	if (iph->version != 4 || ipv4_is_multicast(iph->daddr) ||
	    ipv4_is_lbcast(iph->daddr) || ipv4_is_loopback(iph->daddr))
		return false;
	/* Reassembled by nf_defrag: only the normal path refragments. */
	if (forward && (iph->ttl <= 1 || IPCB(skb)->frag_max_size))
		return false;
	return true;
}

static bool gwmark_xmit_check_ipv6(struct sk_buff *skb, bool forward)
{
	const struct ipv6hdr *ip6h;
	int type;

	if (!pskb_network_may_pull(skb, sizeof(*ip6h)))
		return false;
	ip6h = ipv6_hdr(skb);
	if (ip6h->version != 6)
		return false;
	type = ipv6_addr_type(&ip6h->daddr);
	if (type & (IPV6_ADDR_MULTICAST | IPV6_ADDR_LINKLOCAL |
		    IPV6_ADDR_LOOPBACK))
		return false;
	if (forward && (ip6h->hop_limit <= 1 || IP6CB(skb)->frag_max_size))
		return false;
	return true;
}

/**
 * gwmark_xmit_check() - whether the fast path may send this packet
 * @skb:     the packet, network header at skb->data
 * @pf:      NFPROTO_IPV4 or NFPROTO_IPV6
 * @dev:     the output device (already gwmark_xmit_dev_usable())
 * @daddr:   the destination MAC
 * @forward: true for a forwarded packet (PRE_ROUTING), false for a locally
 *           generated one (LOCAL_OUT)
 *
 * Everything that the normal path handles better returns false: TTL about
 * to expire (ICMP time exceeded), too big for the MTU (fragmentation or
 * ICMP "too big"), a defragmented packet, multicast and link-local
 * destinations, packets not addressed to this host's MAC.
 *
 * Return: true if gwmark_xmit() may take it.
 */
bool gwmark_xmit_check(struct sk_buff *skb, u8 pf,
		       const struct net_device *dev, const u8 *daddr,
		       bool forward)
{
	if (!is_valid_ether_addr(daddr))
		return false;
	if (forward && skb->pkt_type != PACKET_HOST)
		return false;
	if (!gwmark_xmit_fits(skb, dev))
		return false;
	switch (pf) {
	case NFPROTO_IPV4:
		return gwmark_xmit_check_ipv4(skb, forward);
	case NFPROTO_IPV6:
		return gwmark_xmit_check_ipv6(skb, forward);
	default:
		return false;
	}
}

/* Forwarding duties the skipped ip_forward()/ip6_forward() would have done. */
static int gwmark_xmit_forward(struct sk_buff *skb, u8 pf)
{
	unsigned int hlen = pf == NFPROTO_IPV4 ? sizeof(struct iphdr) :
						 sizeof(struct ipv6hdr);

	if (skb_ensure_writable(skb, skb_network_offset(skb) + hlen))
		return -ENOMEM;
	if (pf == NFPROTO_IPV4)
		ip_decrease_ttl(ip_hdr(skb));
	else
		ipv6_hdr(skb)->hop_limit--;
	skb_forward_csum(skb);
	skb_clear_tstamp(skb);
	return 0;
}

/**
 * gwmark_xmit() - send a packet to @to->daddr out of @to->dev
 * @skb:        the packet, network header at skb->data; passed
 *              gwmark_xmit_check()
 * @pf:         NFPROTO_IPV4 or NFPROTO_IPV6
 * @to:         device (under RCU), MACs and VLAN tag
 * @clear_mask: mark bits to clear, so that the packet cannot select the
 *              fast path again if it comes back into this namespace
 * @forward:    decrement TTL/hop limit and drop receive-side state
 *
 * The old link-layer header is never reused (a packet from a TUN device has
 * none, one from a TAP device has the peer's): a new one is built with
 * @to->saddr or the device's own source address. A packet stolen in the
 * middle of bridging loses its br_netfilter state, so that a bridge it is
 * sent to treats it as locally sent. Checksum offload and GSO state pass
 * through to dev_queue_xmit(), which segments or finishes checksums for
 * devices that cannot.
 *
 * Return: see enum gwmark_xmit_result.
 */
enum gwmark_xmit_result gwmark_xmit(struct sk_buff *skb, u8 pf,
				    const struct gwmark_xmit_to *to,
				    u32 clear_mask, bool forward)
{
	__be16 proto = pf == NFPROTO_IPV4 ? htons(ETH_P_IP) : htons(ETH_P_IPV6);
	struct net_device *dev = to->dev;
	int rc;

	if (skb_cow_head(skb, LL_RESERVED_SPACE(dev)))
		return GWMARK_XMIT_DROP;
	if (forward && gwmark_xmit_forward(skb, pf))
		return GWMARK_XMIT_DROP;

	skb_dst_drop(skb);
	nf_reset_ct(skb);
	gwmark_bridge_info_drop(skb);
	skb->mark &= ~clear_mask;
	__vlan_hwaccel_clear_tag(skb);
	if (to->vlan_proto)
		__vlan_hwaccel_put_tag(skb, to->vlan_proto, to->vlan_tci);
	skb->dev = dev;
	skb->protocol = proto;
	if (dev_hard_header(skb, dev, ntohs(proto), to->daddr, to->saddr,
			    skb->len) < 0)
		return GWMARK_XMIT_DROP;
	skb_reset_mac_header(skb);

	local_bh_disable();
	if (unlikely(__this_cpu_read(gwmark_xmit_depth) >=
		     GWMARK_XMIT_DEPTH_MAX)) {
		local_bh_enable();
		kfree_skb(skb);
		return GWMARK_XMIT_LOST;
	}
	__this_cpu_inc(gwmark_xmit_depth);
	rc = dev_queue_xmit(skb);
	__this_cpu_dec(gwmark_xmit_depth);
	local_bh_enable();

	return net_xmit_eval(rc) ? GWMARK_XMIT_LOST : GWMARK_XMIT_SENT;
}
