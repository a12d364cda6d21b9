// A reader of the Prometheus text exposition format (version 0.0.4; the OpenMetrics text that model
// servers also send parses too: its "# EOF" and extra comments are skipped), for scraping a target's
// /metrics (metrics_scraper.h).
//
// Written here because no Debian-packaged C++ library reads the format: prometheus-cpp (which knee uses
// for its own /metrics) only writes it, and the parsers that exist are Go's (prometheus/common/expfmt)
// and Python's (prometheus_client). The grammar is small: a sample is
//   name[{label="value",...}] value [timestamp]
// with \\, \" and \n escapes in label values, NaN and ±Inf values, and # HELP / # TYPE lines.
//
// Hostile text costs nothing beyond one pass: a line that does not parse is counted and skipped, never
// fatal, and nothing is kept for a sample the caller's filter does not want.
#pragma once
#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <functional>
#include <utility>
#include <vector>

namespace knee::net {

struct PromSample {
    QByteArray name;
    std::vector<std::pair<QByteArray, QByteArray>> labels; // as written, escapes resolved
    double value = 0;
    QByteArray label(QByteArrayView key) const;
};

struct PromText {
    std::vector<PromSample> samples;
    std::vector<std::pair<QByteArray, QByteArray>> types; // # TYPE name type, in order
    int badLines = 0;
    QString firstError; // the first bad line's number and why
};

// `wanted` (optional) sees each sample's name before anything else of the line is read: samples it
// refuses are skipped (and their lines not checked).
PromText parsePrometheusText(QByteArrayView text, const std::function<bool(QByteArrayView name)>& wanted = {});

} // namespace knee::net
