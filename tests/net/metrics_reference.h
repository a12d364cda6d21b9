// The reference /metrics server (vllm_metrics_server.py, on Debian's /usr/bin/python3) for the scraper
// tests: started on a free loopback port, its values set over HTTP, stopped with the test.
#pragma once
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>

class MetricsReference {
public:
    static constexpr const char* kPython = "/usr/bin/python3"; // Debian's: PATH's python3 may be another one
    static bool available() { return QFile::exists(QLatin1String(kPython)); }

    explicit MetricsReference(const QStringList& extra = {})
    {
        m_process.setProgram(QLatin1String(kPython));
        m_process.setArguments(QStringList{QStringLiteral(KNEE_SOURCE_DIR "/tests/net/vllm_metrics_server.py")} + extra);
        m_process.start();
        if (m_process.waitForReadyRead(20000))
            m_port = QJsonDocument::fromJson(m_process.readLine()).object().value("port").toInt();
    }
    ~MetricsReference()
    {
        m_process.kill();
        m_process.waitForFinished();
    }
    int port() const { return m_port; }
    QUrl url(const char* path = "/metrics") const { return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(m_port).arg(QLatin1String(path))); }

    // Sets gauges, counters or controls (_status, _garbage, _engines); true when the server took them.
    bool set(const QJsonObject& values)
    {
        QNetworkRequest request(url("/set"));
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        QNetworkReply* reply = m_nam.post(request, QJsonDocument(values).toJson(QJsonDocument::Compact));
        QEventLoop loop;
        QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
        loop.exec();
        reply->deleteLater();
        return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 204;
    }

private:
    QProcess m_process;
    QNetworkAccessManager m_nam;
    int m_port = 0;
};
