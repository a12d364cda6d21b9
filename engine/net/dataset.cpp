#include "dataset.h"

#include "io/user_file.h"
#include "sim/random.h"

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>
#include <map>

namespace knee::net {

namespace {

constexpr io::UserFileKind kDatasetFile{"a dataset (JSONL)", 256 * io::kMiB};
// Synthetic prompts: words drawn from this list (knee serve counts a prompt's tokens as its words).
constexpr const char* kVocabulary[] = {"the",   "model", "serves", "requests", "under", "load",  "while", "latency", "grows",
                                       "past",  "knee",  "of",     "curve",    "and",   "queue", "waits", "for",     "a",
                                       "slot",  "on",    "each",   "replica",  "token", "batch", "decode", "step",   "cache",
                                       "holds", "keys",  "values", "in",       "GPU",   "memory"};

int words(const QString& text) { return int(text.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts).size()); }

// A whole number from 1 to Dataset::kMaxTokens, or an error.
bool tokensField(const QJsonObject& o, const char* key, int& out, QString& error)
{
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull())
        return true;
    const double d = v.toDouble(-1);
    if (!v.isDouble() || d < 1 || d > Dataset::kMaxTokens || d != std::floor(d)) {
        error = QStringLiteral("%1 must be a whole number from 1 to %2").arg(QLatin1String(key)).arg(Dataset::kMaxTokens);
        return false;
    }
    out = int(d);
    return true;
}

std::optional<DatasetEntry> parseEntry(const QByteArray& line, QString& error)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(line, &pe);
    if (pe.error != QJsonParseError::NoError) {
        error = QStringLiteral("not JSON (%1 at character %2)").arg(pe.errorString()).arg(pe.offset + 1);
        return std::nullopt;
    }
    if (!doc.isObject()) {
        error = QStringLiteral("each line must be a JSON object");
        return std::nullopt;
    }
    const QJsonObject o = doc.object();
    const bool hasPrompt = o.contains(QLatin1String("prompt")), hasMessages = o.contains(QLatin1String("messages"));
    if (hasPrompt == hasMessages) {
        error = hasPrompt ? QStringLiteral("give \"prompt\" or \"messages\", not both") : QStringLiteral("no \"prompt\" and no \"messages\"");
        return std::nullopt;
    }
    DatasetEntry e;
    if (hasPrompt) {
        if (!o.value(QLatin1String("prompt")).isString()) {
            error = QStringLiteral("\"prompt\" must be a string");
            return std::nullopt;
        }
        e.prompt = o.value(QLatin1String("prompt")).toString();
    } else {
        const QJsonValue m = o.value(QLatin1String("messages"));
        if (!m.isArray() || m.toArray().isEmpty()) {
            error = QStringLiteral("\"messages\" must be a non-empty list");
            return std::nullopt;
        }
        QStringList contents;
        for (const QJsonValue& message : m.toArray()) {
            const QJsonObject mo = message.toObject();
            if (!message.isObject() || !mo.value(QLatin1String("role")).isString() || !mo.value(QLatin1String("content")).isString()) {
                error = QStringLiteral("each message must be an object with a string \"role\" and a string \"content\"");
                return std::nullopt;
            }
            contents << mo.value(QLatin1String("content")).toString();
        }
        e.messages = m.toArray();
        e.prompt = contents.join(QLatin1Char('\n'));
    }
    e.inputWords = words(e.prompt);
    if (e.inputWords == 0) {
        error = QStringLiteral("the prompt is empty");
        return std::nullopt;
    }
    int maxTokens = 0, outputTokens = 0;
    if (!tokensField(o, "max_tokens", maxTokens, error) || !tokensField(o, "output_tokens", outputTokens, error))
        return std::nullopt;
    if (maxTokens && outputTokens && maxTokens != outputTokens) {
        error = QStringLiteral("\"max_tokens\" and \"output_tokens\" disagree");
        return std::nullopt;
    }
    e.maxTokens = maxTokens ? maxTokens : outputTokens;
    return e;
}

// The number after "kind:" parts, checked.
bool number(const QString& text, double lo, double hi, double& out)
{
    bool ok = false;
    out = text.toDouble(&ok);
    return ok && std::isfinite(out) && out >= lo && out <= hi;
}

