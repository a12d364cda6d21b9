// `knee serve SCENARIO.yaml [--port N] [--host 127.0.0.1] [--json]`: the engine as an HTTP endpoint
// (generic JSON and OpenAI-compatible, streaming), live, until SIGINT or SIGTERM. Loopback unless
// --host says otherwise.
#pragma once
#include <QStringList>

namespace knee::cli {
int runServe(const QStringList& args); // args[0] is "serve"
}
