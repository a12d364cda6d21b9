#include "http_client.h"

#include "http1_transport.h"

#include <QMetaObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

#include <qcoro/qcoronetworkreply.h>

#include <numeric>

namespace knee::net {

namespace {

constexpr int kQtConnectionsPerHost = 6; // QHttpNetworkConnection's fixed channel count in Qt 6.4

HttpTransport resolveTransport(HttpTransport wanted, const QUrl& url)
{
    if (wanted == HttpTransport::Auto)
        wanted = qEnvironmentVariable("KNEE_HTTP_TRANSPORT").compare(QLatin1String("qnam"), Qt::CaseInsensitive) == 0
            ? HttpTransport::Qnam
            : HttpTransport::Socket;
    if (wanted == HttpTransport::Socket && url.scheme() != QLatin1String("http"))
        return HttpTransport::Qnam; // TLS is QNAM's
    return wanted;
}

} // namespace

std::int64_t HttpCounters::failed() const { return std::accumulate(failures.begin(), failures.end(), std::int64_t(0)); }

HttpClient::HttpClient(HttpTarget target, QByteArray apiKey, QObject* parent)
    : HttpClient(std::move(target), std::move(apiKey), HttpTransport::Auto, parent)
{
}

HttpClient::HttpClient(HttpTarget target, QByteArray apiKey, HttpTransport transport, QObject* parent)
    : QObject(parent)
    , m_target(std::move(target))
    , m_apiKey(std::move(apiKey))
{
    m_clock.start();
    if (resolveTransport(transport, m_target.url) == HttpTransport::Socket) {
        m_pool = new Http1Pool(m_target, [this] { return now(); }, this);
        m_requestHead = socketRequestHead();
    } else {
        const int managers = (std::max(1, m_target.maxConnections) + kQtConnectionsPerHost - 1) / kQtConnectionsPerHost;
        for (int i = 0; i < managers; ++i) {
            auto* m = new QNetworkAccessManager(this);
            m->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy); // a redirect elsewhere must not take the key along
            m_managers.push_back(m);
        }
    }
    m_random ^= std::uint32_t(reinterpret_cast<std::uintptr_t>(this));
}

HttpClient::~HttpClient() { abortAll(); }

int HttpClient::connectionsOpened() const { return m_pool ? m_pool->connectionsOpened() : -1; }

bool HttpClient::mayCarryKey(const QUrl& url) const
{
    const QUrl& c = m_target.url;
    return url.scheme() == c.scheme() && url.host().compare(c.host(), Qt::CaseInsensitive) == 0
        && url.port(url.scheme() == QLatin1String("https") ? 443 : 80) == c.port(c.scheme() == QLatin1String("https") ? 443 : 80);
}

// Everything of a socket-transport request but its body and the Content-Length value: the same for
// every request, so built once. Redirects are never followed, so it only ever goes to the target.
QByteArray HttpClient::socketRequestHead() const
{
    const QUrl& url = m_target.url;
    QByteArray path = url.toEncoded(QUrl::RemoveScheme | QUrl::RemoveAuthority | QUrl::RemoveFragment);
    if (!path.startsWith('/'))
        path.prepend('/');
    QByteArray head = "POST " + path + " HTTP/1.1\r\n";
    bool contentTypeGiven = false, hostGiven = false;
    QByteArray given;
    for (const auto& [name, value] : m_target.headers) {
        const QByteArray lower = name.toLower();
        if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection")
            continue; // the framing and the connection are the transport's
        contentTypeGiven = contentTypeGiven || lower == "content-type";
        hostGiven = hostGiven || lower == "host";
        given += name + ": " + value + "\r\n";
    }
    if (!hostGiven)
        head += "Host: " + url.authority(QUrl::FullyEncoded).toLatin1() + "\r\n";
    head += "User-Agent: knee\r\n" + given;
    if (!contentTypeGiven)
        head += "Content-Type: application/json\r\n";
    if (m_target.stream)
        head += "Accept: text/event-stream\r\n";
    if (!m_apiKey.isEmpty() && mayCarryKey(url))
        head += "Authorization: Bearer " + m_apiKey + "\r\n";
    return head + "Content-Length: ";
}

bool HttpClient::GateAwaiter::await_ready()
{
    if (client->m_waiting.empty() && client->m_slotsTaken < client->m_target.maxConnections) {
        ++client->m_slotsTaken;
        granted = true;
        return true;
    }
    return false;
}

void HttpClient::resumeLater(std::coroutine_handle<> h)
{
    // Queued, never inline: resuming from inside another request's completion would nest stacks.
    QMetaObject::invokeMethod(this, [h] { h.resume(); }, Qt::QueuedConnection);
}

void HttpClient::releaseSlot()
{
    if (!m_waiting.empty()) { // the slot passes straight to the next waiter
        const Waiter w = m_waiting.front();
        m_waiting.pop_front();
        *w.granted = true;
        resumeLater(w.handle);
        return;
    }
    --m_slotsTaken;
}