int draw(const Sampler& sampler, Rng& rng)
{
    const double v = std::round(sampler.sampleValue(rng));
    return int(std::clamp(v, 1.0, double(Dataset::kMaxTokens)));
}

} // namespace

bool Dataset::chat() const
{
    for (const DatasetEntry& e : entries)
        if (!e.messages.isEmpty())
            return true;
    return false;
}

QString Dataset::promptFor(std::uint64_t requestId) const
{
    const std::size_t index = indexFor(requestId);
    const DatasetEntry& e = entries[index];
    if (!synthetic)
        return e.prompt;
    Rng rng(seed * 0x9E3779B97F4A7C15ull + index); // the entry's own stream: the same words whenever it is sent
    QString text;
    text.reserve(e.inputWords * 6);
    for (int i = 0; i < e.inputWords; ++i) {
        if (i)
            text += QLatin1Char(' ');
        text += QLatin1String(kVocabulary[rng.next() % std::size(kVocabulary)]);
    }
    return text;
}

std::optional<Dataset> readJsonlDataset(const QString& path, QString& error)
{
    const io::UserFileRead read = io::readUserFile(QFile::encodeName(path).toStdString(), kDatasetFile);
    if (!read.ok()) {
        error = QString::fromStdString(read.error);
        return std::nullopt;
    }
    Dataset d;
    const QByteArray bytes = QByteArray::fromStdString(read.bytes);
    qsizetype start = 0;
    for (int lineNumber = 1; start < bytes.size(); ++lineNumber) {
        qsizetype end = bytes.indexOf('\n', start);
        if (end < 0)
            end = bytes.size();
        const QByteArray line = bytes.mid(start, end - start).trimmed();
        start = end + 1;
        if (line.isEmpty())
            continue;
        if (d.entries.size() == Dataset::kMaxEntries) {
            error = QStringLiteral("more than %1 prompts").arg(Dataset::kMaxEntries);
            return std::nullopt;
        }
        QString why;
        std::optional<DatasetEntry> e = parseEntry(line, why);
        if (!e) {
            error = QStringLiteral("line %1: %2").arg(lineNumber).arg(why);
            return std::nullopt;
        }
        d.entries.push_back(std::move(*e));
    }
    if (d.entries.empty()) {
        error = QStringLiteral("no prompts in it (one JSON object a line: {\"prompt\": …} or {\"messages\": […]})");
        return std::nullopt;
    }
    d.source = QStringLiteral("%1 (%2 prompts)").arg(QFileInfo(path).fileName()).arg(d.entries.size());
    return d;
}

std::optional<LengthDistribution> parseLengthDistribution(const QString& text, QString& error)
{
    const QStringList parts = text.split(QLatin1Char(':'));
    const QString kind = parts.value(0).trimmed().toLower();
    constexpr double kMax = Dataset::kMaxTokens;
    LengthDistribution out;
    out.text = text;
    double a = 0, b = 0;
    Distribution& d = out.distribution;
    if (kind == QLatin1String("constant") && parts.size() == 2 && number(parts[1], 1, kMax, a)) {
        d = Distribution::constant(a);
    } else if (kind == QLatin1String("uniform") && parts.size() == 3 && number(parts[1], 1, kMax, a) && number(parts[2], a, kMax, b)) {
        d = Distribution::of(Distribution::Kind::Uniform, (a + b) / 2);
        d.spreadMs = (b - a) / 2;
    } else if (kind == QLatin1String("exponential") && parts.size() == 2 && number(parts[1], 1, kMax, a)) {
        d = Distribution::exponential(a);
    } else if (kind == QLatin1String("lognormal") && (parts.size() == 2 || parts.size() == 3) && number(parts[1], 1, kMax, a)
               && (parts.size() == 2 || number(parts[2], 1e-3, kMaxLognormalSigma, b))) {
        d = Distribution::of(Distribution::Kind::Lognormal, a);
        d.sigma = parts.size() == 3 ? b : 0.5;
    } else {
        error = QStringLiteral("'%1' is not a length distribution: constant:N, uniform:MIN:MAX, exponential:MEAN or lognormal:MEAN[:SIGMA] "
                               "(tokens from 1 to %2; SIGMA up to %3)")
                    .arg(text)
                    .arg(Dataset::kMaxTokens)
                    .arg(kMaxLognormalSigma);
        return std::nullopt;
    }
    if (const std::string e = d.validate(); !e.empty()) {
        error = QStringLiteral("'%1': %2").arg(text, QString::fromStdString(e));
        return std::nullopt;
    }
    return out;
}

