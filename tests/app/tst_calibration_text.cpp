// What Model ▸ Calibrate says when it finishes (CalibrationDialog::describe). Compiled without Qt's keyword
// macros: the calibration's result includes the Qt-free predict headers, whose ReplicaConfig has `slots`.
#include "live/backend_executor.h"
#include "live/calibration_run.h"
#include "ui/calibration_dialog.h"

#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

using namespace knee::ui;

class TestCalibrationText : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // The dialog's result line: the device, the solo times, the live engine's cost (and its thread's), and the host's warning
    // (a calibration whose every live attempt the host disturbed must not read as a clean success).
    void calibrationResultSaysWhenTheHostWasBusy()
    {
        knee::CalibrationResult r;
        r.deviceName = "NVIDIA H200";
        r.table.batch = {1, 2};
        r.table.ms = {0.544, 0.527};
        r.table.overheadMs = 0.1;
        const QString clean = CalibrationDialog::describe(r);
        QCOMPARE(clean, QStringLiteral("Measured on NVIDIA H200: batch 1: 0.544 ms, batch 2: 0.527 ms; the live engine's own cost 0.100 ms "
                                       "per call. Use it to time predict from this table."));
        r.hostNotice = "the host was busy through every attempt of the queue run (steal 3.1 %)";
        const QString busy = CalibrationDialog::describe(r);
        QVERIFY(busy.startsWith(clean + "\n"));
        QVERIFY2(busy.endsWith("Warning: the host was busy through every attempt of the queue run (steal 3.1 %)"), qPrintable(busy));
        // The engine thread's time per call, when it was measured.
        r.table.engineThreadMs = 0.0232;
        QVERIFY2(CalibrationDialog::describe(r).startsWith("Measured on NVIDIA H200: batch 1: 0.544 ms, batch 2: 0.527 ms; the live engine's own "
                                                           "cost 0.100 ms per call, its one thread busy 0.023 ms per call. Use it"),
                 qPrintable(CalibrationDialog::describe(r)));
        knee::CalibrationResult threadOnly = r; // no overhead measured beside it: the thread still has its subject
        threadOnly.table.overheadMs = 0;
        QVERIFY2(CalibrationDialog::describe(threadOnly).contains("batch 2: 0.527 ms; the live engine's thread busy 0.023 ms per call. Use it"),
                 qPrintable(CalibrationDialog::describe(threadOnly)));

        // The idle wake-up's spread, when the calibration measured it: its p95 from the gap it applies from.
        knee::CalibrationResult jitter = r;
        jitter.table.idleGapMs = {0.01, 0.1, 2};
        jitter.table.idleExtraMs = {0, 0.03, 0.18};
        jitter.table.idleJitterMs = {-0.08, -0.06, -0.05, -0.02, -0.01, 0.007, 0.038, 0.115, 0.23};
        jitter.table.idleJitterFromMs = 0.1;
        QVERIFY2(CalibrationDialog::describe(jitter).contains("its one thread busy 0.023 ms per call; after an idle gap of 0.1 ms or more a call ends "
                                                              "up to 0.115 ms later than its mean (p95). Use it"),
                 qPrintable(CalibrationDialog::describe(jitter)));

        // The engine thread's wake-up for timed sends, when the open-loop run measured it: median and p95.
        knee::CalibrationResult wake = r;
        wake.table.engineThreadWakeMs = {0.0031, 0.0042, 0.0051, 0.0068, 0.0094, 0.0151, 0.0243, 0.0285, 0.0403};
        QVERIFY2(CalibrationDialog::describe(wake).contains("its one thread busy 0.023 ms per call; an open-loop request waits 0.009 ms (median) "
                                                            "to 0.029 ms (p95) for the engine's thread to wake. Use it"),
                 qPrintable(CalibrationDialog::describe(wake)));

        // The costs with more calls in flight, when they were measured (knee calibrate's queue runs at each k).
        knee::CalibrationResult byK = r;
        byK.table.concurrency = {2, 4, 8};
        byK.table.msShared = {{0.6, 0.6}, {0.9, 0.9}, {1.7, 1.7}};
        byK.table.overheadSharedMs = {0.0175, 0, 0};
        byK.table.engineThreadSharedMs = {0.0382, 0.0378, 0.0325};
        QVERIFY2(CalibrationDialog::describe(byK).contains("the live engine's own cost 0.100 ms per call, its one thread busy 0.023 ms per call; "
                                                           "with 2 / 4 / 8 calls in flight, cost 0.018 / 0.000 / 0.000 ms and thread 0.038 / 0.038 / 0.033 ms per call. Use it"),
                 qPrintable(CalibrationDialog::describe(byK)));

        // The dialog shows it, and the table can still be used (the user decides).
        const knee::PredictBackendInfo none; // never asked: nothing is started
        CalibrationDialog d(none);
        d.show();
        QSignalSpy finished(&d, &CalibrationDialog::finished);
        d.showResult(r, false);
        QCOMPARE(d.statusText(), CalibrationDialog::describe(r));
        QVERIFY(d.statusText().contains("Warning: "));
        QCOMPARE(finished.first().first().toBool(), true);
        QVERIFY(d.useButton()->isEnabled());
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            d.grab().save(shots + "/calibration_host_busy.png");
            d.showResult(jitter, false);
            d.grab().save(shots + "/calibration_idle_jitter.png");
            d.showResult(byK, false);
            d.grab().save(shots + "/calibration_costs_by_concurrency.png");
            d.showResult(wake, false);
            d.grab().save(shots + "/calibration_thread_wake.png");
            d.showResult(r, false);
        }
        d.showResult(r, true);
        QCOMPARE(d.statusText(), QStringLiteral("Cancelled: nothing measured is used."));
        QVERIFY(!d.useButton()->isEnabled());
    }
};

QTEST_MAIN(TestCalibrationText)
#include "tst_calibration_text.moc"
