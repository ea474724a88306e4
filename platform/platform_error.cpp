#include "platform/platform_error.hpp"

#include <cerrno>
#include <cstring>

namespace ikevpn::platform {
namespace {

std::string compose(const std::string& what_failed, int error_number, const std::string& detail) {
    std::string text = what_failed + ": " + std::strerror(error_number);
    if (!detail.empty()) text += " (" + detail + ")";
    return text;
}

}  // namespace

PlatformError::PlatformError(const std::string& what_failed, int error_number, const std::string& detail)
    : std::runtime_error(compose(what_failed, error_number, detail)), code_(error_number) {}

void throw_errno(const std::string& what_failed) { throw PlatformError(what_failed, errno); }

}  // namespace ikevpn::platform
