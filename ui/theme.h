// Light or dark palette on request. Qt 6.4 does not follow every desktop's dark setting, so the
// workbench offers its own choice (View ▸ Theme), remembered between launches.
#pragma once
#include <QString>

namespace knee::ui {

enum class Theme { System, Light, Dark };
void applyTheme(Theme theme);
Theme savedTheme();
void saveTheme(Theme theme);

} // namespace knee::ui
