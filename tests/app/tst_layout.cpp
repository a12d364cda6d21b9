// Issue 16's layout: at 1024×700 and 1920×1080, light and dark, on the live page and on the sweep page
// with a sweep shown, no visible widget is smaller than its minimum size hint (nothing cut off, no
// "Que…" legend, no clipped value); the window shrinks below 736 px; in the dark theme the sweep chart
// is dark too and a disabled field looks disabled.
#include "ui_wait.h"
#include "ui/live_charts.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"
#include "ui/theme.h"

#include <QAbstractScrollArea>
#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QFile>
#include <QLineEdit>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QToolButton>
#include <QTest>

using namespace knee;
using namespace knee::ui;

namespace {
Scenario light()
{
    Scenario s;
    s.name = "layout";
    s.deployment.concurrencyTarget = 4;
    s.deployment.predictConcurrency = 2;
    s.deployment.maxReplicas = 8;
    s.model.predict = Distribution::constant(20);
    s.workload.arrival = ArrivalConfig::poisson(50);
    return s;
}

// Widgets drawn smaller than they need, with where they are.
QStringList squeezed(QWidget* root)
{
    // The window refreshes 30 times a second, and a label whose text grew asks for a relayout by a posted
    // event: run those first (no timer can fire in between), or the label is measured at its old size
    // (CI under ASan: the status text 380 px wide for 387 px of new text).
    for (int i = 0; i < 3; ++i)
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
    QStringList out;
    for (QWidget* w : root->findChildren<QWidget*>()) {
        if (!w->isVisible() || w->isWindow() || w->parentWidget() == nullptr)
            continue;
        if (qobject_cast<QAbstractScrollArea*>(w->parentWidget())) // a scroll area's viewport and bars size themselves
            continue;
        if (w->objectName().startsWith(QLatin1String("qt_"))) // Qt's own parts (a spin box's field, a dock's title buttons)
            continue;
        const QSize min = w->minimumSizeHint();
        if (!min.isValid())
            continue;
        // A widget with a height-for-width (wrapped labels) needs that height at its width, not its hint's.
        const int needH = w->hasHeightForWidth() ? std::min(min.height(), w->heightForWidth(w->width())) : min.height();
        if (w->width() + 1 < min.width() || w->height() + 1 < needH) {
            QString path;
            for (QObject* o = w; o && o != root; o = o->parent())
                path.prepend(QStringLiteral("/%1(%2)").arg(QString::fromLatin1(o->metaObject()->className()), o->objectName()));
            out << QStringLiteral("%1: %2x%3 < %4x%5").arg(path).arg(w->width()).arg(w->height()).arg(min.width()).arg(needH);
        }
    }
    // A column that scrolls only up and down cuts off on the right what is wider than its viewport.
    for (QScrollArea* a : root->findChildren<QScrollArea*>()) {
        if (!a->isVisible() || !a->widget() || a->horizontalScrollBarPolicy() != Qt::ScrollBarAlwaysOff)
            continue;
        if (a->widget()->width() > a->viewport()->width() + 1)
            out << QStringLiteral("%1: its content %2 px wide in a viewport of %3 px (cut off on the right)")
                       .arg(a->objectName())
                       .arg(a->widget()->width())
                       .arg(a->viewport()->width());
    }
    return out;
}
} // namespace

class TestLayout : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        QFile::remove(MainWindow::autosavePath());
    }
    void cleanup() { applyTheme(Theme::Light); }

    void nothingSqueezed_data()
    {
        QTest::addColumn<QSize>("size");
        QTest::addColumn<bool>("dark");
        QTest::newRow("1024x700 light") << QSize(1024, 700) << false;
        QTest::newRow("1024x700 dark") << QSize(1024, 700) << true;
        QTest::newRow("1920x1080 light") << QSize(1920, 1080) << false;
        QTest::newRow("1920x1080 dark") << QSize(1920, 1080) << true;
    }
    void nothingSqueezed()
    {
        QFETCH(QSize, size);
        QFETCH(bool, dark);
        applyTheme(dark ? Theme::Dark : Theme::Light);
        MainWindow w(light(), "layout");
        w.resize(size);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTRY_VERIFY_WITH_TIMEOUT(w.charts()->pointCount() >= 1, knee::test::kEventTimeoutMs);
        QVERIFY2(w.size() == size, qPrintable(QString("the window is %1x%2; its minimum %3x%4").arg(w.width()).arg(w.height())
                                                  .arg(w.minimumSizeHint().width()).arg(w.minimumSizeHint().height())));
        QStringList bad = squeezed(&w);
        QVERIFY2(bad.isEmpty(), qPrintable("live page:\n" + bad.join('\n')));

        auto* tabs = w.findChild<QTabWidget*>("pages");
        tabs->setCurrentIndex(1);
        w.sweepPage()->levels()->setText("1, 2, 4, 8");
        QSignalSpy done(w.sweepPage(), &SweepPage::sweepFinished);
        w.sweepPage()->run();
        QVERIFY(done.wait(knee::test::kEventTimeoutMs));
        QTest::qWait(50);
        bad = squeezed(&w);
        QVERIFY2(bad.isEmpty(), qPrintable("sweep page:\n" + bad.join('\n')));
        w.sweepPage()->formToggle()->click(); // the form open again
        QTest::qWait(50);
        bad = squeezed(&w);
        QVERIFY2(bad.isEmpty(), qPrintable("sweep page, form open:\n" + bad.join('\n')));

        const QColor chart = w.sweepPage()->chartView()->chart()->backgroundBrush().color();
        QCOMPARE(chart, w.sweepPage()->palette().color(QPalette::Base)); // dark in the dark theme, light in light
        QCOMPARE(chart.lightness() < 100, dark);
    }

    void windowShrinks()
    {
        MainWindow w(light(), "layout");
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.resize(1024, 600);
        QTRY_COMPARE(w.height(), 600);
        QVERIFY2(w.minimumSizeHint().height() <= 600, qPrintable(QString::number(w.minimumSizeHint().height())));
    }

    void darkDisabledFieldsLookDisabled()
    {
        applyTheme(Theme::Dark);
        const QPalette p = QApplication::palette();
        QVERIFY(p.color(QPalette::Disabled, QPalette::Base) != p.color(QPalette::Active, QPalette::Base));
        QVERIFY(p.color(QPalette::Disabled, QPalette::Text).lightness() < p.color(QPalette::Active, QPalette::Text).lightness() - 60);
    }
};

QTEST_MAIN(TestLayout)
#include "tst_layout.moc"
