// The window's twin on a real stream (issue 15), offscreen, apart from tst_twin_window so that each stays
// within its time under the sanitizers (each fit of this 8-level sweep takes seconds, ten times that under ASan).
//
// KNEE_TWIN_SCREENSHOTS=DIR saves the dialogs there as PNG, for people to look at.
#include "twin_window_test.h"

#include "session/session.h"
#include "session/twin_file.h"

#include <QPushButton>

class TestTwinWindowStream : public QObject {
    Q_OBJECT

private slots:
    // A real stream whose level 23 lies between its limit (16) and twice it (tst_cli_fit's
    // streamLevelBetweenTheLimitAndTwice, the same session): the refusal offers Fit without level 23 in the
    // window's words; clicked, the same sweep is fitted as fitTwin does with that level skipped, and the
    // notes say how far the twin misses it.
    void streamLevelOffersAFitWithoutIt()
    {
        const SessionLoad load = loadSession(QStringLiteral(KNEE_TEST_DATA "/sessions/stream_limit16_levels_11_23.json"));
        QVERIFY2(load.session, qPrintable(load.error));
        MainWindow w(truth(), "truth.yaml");
        SweepPage* page = w.sweepPage();
        page->setSweeps(load.session->sweeps);
        TwinDialog* refused = makeTwin(page);
        QVERIFY(refused);
        QVERIFY2(refused->headline().contains("level 23 lies between the stream's limit the fit found (16 sequences) and twice it"),
                 qPrintable(refused->headline()));
        QVERIFY2(refused->measureNextText().contains("fit without level 23 (Fit without level 23, in this dialog)"),
                 qPrintable(refused->measureNextText()));
        QVERIFY2(!refused->measureNextText().contains("--"), qPrintable(refused->measureNextText()));
        QVERIFY(refused->skipButton()->isVisibleTo(refused));
        QCOMPARE(refused->skipButton()->text().remove('&'), QStringLiteral("Fit without level 23"));
        QVERIFY(!refused->serialButton()->isVisibleTo(refused));
        QVERIFY(!refused->saveButton()->isEnabled());
        screenshot(refused, "twin_stream_between_limits_refusal.png");

        const SweepResult& measured = page->sweeps().back().result;
        TwinFitOptions options = twinFitOptions(measured);
        options.skipLevels = {23};
        options.crossValidate = false; // the replay compared below does not depend on it (and it takes most of the time)
        const TwinFit expected = fitTwin(measured, options);
        QVERIFY2(expected.ok(), expected.refusal.c_str());
        QSignalSpy shown(page, &SweepPage::twinShown);
        refused->skipButton()->click();
        QVERIFY(shown.wait(kFitTimeoutMs));
        TwinDialog* d = page->twinDialog();
        QVERIFY(d && d != refused);
        QVERIFY(d->saveButton()->isEnabled());
        QVERIFY(!d->skipButton()->isVisibleTo(d));
        expectChecks(d->replayTable(), expected.replay);
        QVERIFY2(d->notesText().contains("Level 23 left out: as asked; the twin gives it throughput"), qPrintable(d->notesText()));
        screenshot(d, "twin_stream_without_level_23.png");
        // (Make a twin starting afresh is held by tst_twin_window's flatSweepOffersASerialFit on a cheaper sweep,
        // for serial; the levels left out are cleared on the same path, SweepPage::makeTwin without a refit.
        // Each fit of this sweep takes about 8 s here and 17 times that under ASan on CI's 2 cores.)
    }
};

QTEST_MAIN(TestTwinWindowStream)
#include "tst_twin_window_stream.moc"
