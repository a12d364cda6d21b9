// Crash safety, end to end on the built `knee` binary (QProcess), in a scratch HOME/XDG_* so the
// user's own files are never touched. Each case SIGKILLs the app at a bad moment and then checks
// what a user would find on the next launch:
//   - killDuringSweep: killed after the sweep's first level, before it finishes;
//   - killDuringAutosave: killed inside the autosave that follows a sweep, after the new bytes are
//     written to the temporary file and before it is renamed over the old autosave
//     (test hook KNEE_TEST_STALL_SAVE_S, engine/session/session.cpp);
//   - killDuringSessionSave: `knee sweep --out` killed the same way while replacing a saved session;
//   - damagedAutosaveIsRefusedWhole: an autosave cut in half (what a non-atomic writer would leave)
//     is refused with a message when restored, and the app goes on.
// After each kill: the previously saved session and the previous autosave are byte-identical and
// load; nothing but QSaveFile's own temporary file is left beside them; the autosave is offered on
// relaunch (main.cpp writes the offer to stderr; a plain launch shows the dialog and waits; the test
// hook KNEE_TEST_AUTOSAVE_ANSWER=yes answers it and the restore must succeed).
#include "session/session.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>

using namespace knee;

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// A child `knee` whose stderr is collected as it arrives, so the test can wait for a line.
class Knee {
public:
    Knee(const QProcessEnvironment& env, const QStringList& args)
    {
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        m_process.start(QStringLiteral(KNEE_BINARY), args);
    }
    ~Knee()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    bool started() { return m_process.waitForStarted(10000); }
    // Waits until stderr holds `needle` (true), or the process ends or the time runs out (false).
    bool waitFor(const QByteArray& needle, int timeoutMs)
    {
        QElapsedTimer t;
        t.start();
        while (!m_err.contains(needle)) {
            if (m_process.state() == QProcess::NotRunning || t.elapsed() > timeoutMs) {
                m_err += m_process.readAllStandardError();
                return m_err.contains(needle);
            }
            m_process.waitForReadyRead(100);
            m_err += m_process.readAllStandardError();
        }
        return true;
    }
    // SIGKILL: no destructor, no flush, no QSaveFile cleanup runs.
    void sigkill()
    {
        ::kill(pid_t(m_process.processId()), SIGKILL);
        m_process.waitForFinished(10000);
    }
    bool finish(int timeoutMs)
    {
        const bool done = m_process.waitForFinished(timeoutMs);
        m_err += m_process.readAllStandardError();
        return done;
    }
    bool running() const { return m_process.state() == QProcess::Running; }
    int exitCode() const { return m_process.exitCode(); }
    QProcess::ExitStatus exitStatus() const { return m_process.exitStatus(); }
    const QByteArray& err() const { return m_err; }

private:
    QProcess m_process;
    QByteArray m_err;
};

} // namespace

