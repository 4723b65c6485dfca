// Shared by the TAP reader and writer tests: expected sequences, and io_uring refused in a child.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstddef>
#include <vector>

namespace wirebridge::io::test {

inline std::vector<long> iota(long first, long n) {
    std::vector<long> v;
    for (long i = 0; i < n; ++i) v.push_back(first + i);
    return v;
}

// Makes io_uring_setup fail with `err` in this process, as an old kernel (ENOSYS), a seccomp
// filter or kernel.io_uring_disabled (EPERM) would. Irreversible: call it in a child.
inline bool forbid_io_uring(int err) {
    sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | static_cast<unsigned>(err)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof f / sizeof f[0]), f};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

}  // namespace wirebridge::io::test
