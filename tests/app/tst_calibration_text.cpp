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

    // *Check the table in use* (knee::checkTable): on only with the scenario's table and profile; its line says
    // holds or not against 5 %, live against virtual time at each number of calls in flight, and a busy host.
    void checkSaysWhetherTheTableHolds()
    {
        auto point = [](int k, double live, double virt) {
            knee::TableCheckPoint p;
            p.concurrency = k;
            p.liveRps = live;
            p.virtualRps = virt;
            return p;
        };
        knee::TableCheck holds;
        holds.points = {point(1, 1010, 1000), point(2, 1960, 2000), point(4, 3090, 3000)};
        QCOMPARE(CalibrationDialog::describeCheck(holds, "large"),
                 QStringLiteral("The 'large' table in use holds here: live against virtual time at 1 / 2 / 4 calls in flight: "
                                "+1.0 % / -2.0 % / +3.0 % (within 5 %)."));
        knee::TableCheck stale; // run 34's `medium` at predict_concurrency 1, two calls in flight as calibrated
        stale.points = {point(1, 4982, 4163), point(2, 6088, 6089)};
        QCOMPARE(CalibrationDialog::describeCheck(stale, "medium"),
                 QStringLiteral("The 'medium' table in use no longer holds here: live against virtual time at 1 / 2 calls in flight: "
                                "+19.7 % / 0.0 %; at 1 in flight +19.7 %, beyond 5 %. Measure again and use the new table."));
        knee::TableCheck edge; // exactly 5 % holds
        edge.points = {point(1, 1050, 1000)};
        QVERIFY2(CalibrationDialog::describeCheck(edge, "small").startsWith("The 'small' table in use holds here: "),
                 qPrintable(CalibrationDialog::describeCheck(edge, "small")));
        edge.points = {point(1, 1051, 1000)}; // 5.1 %: beyond
        QVERIFY(CalibrationDialog::describeCheck(edge, "small").startsWith("The 'small' table in use no longer holds here: "));
        knee::TableCheck busy = holds;
        busy.hostNotice = "the host was busy through every attempt of the queue run at 2 calls in flight (host steal 0.3 %)";
        QVERIFY(CalibrationDialog::describeCheck(busy, "large").endsWith(
            "(within 5 %).\nWarning: the host was busy through every attempt of the queue run at 2 calls in flight (host steal 0.3 %)"));
        knee::TableCheck gpu; // on a GPU each point says how the device's own time per call compares with the table's
        gpu.deviceChecked = true;
        gpu.points = {point(1, 1037, 1334), point(2, 1629, 1605)}; // `large` check1, bench/fidelity/results/h100_2026-12-06_drift2/
        gpu.points[0].deviceSlowness = 0.207;
        gpu.points[1].deviceSlowness = 0.051;
        gpu.hostNotice = "the device's calls ran slower than the table's in every attempt at 1 call in flight (+20.7 %), 2 calls in flight (+5.1 %)";
        QCOMPARE(CalibrationDialog::describeCheck(gpu, "large"),
                 QStringLiteral("The 'large' table in use no longer holds here: live against virtual time at 1 / 2 calls in flight: "
                                "-22.3 % / +1.5 % (the device's own time per call against the table's: +20.7 % / +5.1 %); at 1 in flight "
                                "-22.3 %, beyond 5 %. Measure again and use the new table.\nWarning: ")
                     + QString::fromStdString(gpu.hostNotice));
        knee::TableCheck failed;
        failed.error = "the live queue run with 2 calls in flight: the live engine's calls failed: out of memory";
        QCOMPARE(CalibrationDialog::describeCheck(failed, "large"), QStringLiteral("Check failed: ") + QString::fromStdString(failed.error));
        knee::TableCheck cancelled;
        cancelled.error = "cancelled";
        QCOMPARE(CalibrationDialog::describeCheck(cancelled, "large"), QStringLiteral("Check cancelled."));

        const knee::PredictBackendInfo none; // never asked: nothing is started
        CalibrationDialog d(none);
        d.setProfile("medium");
        d.setTableInUse({}, "medium"); // the scenario has no table: nothing to check
        QVERIFY(!d.checkButton()->isEnabled());
        knee::ServiceTable table;
        table.batch = {1, 2};
        table.ms = {0.2, 0.3};
        d.setTableInUse(table, ""); // a table of no named model: which model would run?
        QVERIFY(!d.checkButton()->isEnabled());
        d.setTableInUse(table, "medium");
        QVERIFY(d.checkButton()->isEnabled());
        d.show();
        d.showCheck(stale);
        QCOMPARE(d.statusText(), CalibrationDialog::describeCheck(stale, "medium"));
        QVERIFY(!d.useButton()->isEnabled()); // a check measures no table to use
        if (const QString shots = qEnvironmentVariable("KNEE_SCREENSHOT_DIR"); !shots.isEmpty()) {
            d.grab().save(shots + "/calibration_check_stale.png");
            d.showCheck(busy);
            d.grab().save(shots + "/calibration_check_holds_busy.png");
            d.showCheck(gpu);
            d.grab().save(shots + "/calibration_check_gpu_device.png");
        }
    }
};

QTEST_MAIN(TestCalibrationText)
#include "tst_calibration_text.moc"