class TestCrashSafety : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QVERIFY(m_home.isValid());
        const QString h = m_home.path();
        QVERIFY(QDir().mkpath(h + "/runtime"));
        QFile::setPermissions(h + "/runtime", QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
        m_env = QProcessEnvironment::systemEnvironment();
        for (const QString& k : m_env.keys())
            if (k.startsWith(QLatin1String("KNEE_TEST_")))
                m_env.remove(k);
        m_env.insert("HOME", h);
        m_env.insert("XDG_DATA_HOME", h + "/data");
        m_env.insert("XDG_CONFIG_HOME", h + "/config");
        m_env.insert("XDG_CACHE_HOME", h + "/cache");
        m_env.insert("XDG_RUNTIME_DIR", h + "/runtime");
        m_env.insert("KNEE_TEST_AUTOSAVE_WITH_SCREENSHOT", "1"); // the sweeps here run through --screenshot
        m_env.insert("QT_QPA_PLATFORM", "offscreen");
        // QStandardPaths::AppDataLocation for organization "knee", application "knee" (main.cpp).
        m_autosaveDir = h + "/data/knee/knee";
        m_autosave = m_autosaveDir + "/autosave.knee-session.json";
        m_saved = h + "/saved.knee-session.json";
        // A scenario whose sweep takes seconds (tiny stage times: millions of simulated requests per
        // level), so a kill after its first level lands mid-sweep. The built-in model sweeps in < 1 s.
        m_slow = h + "/slow-sweep.yaml";
        {
            QFile f(m_slow);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("name: crash safety, a sweep that takes seconds\n"
                    "deployment:\n  replicas: {min: 1, max: 1}\n  concurrency_target: 1000\n  predict_concurrency: 1\n"
                    "model:\n  preprocess: 0\n  predict: {dist: exponential, mean_ms: 0.01}\n  postprocess: 0\n"
                    "workload:\n  arrival: {kind: poisson, rate_rps: 100}\n  requests: 1000\n");
        }

        // A session the user saved: `knee sweep --out`, on a small scenario.
        {
            Knee k(m_env, {"sweep", QStringLiteral(KNEE_TEST_DATA "/scenarios/good_mm1.yaml"), "--virtual", "--levels", "1,2,4",
                           "--out", m_saved});
            QVERIFY(k.started());
            QVERIFY2(k.finish(120000), k.err().constData());
            QVERIFY2(k.exitStatus() == QProcess::NormalExit && k.exitCode() == 0, k.err().constData());
        }
        m_savedBytes = readAll(m_saved);
        QVERIFY(!m_savedBytes.isEmpty());
        QVERIFY2(loadSession(m_saved).session, qPrintable(loadSession(m_saved).error));

        // An autosave from a sweep that finished and was never saved (what the GUI leaves).
        {
            Knee k(m_env, {"--screenshot", m_home.path() + "/first.png", "--page", "sweep", "--after", "0"});
            QVERIFY(k.started());
            QVERIFY2(k.finish(300000), k.err().constData());
            QVERIFY2(k.exitStatus() == QProcess::NormalExit && k.exitCode() == 0, k.err().constData());
        }
        m_autosaveBytes = readAll(m_autosave);
        QVERIFY2(!m_autosaveBytes.isEmpty(), qPrintable("no autosave at " + m_autosave));
        QVERIFY2(loadSession(m_autosave).session, qPrintable(loadSession(m_autosave).error));
    }

    void killDuringSweep()
    {
        Knee k(m_env, {m_slow, "--screenshot", m_home.path() + "/never.png", "--page", "sweep", "--after", "0"});
        QVERIFY(k.started());
        QVERIFY2(k.waitFor("knee: sweep level 1 finished", 120000), k.err().constData());
        QVERIFY2(k.running(), "the sweep ended before the kill could happen");
        k.sigkill();
        QCOMPARE(k.exitStatus(), QProcess::CrashExit);
        QVERIFY(!QFile::exists(m_home.path() + "/never.png"));
        checkNothingDamaged();
        checkAutosaveOffered();
    }

    void killDuringAutosave()
    {
        QProcessEnvironment env = m_env;
        env.insert("KNEE_TEST_STALL_SAVE_S", "120");
        Knee k(env, {m_slow, "--screenshot", m_home.path() + "/never.png", "--page", "sweep", "--after", "0"});
        QVERIFY(k.started());
        const QByteArray stalled = "knee: test hook: " + m_autosave.toLocal8Bit() + " written, stalled";
        QVERIFY2(k.waitFor(stalled, 300000), k.err().constData());
        // The new session is complete in QSaveFile's temporary file (on Linux an unnamed O_TMPFILE
        // inode, so no name shows; elsewhere a named file beside the target); the old autosave is still
        // in place, unchanged.
        const QStringList temps = leftovers();
        QVERIFY2(temps.size() <= 1, qPrintable(temps.join(", ")));
        QCOMPARE(readAll(m_autosave), m_autosaveBytes);
        k.sigkill();
        QCOMPARE(k.exitStatus(), QProcess::CrashExit);
        checkNothingDamaged();
        // What a SIGKILL leaves beside (never instead of) the autosave: at most that temporary file.
        const QStringList after = leftovers();
        QCOMPARE(after, temps);
        qInfo("files left beside the autosave by the kill: %lld%s", qint64(after.size()),
              after.isEmpty() ? " (QSaveFile wrote to an unnamed O_TMPFILE inode)" : qPrintable(": " + after.join(", ")));
        checkAutosaveOffered();
        for (const QString& t : after)
            QFile::remove(m_autosaveDir + "/" + t);
    }

    void killDuringSessionSave()
    {
        QProcessEnvironment env = m_env;
        env.insert("KNEE_TEST_STALL_SAVE_S", "120");
        // The same sweep with other levels: different bytes would replace the saved session.
        Knee k(env, {"sweep", QStringLiteral(KNEE_TEST_DATA "/scenarios/good_mm1.yaml"), "--virtual", "--levels", "1,2", "--out", m_saved});
        QVERIFY(k.started());
        QVERIFY2(k.waitFor("knee: test hook: " + m_saved.toLocal8Bit() + " written, stalled", 120000), k.err().constData());
        k.sigkill();
        QCOMPARE(k.exitStatus(), QProcess::CrashExit);
        checkNothingDamaged();
        const QStringList temps = QDir(m_home.path()).entryList({"saved.knee-session.json*"}, QDir::Files | QDir::Hidden);
        QVERIFY2(temps.size() <= 2, qPrintable(temps.join(", "))); // the session, and at most QSaveFile's temporary file
        QVERIFY(temps.contains("saved.knee-session.json"));
        qInfo("files left beside the saved session by the kill: %lld", qint64(temps.size() - 1));
        for (const QString& t : temps)
            if (t != QLatin1String("saved.knee-session.json"))
                QFile::remove(m_home.path() + "/" + t);
    }

    void damagedAutosaveIsRefusedWhole()
    {
        QFile f(m_autosave);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(m_autosaveBytes.left(m_autosaveBytes.size() / 2));
        f.close();
        QProcessEnvironment env = m_env;
        env.insert("KNEE_TEST_AUTOSAVE_ANSWER", "yes");
        Knee k(env, {"--screenshot", m_home.path() + "/damaged.png", "--after", "0"});
        QVERIFY(k.started());
        QVERIFY2(k.finish(120000), k.err().constData());
        QVERIFY2(k.exitStatus() == QProcess::NormalExit && k.exitCode() == 0, k.err().constData());
        QVERIFY2(k.err().contains("knee: offering to restore"), k.err().constData());
        QVERIFY2(k.err().contains("damaged") && !k.err().contains("restored the unsaved sweep"), k.err().constData());
        QVERIFY(QFile::exists(m_home.path() + "/damaged.png")); // the app went on
        QCOMPARE(readAll(m_saved), m_savedBytes);
        // Put the good autosave back for any later case.
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(m_autosaveBytes);
    }

