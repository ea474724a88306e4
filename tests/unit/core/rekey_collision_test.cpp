// The nonce rule of simultaneous rekeys (core/rekey_collision.hpp). RFC 7296 §2.8.1: "the SA created with
// the lowest of the four nonces used in the two exchanges SHOULD be closed by the endpoint that created it.
// 'Lowest' means an octet-by-octet comparison (instead of, for instance, comparing the nonces as large
// integers) ... If you reach the end of one nonce, that nonce is the lower one."
#include "core/rekey_collision.hpp"

#include <doctest/doctest.h>

using namespace ikevpn;
using core::nonce_lower;
using core::our_sa_is_redundant;

TEST_CASE("nonce_lower: octet by octet for nonces of equal length") {
    const Bytes a{0x01, 0xff, 0xff}, b{0x02, 0x00, 0x00}, c{0x02, 0x00, 0x01};
    CHECK(nonce_lower(a, b));
    CHECK_FALSE(nonce_lower(b, a));
    CHECK(nonce_lower(b, c));  // equal until the last octet
    CHECK_FALSE(nonce_lower(c, b));
    CHECK_FALSE(nonce_lower(a, a));  // equal is not lower
}

TEST_CASE("nonce_lower: different lengths compare octet by octet, not as integers") {
    // As big-endian integers 0x0200 (512) > 0xff (255); octet by octet 0x02 < 0xff.
    const Bytes short_high{0xff}, long_low{0x02, 0x00};
    CHECK(nonce_lower(long_low, short_high));
    CHECK_FALSE(nonce_lower(short_high, long_low));
    // A proper prefix is the lower one ("if you reach the end of one nonce, that nonce is the lower one").
    const Bytes prefix{0x10, 0x20}, longer{0x10, 0x20, 0x00};
    CHECK(nonce_lower(prefix, longer));
    CHECK_FALSE(nonce_lower(longer, prefix));
    CHECK(nonce_lower(Bytes{}, Bytes{0x00}));
}

TEST_CASE("our_sa_is_redundant: the exchange holding the lowest of the four nonces loses") {
    const Bytes n10(16, 0x10), n20(16, 0x20), n30(16, 0x30), n40(16, 0x40);
    // The lowest nonce may be any of the four; only which exchange it belongs to counts.
    CHECK(our_sa_is_redundant(n10, n40, n20, n30));   // our Ni
    CHECK(our_sa_is_redundant(n40, n10, n30, n20));   // our Nr (the gateway's answer to us)
    CHECK_FALSE(our_sa_is_redundant(n20, n30, n10, n40));  // their Ni
    CHECK_FALSE(our_sa_is_redundant(n30, n40, n40, n20));  // their Nr (our answer to them)
    // Not the sum or the larger nonce: ours has the highest nonce too, yet also the lowest.
    CHECK(our_sa_is_redundant(n10, Bytes(16, 0xff), n20, n30));
}

TEST_CASE("our_sa_is_redundant: nonces of different lengths") {
    // RFC 7296 §2.10 allows nonces of 16 to 256 octets; a short one is not lower for being short.
    const Bytes ours_i(32, 0x80), ours_r(16, 0x05);
    const Bytes theirs_i = {0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                            0x00, 0x00};  // 17 octets, starting 05 00: lower than 05 05 ...
    const Bytes theirs_r(64, 0x90);
    CHECK_FALSE(our_sa_is_redundant(ours_i, ours_r, theirs_i, theirs_r));
    CHECK(our_sa_is_redundant(theirs_i, theirs_r, ours_i, ours_r));  // the same seen from the gateway
    // Equal up to the end of the shorter: the shorter is lower.
    const Bytes a(16, 0x07), b(20, 0x07);
    CHECK(our_sa_is_redundant(a, Bytes(32, 0xee), b, Bytes(32, 0xee)));
    CHECK_FALSE(our_sa_is_redundant(b, Bytes(32, 0xee), a, Bytes(32, 0xee)));
}

TEST_CASE("our_sa_is_redundant: both ends reach opposite verdicts, except on a tie, where both delete their own") {
    const Bytes x(32, 0x31), y(32, 0x32), z(32, 0x33), w(32, 0x34);
    // The gateway evaluates the same four nonces with the roles swapped.
    CHECK(our_sa_is_redundant(x, z, y, w) != our_sa_is_redundant(y, w, x, z));
    CHECK(our_sa_is_redundant(w, y, z, x) != our_sa_is_redundant(z, x, w, y));
    // A peer echoing our lowest nonce: each end deletes its own new SA, the old one stays (nothing leaks).
    CHECK(our_sa_is_redundant(x, z, x, w));
    CHECK(our_sa_is_redundant(x, w, x, z));
}