void HttpClient::abortAll()
{
    ++m_generation;
    while (!m_waiting.empty()) {
        const Waiter w = m_waiting.front();
        m_waiting.pop_front();
        *w.granted = false;
        resumeLater(w.handle);
    }
    if (m_pool)
        m_pool->abortAll();
    const QSet<QNetworkReply*> replies = m_replies;
    for (QNetworkReply* r : replies)
        r->abort();
}

QCoro::Task<HttpOutcome> HttpClient::send(Nanos intended, int user)
{
    HttpOutcome out;
    if (!(co_await GateAwaiter{this})) {
        out.aborted = true; // never sent: counted nowhere
        co_return out;
    }
    const std::uint64_t generation = m_generation;
    ++m_counters.sent;
    m_random = m_random * 1664525u + 1013904223u;
    const QByteArray body = m_target.renderBody(m_nextId++, m_random);

    ResponseMeter meter(m_target);
    TransportResult result;
    ++m_inFlight;
    if (m_pool) {
        Http1Job job;
        job.request = m_requestHead + QByteArray::number(body.size()) + "\r\n\r\n" + body;
        job.meter = &meter;
        co_await m_pool->exchange(job);
        result.facts = job.facts;
        result.errorText = std::move(job.errorText);
        result.timeoutPhase = std::move(job.timeoutPhase);
    } else {
        co_await viaQnam(body, user, meter, result);
    }
    --m_inFlight;
    releaseSlot();

    out.latency = now() - intended;
    if (generation != m_generation && !result.facts.timedOut && result.facts.networkError == QNetworkReply::OperationCanceledError) {
        out.status = result.facts.status;
        out.aborted = true;
        ++m_counters.aborted;
        co_return out;
    }
    meter.conclude(result.facts, result.errorText, result.timeoutPhase, intended, out);
    if (out.failure)
        ++m_counters.failures[std::size_t(*out.failure)];
    else
        ++m_counters.ok;
    co_return out;
}

QCoro::Task<> HttpClient::viaQnam(QByteArray body, int user, ResponseMeter& meter, TransportResult& result)
{
    QNetworkRequest request(m_target.url);
    bool contentTypeGiven = false;
    for (const auto& [name, value] : m_target.headers) {
        request.setRawHeader(name, value);
        contentTypeGiven = contentTypeGiven || name.compare("content-type", Qt::CaseInsensitive) == 0;
    }
    if (!contentTypeGiven)
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    if (m_target.stream)
        request.setRawHeader("Accept", "text/event-stream");
    if (!m_apiKey.isEmpty() && mayCarryKey(request.url()))
        request.setRawHeader("Authorization", "Bearer " + m_apiKey);
    QNetworkAccessManager* manager = m_managers[std::size_t(std::max(0, user)) % m_managers.size()];
    QNetworkReply* reply = manager->post(request, body);
    m_replies.insert(reply);

    ExchangeFacts& facts = result.facts;
    bool sentOnWire = false;
    QTimer deadline; // the whole exchange: a response that never ends still does
    deadline.setSingleShot(true);
    deadline.start(m_target.requestTimeoutMs);
    connect(&deadline, &QTimer::timeout, reply, [&] {
        facts.timedOut = true;
        result.timeoutPhase = QStringLiteral("the response did not end within %1 ms (the request timeout)").arg(m_target.requestTimeoutMs);
        reply->abort();
    });
    QTimer timer;
    timer.setSingleShot(true);
    timer.start(m_target.connectTimeoutMs);
    connect(&timer, &QTimer::timeout, reply, [&] {
        facts.timedOut = true;
        result.timeoutPhase = sentOnWire ? QStringLiteral("no response byte for %1 ms").arg(m_target.responseTimeoutMs)
                                         : QStringLiteral("not connected within %1 ms").arg(m_target.connectTimeoutMs);
        reply->abort();
    });
    auto activity = [&] {
        sentOnWire = true;
        timer.start(m_target.responseTimeoutMs);
    };
    connect(reply, &QNetworkReply::requestSent, &timer, activity);
    connect(reply, &QNetworkReply::metaDataChanged, &timer, [&] {
        activity();
        facts.responseStarted = true;
        meter.head(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->rawHeader("Content-Type"));
    });
    connect(reply, &QNetworkReply::sslErrors, &timer, [&] { facts.tlsErrors = true; });
    auto drain = [&] {
        if (!reply->isOpen())
            return; // aborted
        const QByteArray bytes = reply->readAll();
        if (bytes.isEmpty())
            return;
        facts.responseStarted = true;
        meter.body(bytes, now());
        if (meter.tooLarge())
            reply->abort(); // conclude() says which limit
    };
    connect(reply, &QNetworkReply::readyRead, &timer, [&] {
        activity();
        drain();
    });

    co_await reply;
    timer.stop();
    deadline.stop();
    disconnect(reply, nullptr, &timer, nullptr);
    disconnect(&timer, nullptr, reply, nullptr);
    disconnect(&deadline, nullptr, reply, nullptr);
    drain();
    m_replies.remove(reply);
    facts.networkError = reply->error();
    facts.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.errorText = reply->errorString();
    reply->deleteLater();
}

} // namespace knee::net
