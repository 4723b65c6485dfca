// Result<T>: the error-or-value type of OS-facing and data-path code (std::expected's shape).
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace wirebridge {

// An error a caller can act on or show: an errno-style code and one plain sentence.
struct Error {
    int code = 0;         // errno value, or 0 when the error is not from the OS
    std::string message;  // what went wrong and where, for a person

    static Error from_errno(std::string what, int err = errno) {
        return Error{err, std::move(what) + ": " + std::strerror(err)};
    }
};

// Unexpected<E>: wraps an error so that `return fail(...)` converts to any Result<T>.
struct Unexpected {
    Error error;
};

inline Unexpected fail(std::string message, int code = 0) {
    return Unexpected{Error{code, std::move(message)}};
}
inline Unexpected fail(Error e) { return Unexpected{std::move(e)}; }
inline Unexpected fail_errno(std::string what, int err = errno) {
    return Unexpected{Error::from_errno(std::move(what), err)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool ok_ = true;
};

}  // namespace wirebridge
