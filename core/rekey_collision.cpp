#include "core/rekey_collision.hpp"

#include <algorithm>

namespace ikevpn::core {

bool nonce_lower(ByteView a, ByteView b) {
    // Octet by octet; a proper prefix is lower — exactly the lexicographic order of octet strings.
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

bool our_sa_is_redundant(ByteView ours_i, ByteView ours_r, ByteView theirs_i, ByteView theirs_r) {
    const ByteView ours = nonce_lower(ours_r, ours_i) ? ours_r : ours_i;
    const ByteView theirs = nonce_lower(theirs_r, theirs_i) ? theirs_r : theirs_i;
    return !nonce_lower(theirs, ours);
}

}  // namespace ikevpn::core
