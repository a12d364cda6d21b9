// `knee import --locust SPOOL.jsonl… --out SESSION.json [--warmup-s S] [--window-s S] [--slo-ms MS] [--json]`
// (issue 18): the per-request records Locust's workers spooled during `knee sweep --load-generator locust
// --locust-spool DIR` (DIR/worker-K.jsonl), each level replayed through the sweep's own procedure
// (warm-up, windows until two agree), analysed and saved as a session that `knee report` and the window
// open. Exit 0 written; 2 bad input (a missing or malformed spool, no --out), nothing written; 1 the
// session could not be written.
#pragma once
#include <QStringList>

namespace knee::cli {
int runImport(const QStringList& args); // args[0] is "import"
}
