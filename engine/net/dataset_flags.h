// The command-line flags that give an endpoint sweep its prompts (dataset.h): --dataset FILE.jsonl and
// --synthetic-lengths SPEC. Parsed here, beside the dataset, so that `knee sweep` only hooks them in.
#pragma once
#include <QCommandLineOption>
#include <QString>

class QCommandLineParser;

namespace knee::net {

struct HttpTarget;

struct DatasetFlags {
    const QCommandLineOption dataset{QStringLiteral("dataset"),
                                     QStringLiteral("Prompts from a JSONL file, one per request in turn: {\"prompt\": …} or {\"messages\": […]} a "
                                                    "line, with an optional \"max_tokens\" (or \"output_tokens\")."),
                                     QStringLiteral("FILE")};
    const QCommandLineOption synthetic{QStringLiteral("synthetic-lengths"),
                                       QStringLiteral("Synthetic prompts: input=DIST,output=DIST[,seed=N][,count=N] in tokens; DIST is "
                                                      "constant:N, uniform:MIN:MAX, exponential:MEAN or lognormal:MEAN[:SIGMA]."),
                                       QStringLiteral("SPEC")};

    void addTo(QCommandLineParser& parser) const;
    bool anySet(const QCommandLineParser& parser) const;
    // Sets target.dataset from the flags (nothing when neither is given); false with why in `error`.
    bool read(const QCommandLineParser& parser, HttpTarget& target, QString& error) const;
};

} // namespace knee::net
