// The transient/fatal split of UDP socket errors (see socket_errors.hpp).
#include "io/socket_errors.hpp"

#include <cerrno>

namespace wirebridge::io {

bool is_transient_socket_error(int err) {
    switch (err) {
        // The descriptor or the arguments are wrong: retrying cannot help.
        case EBADF:
        case ENOTSOCK:
        case EFAULT:
        case EINVAL:
        case EAFNOSUPPORT:
        case EDESTADDRREQ:
            return false;
        default:
            // ICMP-reported errors (ECONNREFUSED, ENOPROTOOPT, EMSGSIZE, EPROTO, EHOSTUNREACH,
            // ENETUNREACH, EHOSTDOWN, ENONET, EOPNOTSUPP, EACCES), ENOBUFS/ENOMEM, EPERM from
            // a local firewall, ENETDOWN while an interface flaps: lost datagrams, not a dead socket.
            return true;
    }
}

}  // namespace wirebridge::io
