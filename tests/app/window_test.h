// What the window's tests share: a start with no settings, session or autosave left by the test before
// (QStandardPaths in test mode keeps them away from the user's own), and a sweep run on the page as F5
// runs it.
#pragma once
#include "ui_wait.h"
#include "ui/main_window.h"
#include "ui/sweep_page.h"

#include <QFile>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>

namespace knee::test {

inline void useScratchSettings() { QStandardPaths::setTestModeEnabled(true); }

inline void forgetEarlierTests()
{
    QSettings().clear();
    QFile::remove(knee::ui::MainWindow::autosavePath());
}

// Runs a sweep of `levels` ("1, 2, 4") on the page; false when it did not finish in time.
inline bool sweep(knee::ui::SweepPage* page, const QString& levels)
{
    page->levels()->setText(levels);
    QSignalSpy done(page, &knee::ui::SweepPage::sweepFinished);
    page->run();
    return done.wait(kEventTimeoutMs);
}

} // namespace knee::test
