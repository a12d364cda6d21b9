// knee: opens the workbench window, or runs a headless command (`knee simulate …`) when the first
// argument names one, so scripts and CI never need a display.
#include "cli/commands.h"
#include "predict/work_queues.h"

#include <QCoreApplication>
#include <QTextStream>

#include <csignal>

#ifdef KNEE_WITH_GUI
#include "io/scenario_reader.h"
#include "session/output_file.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"
#include "ui/theme.h"

#include <QApplication>
#include <QBuffer>
#include <QFileInfo>
#include <QMessageBox>
#include <QTabWidget>
#include <QCommandLineParser>
#include <QFile>
#include <QTimer>

namespace {

// The grab through the one writer of user files (session/output_file.h): whole or not at all. Empty = saved.
QString saveGrab(QWidget& window, const QString& path)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    const QByteArray format = QFileInfo(path).suffix().toLower().toLatin1();
    if (!window.grab().save(&buffer, format.isEmpty() ? "PNG" : format.constData()))
        return QStringLiteral("cannot write %1: no image format for '.%2'").arg(path, QString::fromLatin1(format));
    return knee::writeOutputFile(path, bytes);
}

bool displayAvailable()
{
    // Without this check Qt aborts with a core dump when no display is reachable.
    return !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") || !qEnvironmentVariableIsEmpty("DISPLAY")
        || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
}

