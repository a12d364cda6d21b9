// How long a UI test waits for an event (a published snapshot, a finished run, a chart point).
// Generous on purpose: the tests wait for the event, never assert how fast it comes, since a shared
// 2-core machine under load can take many times longer than an idle one. A passing wait returns as
// soon as the event happens, so this only lengthens a failure.
#pragma once

namespace knee::test {
inline constexpr int kEventTimeoutMs = 120'000;
}