private:
    // QSaveFile's temporary files beside the autosave (anything but the autosave itself).
    QStringList leftovers() const
    {
        QStringList names = QDir(m_autosaveDir).entryList(QDir::Files | QDir::Hidden);
        names.removeAll(QFileInfo(m_autosave).fileName());
        return names;
    }

    void checkNothingDamaged()
    {
        QCOMPARE(readAll(m_saved), m_savedBytes);
        QCOMPARE(readAll(m_autosave), m_autosaveBytes);
        const SessionLoad saved = loadSession(m_saved);
        QVERIFY2(saved.session, qPrintable(saved.error));
        const SessionLoad autosave = loadSession(m_autosave);
        QVERIFY2(autosave.session, qPrintable(autosave.error));
        QVERIFY(!autosave.session->sweeps.empty());
    }

    // A plain launch offers the autosave and waits on the dialog; answered yes, it restores it.
    void checkAutosaveOffered()
    {
        {
            Knee k(m_env, {});
            QVERIFY(k.started());
            QVERIFY2(k.waitFor("knee: offering to restore the unsaved sweep in " + m_autosave.toLocal8Bit(), 120000), k.err().constData());
            QTest::qWait(500);
            QVERIFY2(k.running(), "the offer did not wait for an answer");
            k.sigkill();
        }
        checkNothingDamaged(); // a kill while the offer is open changes nothing either
        {
            QProcessEnvironment env = m_env;
            env.insert("KNEE_TEST_AUTOSAVE_ANSWER", "yes");
            Knee k(env, {"--screenshot", m_home.path() + "/restored.png", "--after", "0"});
            QVERIFY(k.started());
            QVERIFY2(k.finish(120000), k.err().constData());
            QVERIFY2(k.exitStatus() == QProcess::NormalExit && k.exitCode() == 0, k.err().constData());
            QVERIFY2(k.err().contains("knee: restored the unsaved sweep"), k.err().constData());
        }
    }

    QTemporaryDir m_home;
    QProcessEnvironment m_env;
    QString m_autosaveDir, m_autosave, m_saved, m_slow;
    QByteArray m_savedBytes, m_autosaveBytes;
};

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "tst_crash_safety.moc"
