// Status in Prometheus' text exposition format (version 0.0.4), for node_exporter's textfile
// collector (`wirebridge status --prometheus > DIR/wirebridge-SITE.prom`) or any scraper.
// The metric names and labels are documented in docs/CONTROL.md ("Prometheus metrics").
#pragma once

#include <string>

#include "control/status.hpp"

namespace wirebridge::control {

std::string to_prometheus(const Status& s);

// A label value with the escapes the format requires (\\, \", \n).
std::string prometheus_label(const std::string& v);

}  // namespace wirebridge::control
