// A global operator new that counts its calls, so that tests and benchmarks can show that the packet path
// allocates nothing per packet. Replaces the program's operator new: include it in exactly ONE translation
// unit of an executable.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ikevpn::test {
inline std::atomic<std::uint64_t> new_calls{0};
}  // namespace ikevpn::test

// noinline: keeps GCC from pairing the malloc/free inside these with new/delete expressions at call sites
// (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(std::size_t size) {
    ikevpn::test::new_calls.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
