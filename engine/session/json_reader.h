// Strict reading of saved JSON (sessions, sweep records): every field present with the right type and
// in range, or the whole load fails with the path of the first bad field. Hand-written because Qt's
// JSON classes read any shape and say nothing of what is missing or out of range.
#pragma once
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QString>

#include <cmath>

namespace knee {

class JsonReader {
public:
    QString error;
    bool ok() const { return error.isEmpty(); }

    QJsonObject object(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isObject())
            fail(path + "." + key, "an object");
        return v.toObject();
    }
    QJsonArray array(const QJsonObject& o, const char* key, const QString& path, qsizetype maxItems)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isArray() || v.toArray().size() > maxItems)
            fail(path + "." + key, QStringLiteral("a list of at most %1 items").arg(maxItems));
        return v.toArray();
    }
    double number(const QJsonObject& o, const char* key, const QString& path, double lo, double hi)
    {
        if (!ok())
            return 0;
        const QJsonValue v = o.value(QLatin1String(key));
        const double d = v.toDouble(std::nan(""));
        if (!v.isDouble() || !std::isfinite(d) || d < lo || d > hi)
            fail(path + "." + key, QStringLiteral("a number between %1 and %2").arg(lo).arg(hi));
        return d;
    }
    qint64 integer(const QJsonObject& o, const char* key, const QString& path, double lo, double hi)
    {
        const double d = number(o, key, path, lo, hi);
        if (!ok())
            return 0; // d may be NaN (missing, not a number) or out of range: converting it is undefined
        if (std::floor(d) != d) {
            fail(path + "." + key, "a whole number");
            return 0;
        }
        return qint64(d);
    }
    bool boolean(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return false;
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isBool())
            fail(path + "." + key, "true or false");
        return v.toBool();
    }
    QString text(const QJsonObject& o, const char* key, const QString& path)
    {
        if (!ok())
            return {};
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isString())
            fail(path + "." + key, "text");
        return v.toString();
    }
    void fail(const QString& path, const QString& expected)
    {
        if (ok())
            error = QStringLiteral("%1: expected %2").arg(path, expected);
    }
};

inline constexpr double kMaxSavedCount = 9e15; // integers beyond 2^53 do not survive JSON doubles

} // namespace knee