int runGui(int argc, char** argv)
{
    if (!displayAvailable()) {
        QTextStream(stderr) << "knee: no display (DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM are unset).\n"
                               "Run a headless command instead (knee --help), or set QT_QPA_PLATFORM=offscreen.\n";
        return knee::cli::kBadInput;
    }
    QApplication app(argc, argv);
    knee::ui::applyTheme(knee::ui::savedTheme());
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save a grab of the window and exit."),
                                        QStringLiteral("FILE.png"));
    const QCommandLineOption after(QStringLiteral("after"), QStringLiteral("Seconds to let the default run go on first."),
                                   QStringLiteral("SECONDS"), QStringLiteral("1"));
    const QCommandLineOption page(QStringLiteral("page"), QStringLiteral("With --screenshot: live (default) or sweep (runs a sweep first)."),
                                  QStringLiteral("PAGE"), QStringLiteral("live"));
    const QCommandLineOption theme(QStringLiteral("theme"), QStringLiteral("light, dark or system (this launch only; View ▸ Theme is remembered)."),
                                   QStringLiteral("THEME"));
    const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size for this launch, e.g. 1024x700."), QStringLiteral("WxH"));
    parser.addOptions({screenshot, after, page, theme, size});
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("Scenario to serve (default: the built-in model)."),
                                 QStringLiteral("[SCENARIO.yaml]"));
    if (!parser.parse(app.arguments())) {
        QTextStream(stderr) << "knee: " << parser.errorText() << "\n";
        return knee::cli::kBadInput;
    }
    bool afterOk = false;
    const double afterS = parser.value(after).toDouble(&afterOk);
    if (!afterOk || afterS < 0 || afterS > 3600) {
        QTextStream(stderr) << "knee: --after expects seconds between 0 and 3600, got '" << parser.value(after) << "'\n";
        return knee::cli::kBadInput;
    }

    if (parser.isSet(theme)) {
        const QString t = parser.value(theme);
        if (t != QLatin1String("light") && t != QLatin1String("dark") && t != QLatin1String("system")) {
            QTextStream(stderr) << "knee: --theme expects light, dark or system, got '" << t << "'\n";
            return knee::cli::kBadInput;
        }
        knee::ui::applyTheme(t == QLatin1String("dark") ? knee::ui::Theme::Dark : t == QLatin1String("light") ? knee::ui::Theme::Light : knee::ui::Theme::System);
    }
    QSize windowSize;
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split(QLatin1Char('x'));
        bool okW = false, okH = false;
        windowSize = wh.size() == 2 ? QSize(wh[0].toInt(&okW), wh[1].toInt(&okH)) : QSize();
        if (!okW || !okH || windowSize.width() < 320 || windowSize.height() < 240 || windowSize.width() > 8192 || windowSize.height() > 8192) {
            QTextStream(stderr) << "knee: --size expects WIDTHxHEIGHT between 320x240 and 8192x8192, got '" << parser.value(size) << "'\n";
            return knee::cli::kBadInput;
        }
    }
    if (parser.isSet(screenshot)) { // before the run, not after it
        if (const QString problem = knee::checkOutputFile(parser.value(screenshot)); !problem.isEmpty()) {
            QTextStream(stderr) << "knee: --screenshot: " << problem << "\n";
            return knee::cli::kBadInput;
        }
    }
    knee::ScenarioReadResult read;
    QString source = QStringLiteral("the built-in default model");
    if (!parser.positionalArguments().isEmpty()) {
        source = parser.positionalArguments().first();
        read = knee::readScenarioFile(source.toStdString());
        if (!read.ok()) {
            for (const auto& e : read.errors)
                QTextStream(stderr) << QString::fromStdString(e.toString()) << "\n";
            return knee::cli::kBadInput;
        }
    } else {
        QFile defaultFile(QStringLiteral(":/scenarios/default.yaml"));
        defaultFile.open(QIODevice::ReadOnly);
        read = knee::readScenarioText(defaultFile.readAll().toStdString(), "default.yaml");
        if (!read.ok()) { // a broken built-in is a packaging bug: say so plainly
            QTextStream(stderr) << "knee: the built-in scenario does not read: "
                                << QString::fromStdString(read.errors.front().toString()) << "\n";
            return knee::cli::kFailure;
        }
    }
    knee::ui::MainWindow window(*read.scenario, source);
    // A grab leaves nothing behind: no autosave for the next launch to offer. Test hook
    // (tests/app/tst_crash_safety.cpp, which drives sweeps through --screenshot):
    // KNEE_TEST_AUTOSAVE_WITH_SCREENSHOT=1 keeps the autosave.
    window.setAutosaveEnabled(!parser.isSet(screenshot) || qEnvironmentVariable("KNEE_TEST_AUTOSAVE_WITH_SCREENSHOT") == QLatin1String("1"));
    if (windowSize.isValid())
        window.resize(windowSize);
    window.show();
    // An unsaved sweep from a session that ended without saving (a crash, a kill) is offered back.
    // The offer and its outcome are also written to stderr, so a run without a display can see them.
    // Test hook (tests/app/tst_crash_safety.cpp): KNEE_TEST_AUTOSAVE_ANSWER=yes|no answers the offer
    // without showing the dialog, even with --screenshot (which otherwise makes no offer).
    const QString autosaveAnswer = qEnvironmentVariable("KNEE_TEST_AUTOSAVE_ANSWER");
    if (window.hasAutosave() && (!parser.isSet(screenshot) || !autosaveAnswer.isEmpty())) {
        QTextStream(stderr) << "knee: offering to restore the unsaved sweep in " << knee::ui::MainWindow::autosavePath() << "\n";
        const bool restore = !autosaveAnswer.isEmpty()
            ? autosaveAnswer == QLatin1String("yes")
            : QMessageBox::question(&window, QObject::tr("Recover unsaved sweep"),
                                    QObject::tr("knee ended last time with a sweep that was not saved. Restore it?"))
                == QMessageBox::Yes;
        if (restore) {
            const QString e = window.restoreAutosave();
            QTextStream(stderr) << "knee: " << (e.isEmpty() ? QStringLiteral("restored the unsaved sweep") : e) << "\n";
            if (!e.isEmpty() && autosaveAnswer.isEmpty())
                QMessageBox::warning(&window, QObject::tr("Recover unsaved sweep"), e);
        }
    }

    if (parser.value(page) != QLatin1String("live") && parser.value(page) != QLatin1String("sweep")) {
        QTextStream(stderr) << "knee: --page expects live or sweep, got '" << parser.value(page) << "'\n";
        return knee::cli::kBadInput;
    }
    if (parser.isSet(screenshot) && parser.value(page) == QLatin1String("sweep")) {
        const QString path = parser.value(screenshot);
        // `path` by value: these run after this block has ended (ASan caught the dangling reference).
        QObject::connect(window.sweepPage(), &knee::ui::SweepPage::sweepFinished, &window, [&, path] {
            QTimer::singleShot(int(afterS * 1000), &window, [&, path] {
                const QString e = saveGrab(window, path);
                if (!e.isEmpty())
                    QTextStream(stderr) << "knee: --screenshot: " << e << "\n";
                app.exit(e.isEmpty() ? knee::cli::kOk : knee::cli::kFailure);
            });
        });
        // Progress on stderr: a headless caller (tests/app/tst_crash_safety.cpp) sees the sweep going on.
        QObject::connect(window.sweepPage(), &knee::ui::SweepPage::levelFinished, &window,
                         [](const QString& level) { QTextStream(stderr) << "knee: sweep level " << level << " finished\n"; });
        // The pages sit under the twin banner, not as the central widget itself.
        if (auto* tabs = window.findChild<QTabWidget*>(QStringLiteral("pages")))
            tabs->setCurrentWidget(window.sweepPage());
        window.sweepPage()->run();
    } else if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        QTimer::singleShot(int(afterS * 1000), &window, [&, path] {
            // One more refresh so the grab shows the state at this moment, then save and leave.
            QObject::connect(&window, &knee::ui::MainWindow::refreshed, &window, [&, path] {
                const QString e = saveGrab(window, path);
                if (!e.isEmpty())
                    QTextStream(stderr) << "knee: --screenshot: " << e << "\n";
                app.exit(e.isEmpty() ? knee::cli::kOk : knee::cli::kFailure);
            });
        });
    }
    return app.exec();
}

} // namespace
#endif

int main(int argc, char** argv)
{
    // A file size limit (ulimit -f) fails the write with EFBIG, which the writer reports like a full
    // disk; by default SIGXFSZ would kill the process instead, with a core dump and no message.
    std::signal(SIGXFSZ, SIG_IGN);
    knee::predict::askForDeviceWorkQueues(); // before any thread starts (factory.h)
    QCoreApplication::setOrganizationName(QStringLiteral("knee"));
    QCoreApplication::setApplicationName(QStringLiteral("knee"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KNEE_VERSION));

    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << QString::fromLocal8Bit(argv[i]);
    if (knee::cli::isHeadless(arguments)) {
        QCoreApplication app(argc, argv);
        return knee::cli::run(app.arguments());
    }
#ifdef KNEE_WITH_GUI
    return runGui(argc, argv);
#else
    QTextStream(stderr) << "knee: built without the GUI; see knee --help for the headless commands\n";
    return knee::cli::kBadInput;
#endif
}
