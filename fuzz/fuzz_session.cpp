// libFuzzer harness: the session loader (parseSession, behind File ▸ Open, Compare and the autosave
// offer). Any bytes must give a session or a message, never a crash or undefined behaviour. A file
// that loads must serialize deterministically: serialize → parse → serialize gives the same bytes.
#include "session/session.h"

#include <QByteArray>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char*>(data), qsizetype(size));
    const knee::SessionLoad load = knee::parseSession(bytes, QStringLiteral("fuzz.json"));
    if (!load.session)
        return 0;
    const QByteArray once = knee::serializeSession(*load.session);
    const knee::SessionLoad again = knee::parseSession(once, QStringLiteral("fuzz-roundtrip.json"));
    if (!again.session) {
        std::fprintf(stderr, "a session that loads does not load back after serializeSession: %s\n",
                     qPrintable(again.error));
        std::abort();
    }
    if (knee::serializeSession(*again.session) != once) {
        std::fprintf(stderr, "serializeSession is not stable across a round trip\n");
        std::abort();
    }
    return 0;
}
