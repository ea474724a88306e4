// An LD_PRELOAD allocation counter for the throughput benchmark (issue 7: "zero heap allocations per
// packet in steady state"). It interposes the glibc allocation entry points, forwards each call to glibc's
// own implementation (__libc_malloc & co.), and counts the calls in an 8-octet counter in a file named by
// IKEVPN_ALLOC_COUNTER, mapped shared, so the benchmark script reads it from outside before and after a
// transfer (od) without any help from the process — C++ operator new, Botan's allocations and libc's
// own all end in these functions. Without the variable it only forwards.
//
// Benchmark builds only; never installed, never linked into ikevpn.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cerrno>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {

// Set once by the constructor before main; allocations made earlier (by the dynamic loader) are not
// counted, which does not matter for a steady-state delta.
std::atomic<std::uint64_t>* counter = nullptr;

void count_one() {
    if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
}

__attribute__((constructor)) void map_counter() {
    const char* path = std::getenv("IKEVPN_ALLOC_COUNTER");
    if (path == nullptr || *path == '\0') return;
    const int fd = ::open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    void* mapped = MAP_FAILED;
    if (::ftruncate(fd, sizeof(std::uint64_t)) == 0)
        mapped = ::mmap(nullptr, sizeof(std::uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
    if (mapped != MAP_FAILED) counter = static_cast<std::atomic<std::uint64_t>*>(mapped);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(std::size_t size) {
    count_one();
    return __libc_malloc(size);
}

__attribute__((visibility("default"))) void* calloc(std::size_t count, std::size_t size) {
    count_one();
    return __libc_calloc(count, size);
}

__attribute__((visibility("default"))) void* realloc(void* pointer, std::size_t size) {
    count_one();
    return __libc_realloc(pointer, size);
}

__attribute__((visibility("default"))) void* memalign(std::size_t alignment, std::size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) void* aligned_alloc(std::size_t alignment, std::size_t size) {
    count_one();
    return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
    // POSIX: the alignment must be a power of two multiple of sizeof(void*).
    if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
    count_one();
    void* pointer = __libc_memalign(alignment, size);
    if (pointer == nullptr) return ENOMEM;
    *out = pointer;
    return 0;
}

}  // extern "C"