std::optional<SyntheticLengths> parseSyntheticLengths(const QString& spec, QString& error)
{
    SyntheticLengths out;
    bool input = false, output = false;
    for (const QString& part : spec.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const qsizetype eq = part.indexOf(QLatin1Char('='));
        const QString key = part.left(eq).trimmed(), value = part.mid(eq + 1).trimmed();
        bool ok = eq > 0;
        if (ok && (key == QLatin1String("input") || key == QLatin1String("output"))) {
            std::optional<LengthDistribution> d = parseLengthDistribution(value, error);
            if (!d)
                return std::nullopt;
            (key == QLatin1String("input") ? out.input : out.output) = *d;
            (key == QLatin1String("input") ? input : output) = true;
            continue;
        }
        if (ok && key == QLatin1String("seed")) {
            out.seed = value.toULongLong(&ok);
        } else if (ok && key == QLatin1String("count")) {
            out.count = value.toInt(&ok);
            ok = ok && out.count >= 1 && std::size_t(out.count) <= Dataset::kMaxEntries;
        } else {
            ok = false;
        }
        if (!ok) {
            error = QStringLiteral("'%1' in the synthetic lengths: expected input=DIST, output=DIST, seed=N (a whole number >= 0) or "
                                   "count=N (1 to %2)")
                        .arg(part)
                        .arg(Dataset::kMaxEntries);
            return std::nullopt;
        }
    }
    if (!input || !output) {
        error = QStringLiteral("synthetic lengths need both input=DIST and output=DIST, e.g. input=lognormal:512:0.6,output=uniform:64:256,seed=7");
        return std::nullopt;
    }
    return out;
}

Dataset syntheticDataset(const SyntheticLengths& lengths)
{
    Dataset d;
    d.synthetic = true;
    d.seed = lengths.seed;
    // Two streams from the seed: the input lengths do not change when only the output distribution does.
    Rng inputRng(lengths.seed), outputRng(lengths.seed ^ 0x6f7574707574ull);
    const Sampler input(lengths.input.distribution), output(lengths.output.distribution);
    d.entries.resize(std::size_t(lengths.count));
    for (DatasetEntry& e : d.entries) {
        e.inputWords = draw(input, inputRng);
        e.maxTokens = draw(output, outputRng);
    }
    d.source = QStringLiteral("synthetic input=%1 output=%2 seed=%3 count=%4")
                   .arg(lengths.input.text, lengths.output.text)
                   .arg(lengths.seed)
                   .arg(lengths.count);
    return d;
}

QString applyDatasetLengths(const Dataset& dataset, int defaultMaxTokens, Scenario& scenario)
{
    // Empirical tables of the distinct lengths, weighted by how often each occurs: at most one entry per
    // length, however many prompts.
    std::map<int, double> inputs, outputs;
    for (const DatasetEntry& e : dataset.entries) {
        inputs[e.inputWords] += 1;
        outputs[e.maxTokens > 0 ? e.maxTokens : defaultMaxTokens] += 1;
    }
    auto table = [](const std::map<int, double>& counts, double mean) {
        Distribution d = Distribution::of(Distribution::Kind::Empirical, mean);
        for (const auto& [value, weight] : counts) {
            d.valuesMs.push_back(value);
            d.weights.push_back(weight);
        }
        return d;
    };
    scenario.workload.requestSize = table(inputs, 1.0); // rescaled to mean 1: sizes relative to the mean prompt
    scenario.model.batching.outputTokens = table(outputs, 0); // the lengths themselves
    return QStringLiteral("request sizes from the input lengths of %1 (%2 distinct), output_tokens from its output lengths (%3 distinct)")
        .arg(dataset.source)
        .arg(inputs.size())
        .arg(outputs.size());
}

} // namespace knee::net
