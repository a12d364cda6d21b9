// Apart from the backend's headers (whose members named `slots` clash with Qt's keyword in a Qt program's main).
#pragma once

namespace knee::predict {

// Asks the CUDA driver for its most work queues per context (CUDA_DEVICE_MAX_CONNECTIONS=32) unless the user set
// the variable: with its default of 8 no more than about four calls were ever on a device at once (the CUDA
// module's discover() says why). The driver reads it when it starts a context, so: call it at the top of main(),
// before any thread could read the environment (setenv is not safe beside another thread's getenv). The CUDA
// module sets it too (discover()), as a fallback for programs that do not call this.
void askForDeviceWorkQueues();

} // namespace knee::predict
