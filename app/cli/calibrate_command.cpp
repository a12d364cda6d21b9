#include "calibrate_command.h"

#include "commands.h"

#include "predict/backend.h"
#include "predict/factory.h"
#include "predict/model.h"
#include "session/output_file.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <vector>

namespace knee::cli {

int runCalibrate(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Measure the predict stage's time per call against batch size and write the "
                                                    "model.predict_table that virtual-time runs use."));
    parser.addHelpOption();
    const QCommandLineOption profileOpt(QStringLiteral("profile"), QStringLiteral("Model profile: tiny, small, medium, large, xl (default small)."),
                                        QStringLiteral("NAME"), QStringLiteral("small"));
    const QCommandLineOption backendOpt(QStringLiteral("backend"), QStringLiteral("auto (default: the GPU if there is one), cpu or gpu."),
                                        QStringLiteral("KIND"), QStringLiteral("auto"));
    const QCommandLineOption batchesOpt(QStringLiteral("batches"), QStringLiteral("Batch sizes (default 1,2,4,...,64)."), QStringLiteral("LIST"),
                                        QStringLiteral("1,2,4,8,16,32,64"));
    const QCommandLineOption repeatsOpt(QStringLiteral("repeats"), QStringLiteral("Timed calls per batch size; the median is kept (default 20)."),
                                        QStringLiteral("N"), QStringLiteral("20"));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the predict_table (YAML) here."), QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    parser.addOptions({profileOpt, backendOpt, batchesOpt, repeatsOpt, outOpt, json});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const auto profile = predict::findProfile(parser.value(profileOpt).toStdString());
    if (!profile) {
        err << "knee calibrate: unknown profile '" << parser.value(profileOpt) << "'; expected tiny, small, medium, large or xl\n";
        return kBadInput;
    }
    predict::FactoryOptions factory;
    const QString kind = parser.value(backendOpt);
    if (kind == QLatin1String("cpu"))
        factory.prefer = predict::Preference::Cpu;
    else if (kind == QLatin1String("gpu"))
        factory.prefer = predict::Preference::Cuda;
    else if (kind != QLatin1String("auto")) {
        err << "knee calibrate: --backend expects auto, cpu or gpu, got '" << kind << "'\n";
        return kBadInput;
    }
    std::vector<int> batches;
    for (const QString& part : parser.value(batchesOpt).split(QLatin1Char(','))) {
        bool ok = false;
        const int v = part.trimmed().toInt(&ok);
        if (!ok || v < 1 || v > 4096 || (!batches.empty() && v <= batches.back())) {
            err << "knee calibrate: --batches expects increasing whole numbers from 1 to 4096, got '" << part << "'\n";
            return kBadInput;
        }
        batches.push_back(v);
    }
    bool ok = false;
    const int repeats = parser.value(repeatsOpt).toInt(&ok);
    if (!ok || repeats < 1 || repeats > 10'000) {
        err << "knee calibrate: --repeats expects a whole number from 1 to 10000\n";
        return kBadInput;
    }
    if (parser.isSet(outOpt)) { // before the measuring, not after it
        if (const QString problem = checkOutputFile(parser.value(outOpt)); !problem.isEmpty()) {
            err << "knee calibrate: --out: " << problem << "\n";
            return kBadInput;
        }
    }

    predict::BackendChoice choice = predict::makeBackend(factory);
    if (kind == QLatin1String("gpu") && !choice.gpu) {
        err << "knee calibrate: no GPU backend: " << QString::fromStdString(choice.notice) << "\n";
        return kBadInput;
    }
    if (!parser.isSet(json))
        err << "knee calibrate: " << QString::fromStdString(choice.notice) << "\n";
    std::shared_ptr<const predict::Model> model;
    try {
        model = predict::Model::generate(*profile);
    } catch (const std::exception& e) {
        err << "knee calibrate: cannot build the " << QString::fromStdString(profile->name) << " model: " << e.what() << "\n";
        return kFailure;
    }
    predict::ReplicaConfig config;
    config.maxBatch = batches.back();
    config.warmBatches = batches;
    predict::CreatedReplica created = choice.backend->createReplica(model, config);
    if (!created.status.ok()) {
        err << "knee calibrate: " << QString::fromStdString(created.status.error) << "\n";
        return kFailure;
    }
    predict::Replica& replica = *created.replica;
    std::vector<predict::Bf16> input(std::size_t(batches.back()) * std::size_t(model->hidden())),
        output(std::size_t(batches.back()) * std::size_t(model->hidden()));
    predict::fillUniform(input.data(), input.size(), 7); // random, never zeros: zeros can run faster than real data

    QJsonArray batchJson, msJson, deviceJson;
    std::vector<double> table;
    auto median = [](std::vector<double> v) {
        std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
        return v[v.size() / 2];
    };
    for (int b : batches) {
        std::vector<double> times, deviceTimes;
        for (int i = 0; i < repeats + 2; ++i) { // two warm-up calls left out
            const predict::Completion c = predict::runAndWait(replica, 0, b, input.data(), output.data());
            if (!c.status.ok()) {
                err << "knee calibrate: batch " << b << ": " << QString::fromStdString(c.status.error) << "\n";
                return kFailure;
            }
            if (i >= 2) {
                // What a predict call costs the engine: submit to completion on the host, so the launch,
                // the copies and the wait for the device are in it (on the H200, deviceMs alone made
                // virtual sweeps 1.4-2.8x too optimistic against live ones; BENCHMARKS.md).
                times.push_back(c.wallMs);
                deviceTimes.push_back(c.deviceMs);
            }
        }
        table.push_back(median(times));
        batchJson.append(b);
        msJson.append(table.back());
        deviceJson.append(median(deviceTimes));
    }
    const predict::ReplicaInfo& info = replica.info();
    const QString source = QStringLiteral("knee calibrate: %1 (H=%2, L=%3) on %4, %5, median host time per call of %6")
                               .arg(QString::fromStdString(profile->name))
                               .arg(profile->hidden)
                               .arg(profile->layers)
                               .arg(QString::fromStdString(info.deviceName.empty() ? predict::toString(info.kind) : info.deviceName))
                               .arg(QDateTime::currentDateTimeUtc().toString(Qt::ISODate))
                               .arg(repeats);
    // The table goes with the profile it measured: live runs of the scenario then run that model, and
    // virtual runs time it from this table.
    QString yaml = QStringLiteral("# Paste under model: in a scenario (or keep beside it).\nprofile: %1\npredict_table:\n  batch: [")
                       .arg(QString::fromStdString(profile->name));
    for (std::size_t i = 0; i < batches.size(); ++i)
        yaml += (i ? QStringLiteral(", ") : QString()) + QString::number(batches[i]);
    yaml += QStringLiteral("]\n  ms: [");
    for (std::size_t i = 0; i < table.size(); ++i)
        yaml += (i ? QStringLiteral(", ") : QString()) + QString::number(table[i], 'g', 6);
    yaml += QStringLiteral("]\n  source: \"%1\"\n").arg(source);
    int status = kOk;
    if (parser.isSet(outOpt)) {
        if (const QString e = writeOutputFile(parser.value(outOpt), yaml.toUtf8()); !e.isEmpty()) {
            err << "knee calibrate: --out: " << e << "\n";
            status = kFailure; // measured but not written: the table still goes to stdout below
        }
    }
    if (parser.isSet(json)) {
        const QJsonObject o{{"profile", QString::fromStdString(profile->name)},
                            {"backend", QString::fromLatin1(predict::toString(info.kind))},
                            {"gpu", choice.gpu},
                            {"notice", QString::fromStdString(choice.notice)},
                            {"device", QString::fromStdString(info.deviceName)},
                            {"parameter_bytes", qint64(model->parameterBytes())},
                            {"cold_start_ms", info.coldStartMs},
                            {"weight_upload_ms", info.weightUploadMs},
                            {"predict_table", QJsonObject{{"batch", batchJson}, {"ms", msJson}, {"source", source}}},
                            {"device_ms", deviceJson}}; // the layers and copies alone, by CUDA events
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        out << yaml;
    }
    return status;
}

} // namespace knee::cli
