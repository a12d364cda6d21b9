// knee: opens the workbench window, or runs a headless command (`knee simulate …`) when the first
// argument names one, so scripts and CI never need a display.
#include "cli/commands.h"

#include <QCoreApplication>
#include <QTextStream>

#ifdef KNEE_WITH_GUI
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QTimer>
#include <QElapsedTimer>

namespace {

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
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save a grab of the window and exit."),
                                        QStringLiteral("FILE.png"));
    const QCommandLineOption after(QStringLiteral("after"), QStringLiteral("Seconds to let the default run go on first."),
                                   QStringLiteral("SECONDS"), QStringLiteral("1"));
    parser.addOptions({screenshot, after});
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

    knee::ui::MainWindow window;
    QFile defaultScenario(QStringLiteral(":/scenarios/default.yaml"));
    defaultScenario.open(QIODevice::ReadOnly);
    window.loadScenarioText(QString::fromUtf8(defaultScenario.readAll()), QStringLiteral("default.yaml (built-in)"));
    window.show();
    window.simulate();

    if (parser.isSet(screenshot)) {
        const QString path = parser.value(screenshot);
        QElapsedTimer elapsed;
        elapsed.start();
        auto* poll = new QTimer(&window);
        QObject::connect(poll, &QTimer::timeout, &window, [&, poll] {
            if (elapsed.elapsed() < qint64(afterS * 1000) || window.isSimulating())
                return;
            poll->stop();
            const bool saved = window.grab().save(path);
            if (!saved)
                QTextStream(stderr) << "knee: could not write the screenshot to " << path << "\n";
            app.exit(saved ? knee::cli::kOk : knee::cli::kBadInput);
        });
        poll->start(50);
    }
    return app.exec();
}

} // namespace
#endif

int main(int argc, char** argv)
{
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
