// GPU telemetry without a GPU: NVML absent (a notice, no crash), a library that is not NVML, an NVML whose
// init fails, and a stand-in NVML (fake_nvml.cpp) whose values the test knows, sampled on the thread and
// summarised per GPU, with a field the board does not support left empty.
#include "telemetry/gpu_telemetry.h"

#include <QTest>

using namespace knee::telemetry;

class TestGpuTelemetry : public QObject {
    Q_OBJECT

    static void waitForSamples(const GpuSampler& s, int n)
    {
        // Waits for samples to arrive (an event), not for a duration to pass.
        QTRY_VERIFY_WITH_TIMEOUT(!s.summary().empty() && s.summary().front().samples >= n, 30000);
    }

private Q_SLOTS:
    void cleanup()
    {
        qunsetenv("FAKE_NVML_INIT_ERROR");
        qunsetenv("FAKE_NVML_NO_POWER");
        qunsetenv("FAKE_NVML_GPUS");
    }

    void absentLibraryIsANotice()
    {
        GpuSampler sampler(100, "/nonexistent/libnvidia-ml.so.1");
        QVERIFY(!sampler.available());
        QVERIFY2(sampler.notice().find("cannot load /nonexistent/libnvidia-ml.so.1") != std::string::npos, sampler.notice().c_str());
        sampler.start(); // nothing to sample: no thread, no crash
        sampler.stop();
        QVERIFY(sampler.summary().empty());
        QVERIFY(sampler.latest().empty());
    }

    void defaultLibraryFollowsTheEnvironment()
    {
        qputenv("KNEE_NVML_LIBRARY", "/elsewhere/libnvidia-ml.so");
        QCOMPARE(defaultNvmlLibrary(), std::string("/elsewhere/libnvidia-ml.so"));
        qunsetenv("KNEE_NVML_LIBRARY");
        QCOMPARE(defaultNvmlLibrary(), std::string("libnvidia-ml.so.1"));
    }

    void aLibraryThatIsNotNvml()
    {
        const Nvml::Loaded loaded = Nvml::load("libz.so.1"); // a real library, loaded, without NVML's entry points
        QVERIFY(!loaded.nvml);
        QVERIFY2(loaded.notice.find("is not NVML") != std::string::npos, loaded.notice.c_str());
    }

    void initFailureIsANotice()
    {
        qputenv("FAKE_NVML_INIT_ERROR", "9");
        const Nvml::Loaded loaded = Nvml::load(FAKE_NVML_PATH);
        QVERIFY(!loaded.nvml);
        QVERIFY2(loaded.notice.find("Driver Not Loaded (NVML error 9)") != std::string::npos, loaded.notice.c_str());
    }

    void samplesEveryGpu()
    {
        GpuSampler sampler(50, FAKE_NVML_PATH);
        QVERIFY2(sampler.available(), sampler.notice().c_str());
        QCOMPARE(sampler.gpuCount(), 2);
        sampler.start();
        waitForSamples(sampler, 3);
        sampler.stop();
        const std::vector<GpuSummary> summary = sampler.summary();
        QCOMPARE(summary.size(), std::size_t(2));
        for (const GpuSummary& g : summary) {
            const double i = g.index;
            QCOMPARE(g.name, "Fake GPU " + std::to_string(g.index));
            QVERIFY(g.samples >= 3);
            QCOMPARE(g.utilizationPct.count, g.samples);
            QCOMPARE(g.utilizationPct.mean(), 37 + 10 * i);
            QCOMPARE(g.memoryUsedBytes.max, (i + 1) * 1073741824.0);
            QCOMPARE(g.memoryTotalBytes, 80 * 1073741824.0);
            QCOMPARE(g.powerW.mean(), 123.456 + i);
            QCOMPARE(g.smClockMHz.last, 1980 - 100 * i);
        }
        const std::vector<GpuSample> latest = sampler.latest();
        QCOMPARE(latest.size(), std::size_t(2));
        QCOMPARE(*latest[1].utilizationPct, 47.0);
        const std::int64_t before = sampler.summary().front().samples; // stop() stops sampling
        QTest::qWait(200);
        QCOMPARE(sampler.summary().front().samples, before);
    }

    void unsupportedFieldStaysEmpty()
    {
        qputenv("FAKE_NVML_NO_POWER", "1");
        qputenv("FAKE_NVML_GPUS", "1");
        GpuSampler sampler(50, FAKE_NVML_PATH);
        QCOMPARE(sampler.gpuCount(), 1);
        sampler.start();
        waitForSamples(sampler, 2);
        sampler.stop();
        const GpuSummary g = sampler.summary().front();
        QCOMPARE(g.powerW.count, std::int64_t(0)); // not 0 W: no reading at all
        QVERIFY(!sampler.latest().front().powerW);
        QCOMPARE(g.utilizationPct.count, g.samples);
    }

    void periodIsBounded_data()
    {
        QTest::addColumn<int>("asked");
        QTest::addColumn<int>("used");
        QTest::newRow("too fast") << 1 << GpuSampler::kMinPeriodMs;
        QTest::newRow("negative") << -5 << GpuSampler::kMinPeriodMs;
        QTest::newRow("in range") << 250 << 250;
        QTest::newRow("too slow") << 10'000'000 << GpuSampler::kMaxPeriodMs;
    }
    void periodIsBounded()
    {
        QFETCH(int, asked);
        QFETCH(int, used);
        QCOMPARE(GpuSampler(asked, FAKE_NVML_PATH).periodMs(), used);
    }
};

QTEST_GUILESS_MAIN(TestGpuTelemetry)
#include "tst_gpu_telemetry.moc"
