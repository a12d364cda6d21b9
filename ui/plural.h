// "1 level", "3 levels": English plurals without a translation file (Qt's "%n level(s)" stays literal
// unless a .qm file supplies the forms).
#pragma once
#include <QString>

namespace knee::ui {

inline QString counted(long long n, const QString& one, const QString& many)
{
    return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

} // namespace knee::ui
