// The text of OpenSSL's error queue, for error messages (the queue is emptied).
#pragma once

#include <string>

namespace wirebridge::crypto {

// Every queued error, "; "-separated, oldest first; "" when the queue is empty.
std::string drain_openssl_errors();

}  // namespace wirebridge::crypto
