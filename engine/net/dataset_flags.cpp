#include "dataset_flags.h"

#include "dataset.h"
#include "http_target.h"

#include <QCommandLineParser>

namespace knee::net {

void DatasetFlags::addTo(QCommandLineParser& parser) const
{
    parser.addOption(dataset);
    parser.addOption(synthetic);
}

bool DatasetFlags::anySet(const QCommandLineParser& parser) const { return parser.isSet(dataset) || parser.isSet(synthetic); }

bool DatasetFlags::read(const QCommandLineParser& parser, HttpTarget& target, QString& error) const
{
    if (parser.isSet(dataset) && parser.isSet(synthetic)) {
        error = QStringLiteral("give --dataset or --synthetic-lengths, not both");
        return false;
    }
    if (parser.isSet(dataset)) {
        QString why;
        std::optional<Dataset> d = readJsonlDataset(parser.value(dataset), why);
        if (!d) {
            error = QStringLiteral("--dataset %1: %2").arg(parser.value(dataset), why);
            return false;
        }
        target.dataset = std::make_shared<const Dataset>(std::move(*d));
    } else if (parser.isSet(synthetic)) {
        QString why;
        const std::optional<SyntheticLengths> lengths = parseSyntheticLengths(parser.value(synthetic), why);
        if (!lengths) {
            error = QStringLiteral("--synthetic-lengths: %1").arg(why);
            return false;
        }
        target.dataset = std::make_shared<const Dataset>(syntheticDataset(*lengths));
    }
    return true;
}

} // namespace knee::net
