// One `knee serve` process for the net tests: started on port 0 (its bound port read from the --json
// line), stopped by a signal, its summary line read back.
#pragma once
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <csignal>
#include <functional>

class Served {
public:
    // `childSetup` runs in the child before knee starts (e.g. to lower its descriptor limit);
    // `environment`, when not empty, is the child's.
    explicit Served(const QString& scenarioPath, const QStringList& extra = {}, const std::function<void()>& childSetup = {},
                    const QProcessEnvironment& environment = {})
    {
        m_process.setProgram(QStringLiteral(KNEE_BINARY));
        m_process.setArguments(QStringList{QStringLiteral("serve"), scenarioPath, QStringLiteral("--port"), QStringLiteral("0"),
                                           QStringLiteral("--json")}
                               + extra);
        if (childSetup)
            m_process.setChildProcessModifier(childSetup);
        if (!environment.isEmpty())
            m_process.setProcessEnvironment(environment);
        m_process.start();
    }
    ~Served()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
    // The listening line, or an empty object when the server did not start.
    QJsonObject started()
    {
        if (!m_process.waitForReadyRead(20000))
            return {};
        return QJsonDocument::fromJson(m_process.readLine()).object();
    }
    // started(), keeping the port; false when it did not start.
    bool start()
    {
        m_port = started().value("port").toInt();
        return m_port > 0;
    }
    QString url(const char* path) const { return QStringLiteral("http://127.0.0.1:%1%2").arg(m_port).arg(QLatin1String(path)); }
    void setPort(int port) { m_port = port; }
    int port() const { return m_port; }
    // Sends `signal` (SIGTERM by default); the summary line it prints on the way out. exitCode is -1
    // when the process did not exit by itself (killed by the signal).
    QJsonObject stop(int& exitCode, int signal = SIGTERM)
    {
        if (m_process.state() == QProcess::NotRunning) {
            qWarning("knee serve had exited before it was stopped"); // its status and stderr follow
        } else {
            ::kill(pid_t(m_process.processId()), signal);
            if (!m_process.waitForFinished(30000)) {
                qWarning("knee serve was still running 30 s after signal %d", signal);
                return {};
            }
        }
        exitCode = m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
        if (exitCode != 0) // what the server said on the way out (a sanitizer's report) belongs in the test's log
            qWarning("knee serve exited with %d; its stderr:\n%s", exitCode, m_process.readAllStandardError().constData());
        const QList<QByteArray> lines = m_process.readAllStandardOutput().trimmed().split('\n');
        return QJsonDocument::fromJson(lines.last()).object();
    }
    QProcess& process() { return m_process; }

private:
    QProcess m_process;
    int m_port = 0;
};
