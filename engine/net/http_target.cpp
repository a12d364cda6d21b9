#include "http_target.h"

#include "dataset.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>

#ifdef KNEE_WITH_KEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace knee::net {

namespace {

// Defaults per kind. OpenAI rejects stream_options on a non-streaming request, hence two.
constexpr char kGenericBody[] = R"json({"id": {{id}}, "input": "{{prompt}}", "max_tokens": {{max_tokens}}})json";
constexpr char kOpenAIBody[] = R"json({"model": "{{model}}", "messages": [{"role": "user", "content": "{{prompt}} ({{id}})"}], )json"
                               R"json("max_tokens": {{max_tokens}}, "stream": false})json";
constexpr char kOpenAIStreamBody[] = R"json({"model": "{{model}}", "messages": [{"role": "user", "content": "{{prompt}} ({{id}})"}], )json"
                                     R"json("max_tokens": {{max_tokens}}, "stream": true, "stream_options": {"include_usage": true}})json";
// With a dataset: its messages (or its prompt as one user message) as they are, without the request number.
constexpr char kOpenAIDatasetBody[] = R"json({"model": "{{model}}", "messages": {{messages}}, "max_tokens": {{max_tokens}}, "stream": false})json";
constexpr char kOpenAIDatasetStreamBody[] = R"json({"model": "{{model}}", "messages": {{messages}}, "max_tokens": {{max_tokens}}, )json"
                                            R"json("stream": true, "stream_options": {"include_usage": true}})json";

QByteArray jsonEscaped(const QString& text)
{
    // A JSON string literal without its quotes.
    const QByteArray quoted = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact); // ["..."]
    return quoted.mid(2, quoted.size() - 4);
}

} // namespace

QString HttpTarget::validate() const
{
    QStringList problems;
    if (!url.isValid()) {
        // An invalid QUrl prints as '': say what Qt found wrong, without its "source was …" (it may hold credentials).
        QString why = url.errorString();
        if (const qsizetype source = why.indexOf(QLatin1String("; source was")); source >= 0)
            why.truncate(source);
        problems << (why.startsWith(QLatin1String("Invalid port")) ? QStringLiteral("the URL's port must be a number from 1 to 65535")
                                                                   : QStringLiteral("the URL is not valid: %1").arg(why));
    } else if ((url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) || url.host().isEmpty()) {
        problems << QStringLiteral("the URL must be http:// or https:// with a host, got '%1'").arg(url.toString(QUrl::RemoveUserInfo));
    } else if (url.port() == 0) {
        problems << QStringLiteral("the URL's port must be a number from 1 to 65535");
    }
    if (!url.userInfo().isEmpty())
        problems << QStringLiteral("put credentials in an API key source, not in the URL");
    if (stream && kind != Kind::OpenAI)
        problems << QStringLiteral("streaming is measured on OpenAI-compatible endpoints only (add --openai)");
    if (maxTokens < 1 || maxTokens > 1'000'000)
        problems << QStringLiteral("max_tokens must be between 1 and 1000000");
    if (connectTimeoutMs < 1 || connectTimeoutMs > 3'600'000 || responseTimeoutMs < 1 || responseTimeoutMs > 3'600'000
        || requestTimeoutMs < 1 || requestTimeoutMs > 3'600'000)
        problems << QStringLiteral("timeouts must be between 1 ms and one hour");
    if (maxConnections < 1 || maxConnections > 4096)
        problems << QStringLiteral("max connections must be between 1 and 4096");
    if (dataset && dataset->entries.empty())
        problems << QStringLiteral("the dataset holds no prompts");
    if (!apiKeySource.isEmpty() && !apiKeySource.startsWith(QLatin1String("env:")) && !apiKeySource.startsWith(QLatin1String("keychain:")))
        problems << QStringLiteral("the API key source must be env:NAME or keychain:SERVICE/KEY");
    // A variable's name as a shell (and Locust's run-worker.sh) takes it: nothing else reaches a script.
    static const QRegularExpression kEnvName(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]{0,127}$"));
    if (apiKeySource.startsWith(QLatin1String("env:")) && !kEnvName.match(apiKeySource.mid(4)).hasMatch())
        problems << QStringLiteral("the API key's environment variable is a name of letters, digits and _ (not starting with a digit)");
    if (apiKeySource.startsWith(QLatin1String("keychain:")) && !keychainAvailable())
        problems << QStringLiteral("this knee was built without QtKeychain: use env:NAME for the API key");
    for (const auto& h : headers)
        if (h.first.compare("authorization", Qt::CaseInsensitive) == 0)
            problems << QStringLiteral("give the API key through a key source, not an Authorization header (it would be stored with the target)");
    return problems.join(QLatin1Char('\n'));
}

QJsonObject HttpTarget::toJson() const
{
    QJsonArray headerNames; // names only: values may be secrets too
    for (const auto& h : headers)
        headerNames.append(QString::fromLatin1(h.first));
    return {{"kind", kindName(kind)},
            {"url", url.toString(QUrl::RemoveUserInfo)},
            {"stream", stream},
            {"max_tokens", maxTokens},
            {"header_names", headerNames},
            {"connect_timeout_ms", connectTimeoutMs},
            {"response_timeout_ms", responseTimeoutMs},
            {"request_timeout_ms", requestTimeoutMs},
            {"max_connections", maxConnections},
            {"api_key_source", apiKeySource},
            {"dataset", dataset ? QJsonValue(dataset->source) : QJsonValue()}};
}

