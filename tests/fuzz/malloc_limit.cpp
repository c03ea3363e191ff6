// The replay's stand-in for libFuzzer's -malloc_limit_mb=256: a reader must not allocate
// what a few bytes of header claim, so one allocation past 256 MiB is a finding here too.
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {
constexpr std::size_t limit = std::size_t{256} << 20;

void* allocate(std::size_t size) {
    if (size > limit) {
        std::fprintf(stderr, "finding: one allocation of %zu bytes (the limit is %zu)\n", size, limit);
        std::abort();
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
