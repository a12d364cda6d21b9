// Datasets for LLM endpoints: the prompts an endpoint sweep sends, one per request in turn, and the output
// length each asks for. Either a JSONL file, one object a line:
//   {"prompt": "text"}                                       or
//   {"messages": [{"role": "user", "content": "text"}, …]}   (chat; sent as they are to OpenAI-compatible targets)
// with an optional "max_tokens" (or "output_tokens"): the output length to ask for (else the target's
// --max-tokens); or synthetic input/output lengths drawn from distributions with a fixed seed, so that a
// run is repeatable (parseSyntheticLengths says the syntax).
//
// The same lengths can feed the engine (applyDatasetLengths): request sizes from the input lengths and the
// continuous-batching output lengths from the output ones, so a twin or a simulation sees the same mix.
//
// Input lengths are counted in words (whitespace-separated), the unit knee serve counts prompt tokens in; a
// real tokenizer gives about 1.3 tokens a word in English. Synthetic prompts are that many words.
#pragma once
#include "sim/distribution.h"
#include "sim/scenario.h"

#include <QByteArray>
#include <QJsonArray>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace knee::net {

struct DatasetEntry {
    QString prompt;      // {"prompt": …}; for chat entries, their messages' contents joined by newlines
    QJsonArray messages; // {"messages": …}; empty for plain prompts
    int maxTokens = 0;   // the output length to ask for; 0: the target's own max_tokens
    int inputWords = 0;  // words in the prompt (or in every message's content), at least 1
};

struct Dataset {
    static constexpr std::size_t kMaxEntries = 1'000'000;
    static constexpr int kMaxTokens = 1'000'000;
    std::vector<DatasetEntry> entries;
    QString source; // for people: "prompts.jsonl (120 prompts)", "synthetic input=… output=… seed=7"
    // Synthetic datasets keep lengths only: an entry's prompt (inputWords words) is made when it is sent,
    // the same words for the same seed and entry.
    bool synthetic = false;
    std::uint64_t seed = 1;

    bool chat() const; // some entry has messages
    // The entry request `requestId` sends: the entries in turn, from the first again after the last.
    std::size_t indexFor(std::uint64_t requestId) const { return std::size_t(requestId % entries.size()); }
    const DatasetEntry& forRequest(std::uint64_t requestId) const { return entries[indexFor(requestId)]; }
    QString promptFor(std::uint64_t requestId) const;
};

// Reads a JSONL dataset (at most 256 MiB and kMaxEntries lines that are not blank). Nothing is kept from a
// file with a bad line: `error` then names the line and what is wrong with it.
std::optional<Dataset> readJsonlDataset(const QString& path, QString& error);

// A length distribution in tokens: constant:N, uniform:MIN:MAX, exponential:MEAN, lognormal:MEAN[:SIGMA]
// (SIGMA of the underlying normal, default 0.5). Draws are rounded and kept within [1, 1000000].
struct LengthDistribution {
    Distribution distribution; // the engine's own kinds, in tokens instead of ms
    QString text;              // as the user wrote it
};
std::optional<LengthDistribution> parseLengthDistribution(const QString& text, QString& error);

// --synthetic-lengths: "input=DIST,output=DIST[,seed=N][,count=N]", e.g.
//   input=lognormal:512:0.6,output=uniform:64:256,seed=7,count=500
// count (default 1000, at most kMaxEntries) prompts are drawn once; requests take them in turn.
struct SyntheticLengths {
    LengthDistribution input, output;
    std::uint64_t seed = 1;
    int count = 1000;
};
std::optional<SyntheticLengths> parseSyntheticLengths(const QString& spec, QString& error);
Dataset syntheticDataset(const SyntheticLengths& lengths);

// The dataset's lengths into a scenario: workload.request_size becomes the input lengths relative to their
// mean (an empirical table of mean 1: a request twice as long costs twice the preprocess and predict time),
// and model.batching.output_tokens the output lengths (`defaultMaxTokens` for entries that ask none).
// Returns what it did, for people.
QString applyDatasetLengths(const Dataset& dataset, int defaultMaxTokens, Scenario& scenario);

} // namespace knee::net