QByteArray HttpTarget::effectiveBodyTemplate() const
{
    if (!bodyTemplate.isEmpty())
        return bodyTemplate;
    if (kind == Kind::Generic)
        return kGenericBody;
    if (dataset)
        return stream ? kOpenAIDatasetStreamBody : kOpenAIDatasetBody;
    return stream ? kOpenAIStreamBody : kOpenAIBody;
}

QByteArray HttpTarget::renderBody(std::uint64_t requestId, std::uint32_t random) const
{
    const DatasetEntry* entry = dataset && !dataset->entries.empty() ? &dataset->forRequest(requestId) : nullptr;
    const QString text = entry ? dataset->promptFor(requestId) : prompt;
    const int tokens = entry && entry->maxTokens > 0 ? entry->maxTokens : maxTokens;
    auto messages = [&] {
        const QJsonArray list = entry && !entry->messages.isEmpty() ? entry->messages
                                                                    : QJsonArray{QJsonObject{{"role", "user"}, {"content", text}}};
        return QJsonDocument(list).toJson(QJsonDocument::Compact);
    };
    // One pass over the template: what a placeholder brings in (a prompt holding "{{id}}") stays as it is.
    const QByteArray tmpl = effectiveBodyTemplate();
    QByteArray body;
    body.reserve(tmpl.size() + text.size() + 64);
    qsizetype at = 0;
    while (at < tmpl.size()) {
        const qsizetype open = tmpl.indexOf("{{", at);
        const qsizetype close = open < 0 ? -1 : tmpl.indexOf("}}", open + 2);
        if (close < 0) {
            body += tmpl.mid(at);
            break;
        }
        body += tmpl.mid(at, open - at);
        const QByteArray name = tmpl.mid(open + 2, close - open - 2);
        if (name == "id")
            body += QByteArray::number(qulonglong(requestId));
        else if (name == "random")
            body += QByteArray::number(random);
        else if (name == "max_tokens")
            body += QByteArray::number(tokens);
        else if (name == "stream")
            body += stream ? "true" : "false";
        else if (name == "model")
            body += jsonEscaped(model);
        else if (name == "prompt")
            body += jsonEscaped(text);
        else if (name == "messages")
            body += messages();
        else { // not a placeholder: kept as written
            body += tmpl.mid(open, 2);
            at = open + 2;
            continue;
        }
        at = close + 2;
    }
    return body;
}

QPair<QByteArray, QByteArray> parseHeader(const QString& text, QString& error)
{
    const qsizetype colon = text.indexOf(QLatin1Char(':'));
    const QByteArray name = text.left(colon).trimmed().toLatin1();
    static const QByteArray tokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    bool ok = colon > 0 && !name.isEmpty();
    for (char c : name)
        ok = ok && tokenChars.contains(c);
    const QString value = text.mid(colon + 1).trimmed();
    if (!ok || value.contains(QLatin1Char('\n')) || value.contains(QLatin1Char('\r'))) {
        error = QStringLiteral("a header is 'Name: value', got '%1'").arg(text.left(colon > 0 ? colon : 40));
        return {};
    }
    return {name, value.toUtf8()};
}

bool keychainAvailable()
{
#ifdef KNEE_WITH_KEYCHAIN
    return true;
#else
    return false;
#endif
}

ApiKey resolveApiKey(const QString& source)
{
    ApiKey out;
    if (source.isEmpty())
        return out;
    if (source.startsWith(QLatin1String("env:"))) {
        const QString name = source.mid(4);
        if (name.isEmpty() || !qEnvironmentVariableIsSet(name.toLocal8Bit().constData()))
            out.error = QStringLiteral("the environment variable %1 (the API key) is not set").arg(name);
        else
            out.key = qgetenv(name.toLocal8Bit().constData());
        return out;
    }
    if (source.startsWith(QLatin1String("keychain:"))) {
        const QString spec = source.mid(9);
        const qsizetype slash = spec.indexOf(QLatin1Char('/'));
        if (slash <= 0 || slash == spec.size() - 1) {
            out.error = QStringLiteral("a keychain source is keychain:SERVICE/KEY, got '%1'").arg(source);
            return out;
        }
#ifdef KNEE_WITH_KEYCHAIN
        QKeychain::ReadPasswordJob job(spec.left(slash));
        job.setAutoDelete(false);
        job.setKey(spec.mid(slash + 1));
        QEventLoop loop;
        QObject::connect(&job, &QKeychain::Job::finished, &loop, &QEventLoop::quit);
        job.start();
        loop.exec();
        if (job.error() != QKeychain::NoError)
            out.error = QStringLiteral("cannot read the API key from the keychain (%1): %2").arg(source, job.errorString());
        else
            out.key = job.binaryData();
#else
        out.error = QStringLiteral("this knee was built without QtKeychain: use env:NAME for the API key");
#endif
        return out;
    }
    out.error = QStringLiteral("the API key source must be env:NAME or keychain:SERVICE/KEY");
    return out;
}

} // namespace knee::net
