// SPDX-License-Identifier: GPL-2.0
/*
 * notify.c - device events: a flow never outlives the devices it names.
 *
 * The cache holds ifindexes, never device pointers, so a device can always
 * go away; but an ifindex can be reused by a later device, so the flows
 * that name a device are dropped when it is unregistered (which includes
 * moving it to another namespace). A device that is merely down keeps its
 * flows: the fast path checks the device state per packet and falls back.
 */
#include <linux/netdevice.h>
#include <linux/notifier.h>

#include "cache.h"

static int gwmark_notify_netdev(struct notifier_block *nb, unsigned long event,
				void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event == NETDEV_UNREGISTER)
		gwmark_cache_flush(gwmark_pernet(dev_net(dev)), dev->ifindex);
	return NOTIFY_DONE;
}

static struct notifier_block gwmark_netdev_nb = {
	.notifier_call = gwmark_notify_netdev,
};

/**
 * gwmark_notify_register() - subscribe to device events
 *
 * Context: only after the pernet registration, because events name
 * namespaces whose gwmark_net must exist.
 *
 * Return: 0 or a negative errno.
 */
int gwmark_notify_register(void)
{
	return register_netdevice_notifier(&gwmark_netdev_nb);
}

/**
 * gwmark_notify_unregister() - unsubscribe from device events
 */
void gwmark_notify_unregister(void)
{
	unregister_netdevice_notifier(&gwmark_netdev_nb);
}
