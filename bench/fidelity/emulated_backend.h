// A predict backend that computes nothing: each call completes on the backend's own thread after a set
// time (0: at once), through the same interface as the CPU and CUDA backends. With it the live engine's
// own cost (the executor, the hand-off to the engine thread, the clock) is measured on any machine, apart
// from the device's: `knee-bench-fidelity live --backend emulated[:MS]`.
#pragma once
#include "predict/backend.h"

#include <memory>

namespace fidelity {

// `callMs`: the wall time each call takes, whatever its batch (the completion thread sleeps to a
// deadline, so a call can end up to the kernel's timer slack late, about 0.05 ms; 0 never sleeps).
std::unique_ptr<knee::predict::Backend> makeEmulatedBackend(double callMs);

} // namespace fidelity
