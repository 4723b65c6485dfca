// The agent's clock as the sans-I/O parts take it: milliseconds of the monotonic clock (the event
// loop's Clock), and back to the loop's time points.
#pragma once

#include <chrono>
#include <cstdint>

#include "io/event_loop.hpp"

namespace wirebridge::io {

inline std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}
inline TimePoint to_time_point(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace wirebridge::io
