// ThreadSanitizer annotations for orderings that Qt guarantees but TSan cannot see: Debian's Qt is not
// built with -fsanitize=thread, and its QMutex (futex-based) and thread pool hand-offs are invisible to
// it. KNEE_TSAN_RELEASE(p) before handing work to another thread through Qt, KNEE_TSAN_ACQUIRE(p) where
// that thread picks it up. Both compile to nothing outside TSan builds.
#pragma once

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define KNEE_TSAN_RELEASE(p) __tsan_release(p)
#define KNEE_TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define KNEE_TSAN_RELEASE(p) ((void)(p))
#define KNEE_TSAN_ACQUIRE(p) ((void)(p))
#endif
