// Shared pieces of the client and server runners: the session's clock, traffic into status.
#pragma once

#include "control/status.hpp"
#include "datapath/data_channel.hpp"
#include "datapath/pump_common.hpp"
#include "datapath/worker_mailbox.hpp"
#include "io/clock.hpp"

namespace wirebridge::app {

using io::now_ms;
using io::to_time_point;
using datapath::kBatch;
using datapath::kMaxFrame;
using datapath::kPacketBuffer;

// Copies a data channel's traffic counters into the peer's status and its drops into the totals.
void add_traffic(const datapath::DataChannel& dc, control::PeerStatus& peer, control::Status& status);
// The data path's mail the main thread never saw: mailbox_full (from established peers),
// mailbox_full_unknown (from other sources), mailbox_filtered (refused by the worker).
void add_mailbox_drops(const datapath::WorkerMailbox& mailbox, control::Status& status);

}  // namespace wirebridge::app
