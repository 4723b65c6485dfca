// Shared pieces of the runners: traffic into status.
#include "app/runner_common.hpp"

namespace wirebridge::app {

void add_traffic(const datapath::DataChannel& dc, control::PeerStatus& peer, control::Status& status) {
    const auto& c = dc.counters();
    peer.bytes_in = c.bytes_in;
    peer.bytes_out = c.bytes_out;
    peer.packets_in = c.packets_in;
    peer.packets_out = c.packets_out;
    for (std::size_t i = 0; i < c.drops.size(); ++i)
        if (c.drops[i] != 0) status.drops[datapath::data_drop_name(static_cast<datapath::DataDrop>(i))] += c.drops[i];
}

void add_mailbox_drops(const datapath::WorkerMailbox& mailbox, control::Status& status) {
    using Source = datapath::WorkerMailbox::Source;
    if (const std::uint64_t n = mailbox.dropped(Source::peer)) status.drops["mailbox_full"] += n;
    if (const std::uint64_t n = mailbox.dropped(Source::unknown)) status.drops["mailbox_full_unknown"] += n;
    if (const std::uint64_t n = mailbox.filtered()) status.drops["mailbox_filtered"] += n;
}

}  // namespace wirebridge::app
